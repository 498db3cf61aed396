import { buildTestApp } from '../helpers/app.js';
import { workflows } from '../../workflows/index.js';
import { workflowLabels } from '../../workflows/labels.js';
import { HOLDER_EN, HOLDER_ZH, PRIVATE, XSS, seedRegister } from './seed.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const seed = await seedRegister(ta);
  const { certificates: certs } = seed;

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const r = await ta.req({ method: 'GET', url, headers });
    return r;
  };
  const en = { 'accept-language': 'en-GB,en;q=0.9' };
  const zh = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' };
  /** The numbers a register page lists, per section, in order. */
  const listed = (body: string) => {
    const out: Record<string, string[]> = {};
    for (const m of body.matchAll(/<section class="results"[^>]*data-kind="(\w+)">([\s\S]*?)<\/section>/g)) {
      out[m[1]!] = [...m[2]!.matchAll(/<th scope="row" class="num"[^>]*><a href="[^"]*">([^<]+)<\/a>/g)].map((x) => x[1]!);
    }
    return out;
  };
  const nextLink = (body: string) => /<a rel="next" href="([^"]+)"/.exec(body)?.[1]?.replace(/&amp;/g, '&') ?? null;

  t.test('pages are HTML in the language the reader asks for', async (t) => {
    const r = await get('/register', en);
    t.equal(r.statusCode, 200);
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    t.equal(r.headers['content-language'], 'en');
    t.match(r.headers.vary, /Accept-Language/);
    t.match(r.body, /^<!doctype html>\n<html lang="en">/);
    t.match(r.body, '<h1>Search the public register</h1>');
    t.match(r.body, '<a class="lang-switch" href="/register?lang=zh-Hans" hreflang="zh-Hans" lang="zh-Hans" aria-label="切换到简体中文">中文</a>');

    const z = await get('/register', zh);
    t.match(z.body, /^<!doctype html>\n<html lang="zh-Hans">/);
    t.match(z.body, '<h1>查询公共登记册</h1>');
    t.equal(z.headers['content-language'], 'zh-Hans');
    t.match(z.body, 'href="/register?lang=en" hreflang="en" lang="en" aria-label="Switch to English">English</a>');

    t.match((await get('/register')).body, '<html lang="zh-Hans">', 'without Accept-Language the register speaks Chinese');
    t.match((await get('/register', { 'accept-language': 'fr-FR, en;q=0.5' })).body, '<html lang="en">', 'the first language we have wins');
    t.match((await get('/register', { 'accept-language': 'en;q=0.2, zh-TW;q=0.9' })).body, '<html lang="zh-Hans">', 'quality values decide');
    const asked = await get('/register?lang=en', zh);
    t.match(asked.body, '<html lang="en">', '?lang= overrides Accept-Language');
    t.match(asked.body, 'href="/workflows?lang=en"', 'links keep a language chosen with ?lang=');
    t.match(asked.body, '<input type="hidden" name="lang" value="en">', 'and so does the search form');
    t.match((await get('/register?lang=xx', en)).body, '<html lang="en">', 'an unknown ?lang= falls back to Accept-Language');
  });

  t.test('pages carry no script, load one stylesheet from the app and keep the CSP', async (t) => {
    const urls = ['/register', `/register/certificates/${certs.valid}`, `/register/sandbox/${seed.sandbox}`, `/register/genai-projects/${seed.genai}`, '/workflows', '/register/certificates/GDAIC-1999-000001'];
    for (const url of urls) {
      const r = await get(url, en);
      t.notMatch(r.body, /<script/i, `${url} has no script`);
      t.notMatch(r.body, /<[^>]*\s(style|on[a-z]+)=/i, `${url} has no inline style or handler`);
      t.match(r.headers['content-security-policy'], /script-src 'self'/);
      const css = /<link rel="stylesheet" href="(\/assets\/register\.css\?v=[0-9a-f]{12})">/.exec(r.body);
      t.ok(css, `${url} links the stylesheet`);
      const sheet = await get(css![1]!);
      t.equal(sheet.statusCode, 200);
      t.equal(sheet.headers['content-type'], 'text/css; charset=utf-8');
      t.match(sheet.headers['cache-control'], /immutable/);
      t.ok(sheet.body.length < 16_000, 'the stylesheet is small');
    }
  });

  t.test('names are shown as text, never as markup', async (t) => {
    const page = await get(`/register/certificates/${certs.xss}`, en);
    t.equal(page.statusCode, 200);
    t.match(page.body, '<dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>');
    t.match(page.body, '<dd>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</dd>');
    t.notOk(page.body.includes(XSS));
    t.notOk(page.body.includes('<img'));
    const list = await get(`/register?q=${encodeURIComponent('alert(1)')}`, en);
    t.same(listed(list.body).certificates, [certs.xss]);
    t.notOk(list.body.includes(XSS));
    const echoed = await get(`/register?q=${encodeURIComponent('"><script>alert(3)</script>')}`, en);
    t.equal(echoed.statusCode, 200);
    t.match(echoed.body, 'value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
    t.notOk(echoed.body.includes('<script>alert(3)'));
    const missing = await get(`/register/certificates/${encodeURIComponent(XSS)}`, en);
    t.equal(missing.statusCode, 404);
    t.notOk(missing.body.includes(XSS));
    t.match(missing.body, '&lt;script&gt;');
  });

  t.test('the certificate page says the status in words and colour, with the facts and the public history', async (t) => {
    const valid = await get(`/register/certificates/${certs.valid}`, en);
    t.equal(valid.statusCode, 200);
    t.match(valid.headers['cache-control'], 'no-cache');
    t.match(valid.body, `<h1>Certificate ${certs.valid}</h1>`);
    t.match(valid.body, /<section class="verdict s-valid" aria-label="Status" data-status="valid">\n<span class="word">Valid<\/span>/);
    t.match(valid.body, 'This certificate is valid.');
    for (const fact of [`<dd>${HOLDER_ZH}</dd>`, '<dd>Dexter Arm</dd>', '<dd>4.2</dd>', 'Robot safety (industrial and service robots) <span class="muted">(robot-safety)</span>', '<dd>Shenzhen AI Test Lab</dd>']) {
      t.match(valid.body, fact);
    }
    t.match(valid.body, /<dt>Issued<\/dt><dd><time datetime="[^"]+">\d{4}-\d\d-\d\d<\/time><\/dd><dt>Valid until<\/dt><dd><time datetime="[^"]+">\d{4}-\d\d-\d\d<\/time>/);
    t.match(valid.body, '<td data-label="Event">Certify</td>');

    const zhValid = await get(`/register/certificates/${certs.valid.toLowerCase()}`, zh);
    t.equal(zhValid.statusCode, 200, 'numbers are matched regardless of case');
    t.match(zhValid.body, '<span class="word">有效</span>');
    t.match(zhValid.body, '本证书有效。');
    t.match(zhValid.body, '机器人安全 <span class="muted">(robot-safety)</span>');

    const suspended = await get(`/register/certificates/${certs.suspended}`, en);
    t.match(suspended.body, 'data-status="suspended">\n<span class="word">Suspended</span>');
    t.match(suspended.body, 'not in force while suspended');
    const events = [...suspended.body.matchAll(/<td data-label="Event">([^<]+)<\/td>\n<td data-label="Status"><span class="badge s-(\w+)">[^<]+<\/span><\/td>\n<td data-label="Reason">([^<]+)<\/td>/g)].map((m) => [m[1], m[2], m[3]]);
    t.same(events, [
      ['Certify', 'valid', '—'],
      ['Surveillance', 'suspended', '—'],
      ['Restore', 'valid', 'Housing replaced and re-inspected'],
      ['Suspend', 'suspended', 'Collision with a shopper in a mall'],
    ]);
    t.notMatch(suspended.body, 'Cracked housing', 'surveillance findings are a lab result and stay private');
    t.match((await get(`/register/certificates/${certs.suspended}`, zh)).body, '<span class="word">已暂停</span>');

    const revoked = await get(`/register/certificates/${certs.revoked}`, en);
    t.match(revoked.body, 'data-status="revoked">\n<span class="word">Revoked</span>');
    t.match(revoked.body, 'Labelling removed from generated images');
    t.match((await get(`/register/certificates/${certs.revoked}`, zh)).body, '<span class="word">已撤销</span>');
  });

  t.test('a certificate past its validity reads as expired before the scheduler has fired', async (t) => {
    const ta2 = await buildTestApp(t);
    const s2 = await seedRegister(ta2);
    ta2.clock.advance(4 * 365 * 86_400_000);
    const r = await ta2.req({ method: 'GET', url: `/register/certificates/${s2.certificates.valid}`, headers: en });
    t.match(r.body, 'data-status="expired">\n<span class="word">Expired</span>');
    t.match(r.body, 'This certificate has expired');
    const z = await ta2.req({ method: 'GET', url: `/register/certificates/${s2.certificates.valid}`, headers: zh });
    t.match(z.body, '<span class="word">已过期</span>');
  });

  t.test('an unknown number gets a 404 page in the reader’s language', async (t) => {
    const e = await get('/register/certificates/GDAIC-1999-000001', en);
    t.equal(e.statusCode, 404);
    t.equal(e.headers['content-type'], 'text/html; charset=utf-8');
    t.match(e.body, '<html lang="en">');
    t.match(e.body, '<h1>Not found</h1>');
    t.match(e.body, 'No certificate with the number “GDAIC-1999-000001” has been issued.');
    const z = await get('/register/certificates/GDAIC-1999-000001', zh);
    t.equal(z.statusCode, 404);
    t.match(z.body, '<html lang="zh-Hans">');
    t.match(z.body, '未查到编号为“GDAIC-1999-000001”的证书');
    const sbx = await get(`/register/sandbox/${seed.draftSandbox}`, en);
    t.equal(sbx.statusCode, 404, 'a draft sandbox case is not in the register');
    t.match(sbx.body, `No sandbox participant with the number “${seed.draftSandbox}”`);
    const gai = await get('/register/genai-projects/GAI-1999-000001', zh);
    t.equal(gai.statusCode, 404);
    t.match(gai.body, '联合实验室项目');
    for (const url of ['/register/nothing-here', '/register/certificates', '/workflows/sandbox-cases', '/register/certificates/GDAIC-1999-000001/more']) {
      const r = await get(url, en);
      t.equal(r.statusCode, 404, url);
      t.equal(r.headers['content-type'], 'text/html; charset=utf-8', `${url} answers a page`);
      t.match(r.body, 'There is no page at this address.');
    }
    t.equal((await get('/v1/register/certificates/GDAIC-1999-000001')).headers['content-type'], 'application/problem+json; charset=utf-8', 'the JSON API keeps problem+json');
  });

  t.test('one search box finds certificates, sandbox participants and projects; filters narrow it', async (t) => {
    const all = listed((await get(`/register?q=${encodeURIComponent('灵巧')}`, en)).body);
    t.same(all.certificates, [certs.valid, certs.suspended, certs.revoked], 'the holder’s Chinese name');
    t.same(all.sandbox, [seed.sandbox]);
    t.same(all.genai, [seed.genai]);
    t.same(listed((await get('/register?q=dexterous', en)).body).certificates, [certs.valid, certs.suspended, certs.revoked], 'the holder’s English name');
    t.same(listed((await get('/register?q=quadruped', en)).body), { certificates: [certs.suspended], sandbox: [], genai: [] });
    t.same(listed((await get('/register?q=Cantonese', en)).body).genai, [seed.genai], 'a project title');
    t.same(listed((await get('/register?q=triage', en)).body).sandbox, [seed.sandbox], 'a sandbox product');

    t.same(listed((await get('/register?status=suspended', en)).body), { certificates: [certs.suspended] }, 'a certificate status shows certificates only');
    t.same(listed((await get('/register?scheme=genai-security', en)).body), { certificates: [certs.revoked] });
    t.same(listed((await get('/register?state=testing', en)).body), { sandbox: [seed.sandbox] }, 'a sandbox state shows participants only');
    t.same(listed((await get('/register?state=active', en)).body), { genai: [seed.genai] });
    t.same(listed((await get('/register?state=completed', en)).body), { genai: [] });
    t.same(listed((await get('/register?kind=sandbox', en)).body), { sandbox: [seed.sandbox] });
    t.same(listed((await get(`/register?kind=certificates&q=${encodeURIComponent('灵巧')}&status=revoked`, en)).body), { certificates: [certs.revoked] });
    const form = (await get('/register?kind=certificates&status=revoked&scheme=genai-security', en)).body;
    t.match(form, '<option value="certificates" selected>Certificates</option>');
    t.match(form, '<option value="revoked" selected>Revoked</option>');
    t.match(form, '<option value="genai-security" selected>');
    t.match(form, '<label for="q">', 'the search box is labelled');
    t.same(listed((await get('/register?kind=bogus&status=nope', en)).body), listed((await get('/register', en)).body), 'unknown filter values are ignored');
    t.match((await get('/register?q=nothing-matches-this', en)).body, 'Nothing in this register matches.');
  });

  t.test('a whole number in the search box goes straight to its page', async (t) => {
    const r = await get(`/register?q=${certs.suspended.toLowerCase()}`, en);
    t.equal(r.statusCode, 303);
    t.equal(r.headers.location, `/register/certificates/${certs.suspended}`);
    const withLang = await get(`/register?q=${encodeURIComponent(` ${certs.valid} `)}&lang=en`);
    t.equal(withLang.headers.location, `/register/certificates/${certs.valid}?lang=en`);
    t.equal((await get(`/register?q=${seed.sandbox}`)).headers.location, `/register/sandbox/${seed.sandbox}`);
    t.equal((await get(`/register?q=${seed.genai}`)).headers.location, `/register/genai-projects/${seed.genai}`);
    const draft = await get(`/register?q=${seed.draftSandbox}`, en);
    t.equal(draft.statusCode, 200, 'a number that is not in the register is searched, not followed');
    t.same(listed(draft.body).sandbox, []);
    t.equal((await get('/register?q=GDAIC-1999-000001', en)).statusCode, 200);
  });

  t.test('pages follow the register’s keyset cursors to the end', async (t) => {
    const api = (await ta.req({ method: 'GET', url: '/v1/register/certificates' })).json().items.map((i: any) => i.number);
    t.equal(api.length, 4);
    let url: string | null = '/register?kind=certificates&limit=1&lang=en';
    const seen: string[] = [];
    let pages = 0;
    while (url) {
      const r = await get(url);
      t.equal(r.statusCode, 200);
      seen.push(...listed(r.body).certificates!);
      if (pages > 0) t.match(r.body, '← First page');
      url = nextLink(r.body);
      if (url) t.match(url, /^\/register\?kind=certificates&limit=1&cursor=[A-Za-z0-9_-]+&lang=en$/);
      pages++;
    }
    t.same(seen, api, 'every certificate once, in the API’s order');
    t.equal(pages, 4);
    const sectioned = (await get('/register?limit=2', en)).body;
    t.match(sectioned, /<a href="\/register\?kind=certificates&amp;limit=2&amp;cursor=[A-Za-z0-9_-]+">More certificates →<\/a>/, 'the all-registers page links to more of one register');
    const bad = await get('/register?kind=certificates&cursor=bm90LWEtY3Vyc29y', en);
    t.equal(bad.statusCode, 400);
    t.equal(bad.headers['content-type'], 'text/html; charset=utf-8');
    t.match(bad.body, 'This link is not valid');
    t.equal((await get('/register?kind=sandbox&cursor=%3Cx%3E', zh)).statusCode, 400);
  });

  t.test('sandbox participant and GenAI project pages show their public facts', async (t) => {
    const s = await get(`/register/sandbox/${seed.sandbox}`, en);
    t.equal(s.statusCode, 200);
    t.match(s.body, `<h1>Sandbox participant ${seed.sandbox}</h1>`);
    t.match(s.body, `<dd>${HOLDER_ZH}</dd>`);
    t.match(s.body, '<dd>Triage Assistant</dd>');
    t.match(s.body, '<dt>State</dt><dd>Testing</dd>');
    t.match(s.body, /<dt>Testing period<\/dt><dd><time datetime="[^"]+">[\d-]+<\/time> – <time/);
    t.match((await get(`/register/sandbox/${seed.sandbox}`, zh)).body, '<dt>状态</dt><dd>测试中</dd>');

    const g = await get(`/register/genai-projects/${seed.genai}`, en);
    t.equal(g.statusCode, 200);
    t.match(g.body, '<dd>Red-teaming Cantonese chat models</dd>');
    t.match(g.body, '<dt>State</dt><dd>Active</dd>');
    t.match(g.body, '<li>HK Institute of AI Safety <span class="muted">(Hong Kong)</span></li>');
    t.match(g.body, '<dd>Red teaming, Content safety</dd>');
    t.match(g.body, `<dd>${seed.genaiLab.org.name}</dd>`);
    const gz = (await get(`/register/genai-projects/${seed.genai}`, zh)).body;
    t.match(gz, '<dt>状态</dt><dd>进行中</dd>');
    t.match(gz, '(香港)');
    t.match(gz, '<dd>红队测试、内容安全</dd>');
  });

  t.test('no page shows applications, results, reports, contacts or ids', async (t) => {
    const urls = [
      '/register',
      `/register?q=${encodeURIComponent(HOLDER_EN)}`,
      ...Object.values(certs).map((n) => `/register/certificates/${n}`),
      `/register/sandbox/${seed.sandbox}`,
      `/register/genai-projects/${seed.genai}`,
    ];
    const secrets = [...PRIVATE, seed.c.regulator.id, seed.c.applicant.id, seed.holder.id, seed.dogCaseId, seed.armCaseId, seed.lab.org.id, seed.genaiLab.org.id, seed.genaiLab.principal.id];
    for (const url of urls) {
      for (const headers of [en, zh]) {
        const body = (await get(url, headers)).body;
        for (const secret of secrets) t.notOk(body.includes(secret), `${url} (${headers['accept-language']}) does not show ${secret}`);
      }
    }
  });

  t.test('the workflows page draws every machine and lists its transitions with roles, in both languages', async (t) => {
    for (const [headers, lang] of [[en, 'en'], [zh, 'zh-Hans']] as const) {
      const r = await get('/workflows', headers);
      t.equal(r.statusCode, 200);
      t.match(r.body, `<html lang="${lang}">`);
      for (const wf of workflows) {
        const labels = workflowLabels[wf.kind]!;
        const section = new RegExp(`<section aria-labelledby="wf-${wf.kind}"[\\s\\S]*?</section>`).exec(r.body)?.[0] ?? '';
        t.match(section, `<h2 id="wf-${wf.kind}">${labels.title[lang]}</h2>`);
        const svg = /<svg[\s\S]*?<\/svg>/.exec(section)?.[0] ?? '';
        t.match(svg, /role="img" aria-label="[^"]+"/);
        for (const state of Object.keys(wf.machine.root.states)) {
          t.match(svg, `<text x="`, `${wf.kind}: the diagram has text`);
          t.ok(svg.includes(`>${labels.states[state]![lang]}</text>`), `${wf.kind}: the diagram shows ${state} in ${lang}`);
          t.ok(section.includes(`id="${wf.kind}-${state}"`), `${wf.kind}: the table has a row group for ${state}`);
        }
        t.match(section, /<th scope="col">/);
        t.match(section, '<summary>');
        t.match(section, 'stateDiagram-v2\n    [*] --&gt; draft', 'the Mermaid source, escaped');
      }
      t.match(r.body, lang === 'en' ? 'Regulator' : '监管部门');
    }
    const sandbox = (await get('/workflows', en)).body;
    t.match(sandbox, /Admit <code>ADMIT<\/code> <span class="muted">\(only if a rule allows\)<\/span><\/td>\n<td data-label="Who" class="roles">Regulator<\/td>\n<td data-label="Leads to"><span class="arrow" aria-hidden="true">→ <\/span><a href="#sandbox-cases-admitted">Admitted<\/a>/);
  });
});
