import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import QRCode from 'qrcode';
import { PNG } from 'pngjs';
import { buildTestApp, testDatabaseUrl } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { decodeJws } from '../credentials/verifier.js';
import { qrPayloadOf } from '../../src/credentials/qr-payload.js';
import { QrImageError, QrImageReader } from '../../src/credentials/qr-image.js';
import { verifyCredentialOffline } from '../../src/credentials/verify-offline.js';
import { parseMultipart } from '../../src/pages/multipart.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC §8: the register's page verifies a pasted or scanned credential and says what the offline
  // verifier says. Each verdict here is compared with verifyCredentialOffline (what `npm run cli --
  // verify-credential` runs) given the JWKS and status lists fetched over HTTP, as files would be.
  const require = createRequire(import.meta.url);
  const PUBLIC = 'https://registry.example.gov.cn';
  const ta = await buildTestApp(t, { env: { PUBLIC_URL: PUBLIC } });
  const cast = await certificationCast(ta);
  const lab = await cast.lab();
  const certificate = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
  const number: string = certificate.record.certificate.number;
  const get = async (url: string) => {
    const r = await ta.req({ method: 'GET', url });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.body;
  };
  const jwt = await get(`/v1/register/certificates/${number}/credential`);
  const { payload } = decodeJws(jwt);

  const en = { 'accept-language': 'en' };
  const zh = { 'accept-language': 'zh-CN' };
  const BOUNDARY = '----verify-form-7MA4YWxkTrZu0gW';
  /** A body as a browser sends the page's form: the text field, then the file input (empty when no file is chosen). */
  function multipart(fields: { credential?: string; image?: { data: Buffer; filename?: string; type?: string } }) {
    const head = (disposition: string, type?: string) =>
      `--${BOUNDARY}\r\nContent-Disposition: form-data; ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`;
    const image = fields.image ?? { data: Buffer.alloc(0), filename: '', type: 'application/octet-stream' };
    return Buffer.concat([
      Buffer.from(`${head('name="credential"')}${fields.credential ?? ''}\r\n`),
      Buffer.from(head(`name="qr_image"; filename="${image.filename ?? 'qr.png'}"`, image.type ?? 'image/png')),
      image.data,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
  }
  const post = (body: Buffer | string, headers: Record<string, string> = en, url = '/register/verify') =>
    ta.req({
      method: 'POST',
      url,
      headers: {
        ...headers,
        'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : `multipart/form-data; boundary=${BOUNDARY}`,
      },
      payload: body,
    });
  const paste = (credential: string, headers: Record<string, string> = en) => post(new URLSearchParams({ credential }).toString(), headers);
  const upload = (data: Buffer, headers: Record<string, string> = en, filename = 'qr.png', type = 'image/png') =>
    post(multipart({ image: { data, filename, type } }), headers);

  const outcomeOf = (body: string) => /data-outcome="([a-z_]+)"/.exec(body)?.[1];
  const wordOf = (body: string) => /<span class="word" id="verdict-word">([^<]+)<\/span>/.exec(body)?.[1];
  const messageOf = (body: string) =>
    /<samp lang="en" class="verifier-message">([^<]*)<\/samp>/
      .exec(body)?.[1]
      ?.replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  /** What the CLI says of the credential given the files the API serves now. */
  async function cliSays(credential: string) {
    const statusLists = [await get('/v1/status-lists/revocation/0'), await get('/v1/status-lists/suspension/0')];
    return verifyCredentialOffline({
      credential,
      jwks: await get('/.well-known/jwks.json'),
      statusLists,
      issuer: ta.config.issuerUrl,
      now: ta.clock.now(),
    });
  }
  async function expectVerdict(t: Test, r: Awaited<ReturnType<typeof paste>>, credential: string, outcome: string) {
    t.equal(r.statusCode, 200, `a verdict (${outcome}) is a 200 page`);
    t.equal(outcomeOf(r.body), outcome);
    const cli = await cliSays(credential);
    t.equal(cli.outcome, outcome, 'the CLI judges the same');
    t.equal(messageOf(r.body), cli.message, 'and the page shows the CLI’s words');
  }

  t.test(
    'the page has a form that works without script, in both languages, linked from the navigation and the certificate page',
    async (t) => {
      const r = await ta.req({ method: 'GET', url: '/register/verify', headers: en });
      t.equal(r.statusCode, 200);
      t.match(r.body, '<h1>Verify a certificate’s credential</h1>');
      t.match(r.body, /<form class="panel verify-form" method="post" action="\/register\/verify" enctype="multipart\/form-data">/);
      t.match(r.body, '<textarea id="credential" name="credential"');
      t.match(r.body, '<input type="file" id="qr_image" name="qr_image" accept="image/png"');
      t.match(r.body, 'JPEG photos cannot be read yet', 'the page says that only PNG is read');
      t.match(r.body, '<a href="/register/verify" aria-current="page">Verify a certificate</a>');
      t.notMatch(r.body, /<script/i);
      t.match(r.headers['content-security-policy'], /script-src 'self'/);
      const z = await ta.req({ method: 'GET', url: '/register/verify?lang=zh-Hans' });
      t.match(z.body, '<h1>核验证书的电子凭证</h1>');
      t.match(z.body, 'action="/register/verify?lang=zh-Hans"', 'the chosen language travels with the form');
      const certificatePage = await get(`/register/certificates/${number}?lang=en`);
      t.match(
        certificatePage,
        /<details class="panel verify-box">\s*<summary>Verify a printed certificate’s QR code or its credential<\/summary>/,
        'the certificate page carries the form, folded',
      );
      t.match(certificatePage, '<form class="verify-form" method="post" action="/register/verify?lang=en" enctype="multipart/form-data">');
      t.match(await get('/register?lang=en'), '<a href="/register/verify?lang=en">Verify a certificate</a>');
    },
  );

  t.test('a pasted valid credential is valid, in both languages, with what it states and a link to the register', async (t) => {
    const r = await paste(jwt);
    await expectVerdict(t, r, jwt, 'valid');
    t.equal(wordOf(r.body), 'Valid');
    t.match(r.body, 'The credential is genuine and the certificate is valid.');
    t.match(r.body, `<a href="/register/certificates/${number}">Certificate ${number} in the register</a>`);
    t.match(r.body, `<dd>${payload.credentialSubject.holder.name}</dd>`);
    t.match(r.body, `<dd>${payload.credentialSubject.product.name} ${payload.credentialSubject.product.version}</dd>`);
    t.match(r.body, `(${payload.credentialSubject.scheme.code})`);
    t.match(r.body, `<title>Valid · Verify a certificate’s credential`);
    const z = await paste(jwt, zh);
    t.equal(outcomeOf(z.body), 'valid');
    t.equal(wordOf(z.body), '有效');
    t.match(z.body, '凭证真实，证书有效。');
    const m = await post(multipart({ credential: jwt }));
    t.equal(outcomeOf(m.body), 'valid', 'the browser’s multipart form with no file chosen judges the pasted text');
  });

  t.test('the QR code’s text pasted (the address a phone opens) verifies, and an address elsewhere is pointed out', async (t) => {
    const ours = await paste(qrPayloadOf(PUBLIC, number, jwt));
    t.equal(outcomeOf(ours.body), 'valid');
    t.match(ours.body, `<code class="qr-url">${PUBLIC}/register/certificates/${number}</code>`);
    t.notMatch(ours.body, 'class="warning"');
    const elsewhere = await paste(qrPayloadOf('https://registry.example.com.evil.test', number, jwt));
    t.equal(outcomeOf(elsewhere.body), 'valid', 'the credential is what is judged');
    t.match(elsewhere.body, /<p class="warning">This is not this register’s page for the certificate/);
  });

  t.test('a PNG of the QR code, uploaded, verifies like the pasted credential', async (t) => {
    const png = await QRCode.toBuffer(qrPayloadOf(PUBLIC, number, jwt), { errorCorrectionLevel: 'M', scale: 3, margin: 4 });
    const r = await upload(png);
    await expectVerdict(t, r, jwt, 'valid');
    t.match(r.body, 'Read from the uploaded image');
  });

  t.test('the same credential, pasted after SUSPEND, RESTORE and REVOKE, says what the status lists say', async (t) => {
    const other = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
    const otherJwt = await get(`/v1/register/certificates/${other.record.certificate.number}/credential`);
    cast.ok(await cast.fire(cast.regulator.token, other.id, 'SUSPEND', { reason: 'market surveillance pending' }));
    const suspended = await paste(otherJwt);
    await expectVerdict(t, suspended, otherJwt, 'suspended');
    t.equal(wordOf(suspended.body), 'Suspended');
    t.equal(wordOf((await paste(otherJwt, zh)).body), '已暂停');
    t.equal(outcomeOf((await paste(jwt)).body), 'valid', 'another certificate’s bit is not this one’s');

    cast.ok(await cast.fire(cast.regulator.token, other.id, 'RESTORE'));
    t.equal(outcomeOf((await paste(otherJwt)).body), 'valid', 'restored: valid again');

    cast.ok(await cast.fire(cast.regulator.token, other.id, 'REVOKE', { reason: 'fraudulent test report' }));
    const revoked = await paste(otherJwt);
    await expectVerdict(t, revoked, otherJwt, 'revoked');
    t.equal(wordOf(revoked.body), 'Revoked');
    t.equal(wordOf((await paste(otherJwt, zh)).body), '已撤销');
  });

  t.test('a credential past its validUntil, by the service’s clock, is expired', async (t) => {
    const now = ta.clock.ms;
    ta.clock.set(new Date(Date.parse(payload.validUntil) + 1000));
    t.teardown(() => ta.clock.set(new Date(now)));
    const r = await paste(jwt);
    await expectVerdict(t, r, jwt, 'expired');
    t.equal(wordOf((await paste(jwt, zh)).body), '已过期');
  });

  t.test('a tampered credential has a bad signature; it is not believed, only its claimed number linked', async (t) => {
    const [h, , s] = jwt.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, validUntil: '2099-12-31T00:00:00.000Z' })).toString('base64url')}.${s}`;
    const r = await paste(tampered);
    await expectVerdict(t, r, tampered, 'bad_signature');
    t.equal(wordOf(r.body), 'Bad signature');
    t.match(r.body, 'class="verdict s-rejected"');
    t.notMatch(r.body, 'What the credential states', 'nothing it states is shown as fact');
    t.match(r.body, `The credential names certificate ${number}.`);
    t.match(r.body, `<a href="/register/certificates/${number}">`);
    t.equal(wordOf((await paste(tampered, zh)).body), '签名无效');
  });

  t.test('garbage is malformed: a verdict page, not an error', async (t) => {
    const r = await paste('<script>alert(1)</script> not a credential');
    await expectVerdict(t, r, '<script>alert(1)</script> not a credential', 'malformed');
    t.equal(wordOf(r.body), 'Malformed');
    t.notMatch(r.body, '<script>alert', 'the input is never echoed as markup');
    t.equal(wordOf((await paste('hello', zh)).body), '格式错误');
  });

  t.test('a form without a credential or an image is refused naming the field, GOV.UK style', async (t) => {
    const r = await post(multipart({ credential: '   ' }));
    t.equal(r.statusCode, 400);
    t.match(r.body, '<title>Error: Verify a certificate’s credential');
    t.match(
      r.body,
      /<div class="error-summary" role="alert"[^>]*>\s*<h2 id="error-summary-title">There is a problem<\/h2>\s*<ul><li><a href="#credential">Paste a credential or choose a PNG image of its QR code<\/a>/,
    );
    t.match(r.body, '<p class="field-error" id="credential-error">');
    t.match(r.body, 'aria-describedby="credential-hint credential-error" aria-invalid="true"');
    const z = await paste('', zh);
    t.equal(z.statusCode, 400);
    t.match(z.body, '请粘贴凭证，或选择一张二维码的 PNG 图片');
    const both = await post(multipart({ credential: jwt, image: { data: await QRCode.toBuffer('x') } }));
    t.equal(both.statusCode, 400);
    t.match(both.body, 'Paste a credential or choose an image, not both');
    t.match(both.body, `>${jwt}</textarea>`, 'what was pasted is kept');
    for (const payload of [[null], [{ name: 'credential', data: 'x' }], 42, { credential: 42 }]) {
      const json = await ta.req({ method: 'POST', url: '/register/verify', headers: en, payload: payload as never });
      t.equal(json.statusCode, 400, `a JSON body ${JSON.stringify(payload)} has no credential in it`);
    }
    t.equal(
      outcomeOf((await ta.req({ method: 'POST', url: '/register/verify', headers: en, payload: { credential: jwt } })).body),
      'valid',
      'a JSON body is judged like the form',
    );
    const long = await paste('x'.repeat(8193));
    t.equal(long.statusCode, 413);
    t.match(long.body, 'The pasted text must be 8,192 characters or fewer');
  });

  t.test('uploads over 2 MiB are refused before they are read, with the reason beside the file input', async (t) => {
    const png = await QRCode.toBuffer(qrPayloadOf(PUBLIC, number, jwt));
    // A PNG with 2 MiB of trailing bytes: within the body's allowance for framing, over the image's.
    const justOver = await upload(Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024 + 1 - png.length)]));
    t.equal(justOver.statusCode, 413);
    t.match(justOver.body, '<a href="#qr_image">The image must be smaller than 2 MiB</a>');
    const wayOver = await upload(Buffer.alloc(3 * 1024 * 1024, 1));
    t.equal(wayOver.statusCode, 413, 'a body over the limit is not even buffered');
    t.match(wayOver.body, '<p class="field-error" id="qr_image-error">');
    t.match((await upload(Buffer.alloc(3 * 1024 * 1024, 1), zh)).body, '图片须小于 2 MiB');
  });

  t.test('an image that is not a PNG, or has no QR code, or too many pixels, is named as the problem', async (t) => {
    const jpeg = await upload(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]), en, 'photo.jpg', 'image/jpeg');
    t.equal(jpeg.statusCode, 400);
    t.match(jpeg.body, 'JPEG images cannot be read here');
    const text = await upload(Buffer.from('not an image at all'), en, 'notes.txt', 'text/plain');
    t.match(text.body, 'The file must be a PNG image');
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    const none = await upload(PNG.sync.write(blank));
    t.equal(none.statusCode, 400);
    t.match(none.body, 'No QR code could be read in the image');
    // A header claiming 5000 × 5000 pixels: refused from the header, before any pixel is inflated.
    const huge = PNG.sync.write(blank);
    huge.writeUInt32BE(5000, 16);
    huge.writeUInt32BE(5000, 20);
    const big = await upload(huge);
    t.equal(big.statusCode, 400);
    t.match(big.body, 'The image is 5000 × 5000 pixels: it must be at most 12 megapixels');
    const truncated = await upload((await QRCode.toBuffer('x')).subarray(0, 60));
    t.match(truncated.body, 'The image could not be opened');
  });

  t.test('the QR reader gives up after its time limit and refuses more images than it reads at once', async (t) => {
    const png = await QRCode.toBuffer('GDAIC-2026-000001');
    const slow = new QrImageReader({ timeoutMs: 1, maxConcurrent: 1 });
    await t.rejects(slow.read(png), new QrImageError('too_slow', 'no QR code was found within 1 ms'));
    const one = new QrImageReader({ timeoutMs: 10_000, maxConcurrent: 1 });
    const [first, second] = await Promise.allSettled([one.read(png), one.read(png)]);
    t.equal(first.status === 'fulfilled' && first.value, 'GDAIC-2026-000001');
    t.equal(second.status === 'rejected' && (second.reason as QrImageError).problem, 'busy');
  });

  t.test('multipart bodies as browsers frame them: preamble, quoted boundary, a file name holding "name="', async (t) => {
    const body = Buffer.from(
      'preamble\r\n--b\r\nContent-Disposition: form-data; filename="name=x.png"; name="qr_image"\r\nContent-Type: image/png\r\n\r\nAB\r\n\r\n--b\r\ncontent-disposition: form-data; name="credential"\r\n\r\neyJ\r\n--b--\r\n',
    );
    const parts = parseMultipart(body, 'multipart/form-data; boundary="b"');
    t.same(
      parts.map((p) => [p.name, p.filename, p.type, p.data.toString()]),
      [
        ['qr_image', 'name=x.png', 'image/png', 'AB\r\n'],
        ['credential', null, null, 'eyJ'],
      ],
    );
    t.throws(
      () => parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nunclosed'), 'multipart/form-data; boundary=b'),
      /not closed/,
    );
    t.throws(() => parseMultipart(body, 'multipart/form-data'), /no boundary/);
    const broken = await ta.req({
      method: 'POST',
      url: '/register/verify',
      headers: { ...en, 'content-type': 'multipart/form-data; boundary=zz' },
      payload: 'nothing here',
    });
    t.equal(broken.statusCode, 400);
    t.match(broken.body, 'The form arrived incomplete');
  });

  t.test('the API’s content types are unchanged: a form body is still refused there', async (t) => {
    const r = await ta.req({
      method: 'POST',
      url: '/v1/certification-cases',
      token: cast.applicant.token,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'product_id=x',
    });
    t.equal(r.statusCode, 415);
    t.match(r.headers['content-type'], /application\/problem\+json/);
  });

  t.test('verifying is rate limited, a tenth of the rest, with a page that says so', async (t) => {
    const limited = await buildTestApp(t, { database: ta.database, env: { PUBLIC_URL: PUBLIC, RATE_LIMIT_MAX: '20' } });
    const send = () =>
      limited.req({
        method: 'POST',
        url: '/register/verify',
        headers: { ...en, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `credential=${jwt}`,
      });
    t.equal((await send()).statusCode, 200);
    t.equal((await send()).statusCode, 200);
    const third = await send();
    t.equal(third.statusCode, 429);
    t.ok(third.headers['retry-after'], 'with Retry-After');
    t.match(third.body, 'Too many checks have come from your connection');
    t.equal(
      (await limited.req({ method: 'GET', url: '/register/verify' })).statusCode,
      200,
      'the form itself is under the service’s limit only',
    );
  });

  const CHROMIUM = '/usr/bin/chromium';
  const noBrowser = !testDatabaseUrl()
    ? 'the browser runs in the PostgreSQL pass only, like test/browser/register.test.ts'
    : !existsSync(CHROMIUM)
      ? `no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/before-tests does it in CI)`
      : false;

  t.test(
    'in Chromium, on a phone, with the page’s CSP: a QR picture chosen on the certificate’s page and sent verifies; an empty form focuses its error summary',
    { skip: noBrowser },
    async (t) => {
      const { chromium } = await import('playwright-core');
      await ta.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(ta.app.server.address() as AddressInfo).port}`;
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      t.teardown(() => browser.close());
      const page = await (
        await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, javaScriptEnabled: false })
      ).newPage();
      // The empty form's 400 is the one failed load expected.
      page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 400') && t.fail(`console error: ${m.text()}`));

      await page.goto(`${base}/register/certificates/${number}?lang=en`);
      await page.click('.verify-box summary');
      t.equal(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        true,
        'no sideways scrolling at 390 px, the form open',
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-page-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'certificate-qr.png');
      writeFileSync(file, await QRCode.toBuffer(qrPayloadOf(PUBLIC, number, jwt), { errorCorrectionLevel: 'M', scale: 3 }));
      await page.setInputFiles('#qr_image', file);
      await Promise.all([page.waitForNavigation(), page.click('.verify-box button[type="submit"]')]);
      t.equal(await page.textContent('#verdict-word'), 'Valid', 'the browser’s own multipart body is read');
      t.match(await page.textContent('.verifier-message'), `valid: certificate ${number}`);
      t.equal(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        true,
        'the verdict, credential and all, fits the phone',
      );

      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      t.equal(await page.title(), 'Error: Verify a certificate’s credential · Guangdong AI & Robotics Public Register');
      t.equal(await page.evaluate(() => document.activeElement?.className), 'error-summary', 'focus is on the error summary, without script');
      await page.click('.error-summary a');
      t.equal(await page.evaluate(() => document.activeElement?.id), 'credential', 'its link takes the reader to the field');

      // axe-core run through the DevTools protocol (the page's CSP rightly refuses an injected script tag).
      await page.context().close();
      const checked = await (await browser.newContext()).newPage();
      for (const url of [`${base}/register/verify?lang=zh-Hans`, `${base}/register/certificates/${number}?lang=zh-Hans`]) {
        await checked.goto(url);
        // The certificate page's form is folded: opened, so that axe sees it.
        await checked.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
        await checked.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
        const violations = await checked.evaluate(async () =>
          (await (window as any).axe.run()).violations.map((v: { id: string; nodes: unknown[] }) => `${v.id} (${v.nodes.length})`),
        );
        t.same(violations, [], `${url}: no axe-core violations`);
      }
    },
  );
});
