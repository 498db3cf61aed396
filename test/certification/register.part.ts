import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { SYSTEM_CALLER } from '../../src/engine/caller.js';
import { fireEvent } from '../../src/cases/fire.js';
import { certificationWorkflow } from '../../workflows/certification.js';
import { searchLimits, trigramIndexable } from '../../src/register/certificates.js';
import { DAY, PUBLIC_CERTIFICATE_KEYS, certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety', 'genai-security'], new Date(ta.clock.now().getTime() + 5 * 365 * DAY).toISOString(), 'Shenzhen AI Test Lab');
  const holder = await c.org({ name: '深圳灵巧机器人有限公司', name_en: 'Shenzhen Dexterous Robotics Co., Ltd.' });
  const holderToken = (await c.principal('applicant', holder.id)).token as string;

  const arm = await c.robot(holderToken, { name: 'Dexter Arm', version: '4.2' });
  const dog = await c.robot(holderToken, { name: 'Patrol Quadruped', version: '1.0' });
  const tutor = await c.genai(c.applicant.token, { name: 'Homework Tutor', version: '2.0' });
  const chat = await c.genai(c.applicant.token, { name: 'Civic Chat', version: '5.1' });

  const certArm = (await c.certify({ product: arm, scheme: 'robot-safety', lab, applicantToken: holderToken })).record.certificate;
  const dogCase = await c.certify({ product: dog, scheme: 'robot-safety', lab, applicantToken: holderToken });
  const certDog = dogCase.record.certificate;
  c.ok(await c.fire(c.regulator.token, dogCase.id, 'SUSPEND', { reason: 'Collision in a mall' }));
  const tutorCase = await c.certify({ product: tutor, scheme: 'genai-security', lab });
  const certTutor = tutorCase.record.certificate;
  c.ok(await c.fire(c.regulator.token, tutorCase.id, 'REVOKE', { reason: 'Labelling removed from generated images' }));
  const chatCase = await c.certify({ product: chat, scheme: 'genai-security', lab });
  const certChat = chatCase.record.certificate;
  // A case that never reached a certificate is not in the register.
  const pending = await c.toResultsPosted({ product: await c.robot(), scheme: 'robot-safety', lab });

  const register = async (query: string) => {
    const r = await ta.req({ method: 'GET', url: `/v1/register/certificates${query}` });
    if (r.statusCode !== 200) throw new Error(r.body);
    return r.json() as { items: any[]; next_cursor: string | null };
  };
  const numbers = async (query: string) => (await register(query)).items.map((i) => i.number);

  t.test('the register lists every certificate, in the order issued, with only public fields', async (t) => {
    const page = await register('');
    t.same(page.items.map((i) => i.number), [certArm.number, certDog.number, certTutor.number, certChat.number]);
    t.equal(page.next_cursor, null);
    for (const item of page.items) t.same(Object.keys(item).sort(), PUBLIC_CERTIFICATE_KEYS);
    t.same(Object.keys(page.items[0].holder), ['name']);
    t.same(Object.keys(page.items[0].product).sort(), ['name', 'version']);
    t.same(Object.keys(page.items[0].lab), ['name']);
    t.same(page.items[0], {
      number: certArm.number,
      status: 'valid',
      holder: { name: '深圳灵巧机器人有限公司' },
      product: { name: 'Dexter Arm', version: '4.2' },
      scheme: 'robot-safety',
      lab: { name: 'Shenzhen AI Test Lab' },
      issued_at: certArm.issued_at,
      valid_until: certArm.valid_until,
    });
    const body = JSON.stringify(page);
    for (const secret of ['results', 'summary', 'report_sha256', 'notes', 'contact', 'email', 'reason', 'application', 'declared_scope', 'Collision', pending]) {
      t.notOk(body.includes(secret), `the register never shows ${secret}`);
    }
  });

  t.test('verification by number shows each status', async (t) => {
    const verify = (n: string) => ta.req({ method: 'GET', url: `/v1/register/certificates/${n}` });
    t.equal((await verify(certArm.number)).json().status, 'valid');
    t.equal((await verify(certDog.number)).json().status, 'suspended');
    t.equal((await verify(certTutor.number)).json().status, 'revoked');
    t.equal((await verify(certChat.number.toLowerCase())).json().number, certChat.number, 'numbers are matched regardless of case');
    const detail = await verify(certDog.number);
    t.same(Object.keys(detail.json()).sort(), PUBLIC_CERTIFICATE_KEYS);
    t.notOk(detail.body.includes('Collision'), 'the reason for a suspension is not public');
    const unknown = await verify('GDAIC-1999-000001');
    t.equal(unknown.statusCode, 404);
    t.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(unknown.json(), { status: 404, code: 'not_found' });
    t.equal((await verify(encodeURIComponent("GDAIC' or 1=1 --"))).statusCode, 404);
  });

  t.test('q searches holder names (Chinese and English), product names and numbers', async (t) => {
    t.same(await numbers(`?q=${encodeURIComponent('灵巧机器人')}`), [certArm.number, certDog.number]);
    t.same(await numbers('?q=dexterous'), [certArm.number, certDog.number]);
    t.same(await numbers('?q=QUADRUPED'), [certDog.number]);
    t.same(await numbers(`?q=${certTutor.number.toLowerCase()}`), [certTutor.number]);
    t.same(await numbers(`?q=${certChat.number.slice(-6)}`), [certChat.number]);
    t.same(await numbers(`?q=${encodeURIComponent(c.applicantOrg.name)}`), [certTutor.number, certChat.number]);
    t.same(await numbers('?q=%25'), [], 'LIKE wildcards are taken literally');
    t.same(await numbers('?q=_'), []);
    t.same(await numbers('?q=Shenzhen%20AI%20Test'), [], 'the lab name is not a search field');
  });

  t.test('q matches each field on its own, case-insensitively, whatever its length', async (t) => {
    const all = [certArm.number, certDog.number, certTutor.number, certChat.number];
    t.same(await numbers(`?q=${encodeURIComponent('深圳灵巧机器人有限公司')}`), [certArm.number, certDog.number], 'a whole Chinese name');
    t.same(await numbers(`?q=${encodeURIComponent('Shenzhen Dexterous Robotics Co., Ltd.')}`), [certArm.number, certDog.number], 'a whole English name');
    t.same(await numbers(`?q=${encodeURIComponent('SHENZHEN dexterous ROBOTICS')}`), [certArm.number, certDog.number]);
    t.same(await numbers(`?q=${encodeURIComponent('灵巧')}`), [certArm.number, certDog.number], 'two characters, too short for a trigram');
    t.same(await numbers(`?q=${encodeURIComponent('巧')}`), [certArm.number, certDog.number], 'one character');
    t.same(await numbers('?q=dOg'), [], 'no such name');
    t.same(await numbers('?q=Er%20a'), [certArm.number], 'across a space inside one name ("Dexter Arm")');
    t.same(await numbers('?q=civic%20chat'), [certChat.number]);
    // The fields used to be searched as one string "number holder holder_en product": a match
    // across two of them was an accident of that, not a match.
    t.same(await numbers('?q=ltd.%20dexter'), [], 'not across the English holder name and the product name');
    t.same(await numbers(`?q=${encodeURIComponent(`${certArm.number.slice(-3)} 深圳`)}`), [], 'not across the number and the holder name');
    t.same(await numbers(`?q=${encodeURIComponent('有限公司 Shenzhen')}`), [], 'not across the Chinese and the English holder names');
    t.same(await numbers(`?q=${certArm.number.slice(0, 12)}`), all, 'a number prefix');
    t.same(await numbers(`?q=${certArm.number.slice(0, 8).toLowerCase()}`), all, 'a number prefix, lower case');
    t.same(await numbers('?q=aic-2'), all, 'a fragment from inside the number');
    t.same(await numbers(`?q=${certDog.number.slice(5)}`), [certDog.number], 'the number without its prefix');
    t.same(await numbers(`?q=${certDog.number.slice(-4)}`), [certDog.number]);
    t.same(await numbers(`?q=${certDog.number}x`), [], 'more than a number');
  });

  t.test('q with scheme, status and the cursor', async (t) => {
    t.same(await numbers(`?q=${encodeURIComponent('灵巧')}&status=suspended`), [certDog.number]);
    t.same(await numbers('?q=dexter&status=valid'), [certArm.number]);
    t.same(await numbers('?q=dexter&scheme=genai-security'), []);
    t.same(await numbers(`?q=${certTutor.number.slice(0, 10)}&scheme=genai-security&status=revoked`), [certTutor.number]);
    for (const q of ['dexterous', encodeURIComponent('灵巧'), 'GDAIC']) {
      const first = await register(`?q=${q}&limit=1`);
      t.same(first.items.map((i) => i.number), [certArm.number], `first page of ${q}`);
      t.ok(first.next_cursor);
      const second = await register(`?q=${q}&limit=1&cursor=${first.next_cursor}`);
      t.same(second.items.map((i) => i.number), [certDog.number], `second page of ${q}`);
    }
  });

  t.test('filters: scheme and status, combined with q', async (t) => {
    t.same(await numbers('?scheme=genai-security'), [certTutor.number, certChat.number]);
    t.same(await numbers('?status=valid'), [certArm.number, certChat.number]);
    t.same(await numbers('?status=suspended'), [certDog.number]);
    t.same(await numbers('?status=revoked'), [certTutor.number]);
    t.same(await numbers('?status=expired'), []);
    t.same(await numbers('?scheme=robot-safety&status=valid&q=arm'), [certArm.number]);
    t.same(await numbers('?scheme=ai-ethics'), []);
    const bad = await ta.req({ method: 'GET', url: '/v1/register/certificates?status=lapsed' });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'validation_failed');
    const extra = await ta.req({ method: 'GET', url: '/v1/register/certificates?holder_id=x' });
    t.equal(extra.statusCode, 400);
  });

  t.test('keyset pages walk the register without gaps or repeats', async (t) => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page = await register(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((i) => i.number));
      cursor = page.next_cursor;
      pages++;
    }
    t.same(seen, [certArm.number, certDog.number, certTutor.number, certChat.number]);
    t.equal(pages, 4);
    const filtered = await register('?limit=1&scheme=robot-safety');
    t.same((await register(`?limit=1&scheme=robot-safety&cursor=${filtered.next_cursor}`)).items.map((i) => i.number), [certDog.number]);
    const bad = await ta.req({ method: 'GET', url: '/v1/register/certificates?cursor=bm90LWEtY3Vyc29y' });
    t.equal(bad.statusCode, 400);
    t.match(bad.json().errors, [{ path: 'query/cursor' }]);
  });

  t.test('a certificate past valid_until reads expired at once, and stays expired once EXPIRE fires', async (t) => {
    ta.clock.set(new Date(Date.parse(certChat.valid_until) + 1));
    t.same(await numbers('?status=expired'), [certChat.number], 'genai-security certificates last 24 months');
    t.same(await numbers('?status=valid'), [certArm.number], 'robot-safety ones 36');
    t.equal((await ta.req({ method: 'GET', url: `/v1/register/certificates/${certChat.number}` })).json().status, 'expired');
    const fired = await fireEvent(ta.app.engine, certificationWorkflow, SYSTEM_CALLER, chatCase.id, { type: 'EXPIRE', payload: { deadline: 'valid_until', due_at: certChat.valid_until } });
    t.equal(fired.case.state, 'expired');
    t.same(await numbers('?status=expired'), [certChat.number]);

    ta.clock.set(new Date(Date.parse(certArm.valid_until) + 1));
    t.same(await numbers('?status=expired'), [certArm.number, certDog.number, certChat.number], 'the valid and the suspended ones lapsed');
    t.same(await numbers('?status=valid'), []);
    t.same(await numbers('?status=suspended'), []);
    t.same(await numbers('?status=revoked'), [certTutor.number], 'revoked stays revoked');
  });

  t.test('the register follows renames of holders, products and labs', async (t) => {
    // No route renames yet; the projection's triggers must still keep up when one does.
    await ta.database.db.updateTable('organizations').set({ name: '深圳灵巧智能科技有限公司' }).where('id', '=', holder.id).execute();
    await ta.database.db.updateTable('products').set({ name: 'Dexter Arm Pro', version: '4.3' }).where('id', '=', arm.id).execute();
    await ta.database.db.updateTable('organizations').set({ name: 'Shenzhen AI Test Lab (CNAS)' }).where('id', '=', lab.org.id).execute();
    const r = (await ta.req({ method: 'GET', url: `/v1/register/certificates/${certArm.number}` })).json();
    t.match(r, { holder: { name: '深圳灵巧智能科技有限公司' }, product: { name: 'Dexter Arm Pro', version: '4.3' }, lab: { name: 'Shenzhen AI Test Lab (CNAS)' } });
    t.same(await numbers(`?q=${encodeURIComponent('灵巧智能')}`), [certArm.number, certDog.number]);
    t.same(await numbers('?q=arm%20pro'), [certArm.number]);
  });

  t.test('the register needs no token, and the audit verifies every case and register row', async (t) => {
    const withToken = await ta.req({ method: 'GET', url: '/v1/register/certificates', token: c.applicant.token });
    t.equal(withToken.statusCode, 200);
    const v = (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token })).json();
    // The renames above were made behind the registry (no route renames yet, so no event records
    // them): verify names exactly those rows; the register rows that copied the names are sound.
    const key = (s: { kind: string; id: string }) => `${s.kind} ${s.id}`;
    t.same(v.failures.map((f: { subject?: { kind: string; id: string } }) => f.subject && key(f.subject)).sort(), [`organization ${holder.id}`, `organization ${lab.org.id}`, `product ${arm.id}`].sort(), JSON.stringify(v.failures));
  });

  // With many certificates: every way a search can go (through the names' indexes, walking the
  // register in order, both with thresholds low enough for a few certificates to cross them), against
  // a plain reading of the projection. Last in this file: these cases have no audit chains.
  t.test('searches over many certificates agree with reading every certificate, page by page', async (t) => {
    const db = ta.database.db;
    const cities = [['广州', 'Guangzhou'], ['深圳', 'Shenzhen'], ['珠海', 'Zhuhai']];
    const kinds = ['Arm', 'Dog', 'Eye', 'Hand'];
    const holders: string[] = [];
    for (let i = 0; i < 30; i++) {
      const [zh, en] = cities[i % 3]!;
      const row = await sql<{ id: string }>`
      insert into organizations (name, name_en, kind, region, contact_email)
      values (${`星河${zh}科技有限公司${i}`}, ${`Galaxy ${en} Tech ${i}`}, 'enterprise', 'guangdong', ${`g${i}@example.cn`}) returning id`.execute(db);
      holders.push(row.rows[0]!.id);
    }
    const products: string[] = [];
    for (let i = 0; i < 60; i++) {
      const row = await sql<{ id: string }>`
      insert into products (organization_id, name, version, kind, risk_level, body)
      values (${holders[i % 30]}, ${`Nova ${kinds[i % 4]} ${i}${i % 10 === 0 ? ' 100%_off' : ''}`}, '1.0', 'robot', 'medium', '{}') returning id`.execute(db);
      products.push(row.rows[0]!.id);
    }
    // 150 certified cases, written out of their order of issue, each with its register row as the
    // engine writes it (the status its state means, the names copied from the registry).
    const N = 150;
    const order = Array.from({ length: N }, (_, g) => (g * 67) % N);
    for (const g of order) {
      const issued = new Date(Date.UTC(2031, 0, 1) + g * 3_600_000 - (g % 5 === 0 ? 1_800_000 : 0));
      const number = `GDAIC-2031-${String(1000 + ((g * 37) % N)).padStart(6, '0')}`;
      const state = g % 7 === 0 ? 'revoked' : 'certified';
      await sql`
      with c as (
        insert into cases (kind, number, state, version, organization_id, product_id, application, record, audit_seq, audit_hash, created_at, updated_at)
        values ('certification-cases', ${`CERT-2031-${String(g).padStart(6, '0')}`}, ${state}, 7, ${holders[g % 30]}, ${products[g % 60]},
                ${JSON.stringify({ scheme: g % 2 ? 'robot-safety' : 'genai-security' })},
                ${JSON.stringify({ certificate: { number, issued_at: issued.toISOString(), valid_until: new Date(Date.UTC(2045, 0, 1) + g * 60_000).toISOString() } })},
                7, ${'0'.repeat(64)}, ${issued}, ${issued})
        returning id, state, organization_id, product_id, application, record
      )
      insert into certificates (number, case_id, state, status, scheme, holder_id, holder_name, holder_name_en, product_id, product_name, product_version, issued_at, valid_until)
      select c.record -> 'certificate' ->> 'number', c.id, c.state, ${certificationWorkflow.certificateStatus[state]!}, c.application ->> 'scheme', o.id, o.name, o.name_en,
             p.id, p.name, p.version, (c.record -> 'certificate' ->> 'issued_at')::timestamptz, (c.record -> 'certificate' ->> 'valid_until')::timestamptz
        from c join organizations o on o.id = c.organization_id join products p on p.id = c.product_id`.execute(db);
    }
    await db.updateTable('products').set({ name: 'Renamed Widget 7' }).where('id', '=', products[7]!).execute();
    await db.updateTable('organizations').set({ name_en: 'Galaxy Renamed Holder 11' }).where('id', '=', holders[11]!).execute();

    type Cert = { number: string; holder_name: string; holder_name_en: string | null; product_name: string; issued_at: Date; status: string; scheme: string; valid_until: Date };
    const every = (await db.selectFrom('certificates').select(['number', 'holder_name', 'holder_name_en', 'product_name', 'issued_at', 'status', 'scheme', 'valid_until']).execute()) as Cert[];
    t.equal(every.filter((c) => c.number.startsWith('GDAIC-2031-')).length, N);
    const now = ta.clock.now();
    const statusOf = (c: Cert) => (['valid', 'suspended'].includes(c.status) && new Date(c.valid_until) <= now ? 'expired' : c.status);
    const expected = (q: string, filters: { status?: string; scheme?: string }) => {
      const lq = q.toLowerCase();
      return every
        .filter((c) => [c.number, c.holder_name, c.holder_name_en ?? '', c.product_name].some((f) => f.toLowerCase().includes(lq)))
        .filter((c) => (!filters.status || statusOf(c) === filters.status) && (!filters.scheme || c.scheme === filters.scheme))
        .sort((a, b) => +new Date(a.issued_at) - +new Date(b.issued_at) || (a.number < b.number ? -1 : a.number > b.number ? 1 : 0))
        .map((c) => c.number);
    };
    const walk = async (q: string, filters: { status?: string; scheme?: string }, limit: number) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const extra = `${filters.status ? `&status=${filters.status}` : ''}${filters.scheme ? `&scheme=${filters.scheme}` : ''}`;
        const page = await register(`?q=${encodeURIComponent(q)}&limit=${limit}${extra}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.items.map((i) => i.number));
        cursor = page.next_cursor;
        t.ok(page.items.length <= limit);
      } while (cursor !== null && seen.length <= N + 10);
      return seen;
    };

    const queries = [
      'galaxy', 'GALAXY SHENZHEN', 'shenzhen tech 1', '深圳', '圳', '星河', '科技有限公司2', 'nova arm', 'ARM 1', 'Hand', 'renamed', 'widget', 'Nova Dog 6',
      '100%_off', '%_', 'GDAIC-2031-0010', 'gdaic-2031', '2031-00', '001010', '10', '-', 'tech 1 nova', 'Galaxy Zhuhai Tech 2 Nova', 'zz', 'no such thing',
    ];
    const filterSets = [{}, { status: 'revoked' }, { scheme: 'robot-safety', status: 'valid' }];
    const defaults = { ...searchLimits };
    t.teardown(() => void Object.assign(searchLimits, defaults));
    for (const limits of [defaults, { maxNames: 2, probeRows: 10 }, { maxNames: 0, probeRows: 1 }]) {
      Object.assign(searchLimits, limits);
      for (const q of queries) {
        for (const f of filterSets) {
          const want = expected(q, f);
          t.same(await walk(q, f, 7), want, `${JSON.stringify(q)} ${JSON.stringify(f)} with ${JSON.stringify(limits)}: ${want.length} certificates`);
        }
      }
    }
    t.ok(expected('renamed', {}).length > 0 && expected('widget', {}).length > 0, 'renamed holders and products are found by their new names');
    t.same(expected('Renamed Holder', {}).length, 5, 'holder 11 holds 5 of them');
  });

  t.test('trigramIndexable: whether a trigram index can find the pattern', async (t) => {
    for (const [q, ok] of [['深圳', false], ['东莞机器人', true], ['ab', false], ['abc', true], ['ab c', true], ['a b', false], ['ab-', true], ['-ab', true], ['-a', false], ['%', false], ['GDAIC-2025-0123', true]] as const) {
      t.equal(trigramIndexable(q), ok, q);
    }
  });
});
