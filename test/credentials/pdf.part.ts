import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fontkit from '@pdf-lib/fontkit';
import jsqr from 'jsqr';
import { decodePDFRawStream, PDFDict, PDFDocument, PDFName, PDFRawStream } from 'pdf-lib';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { decodeJws, signedBy, type Jwk } from './verifier.js';
import { credentialOfPdf, qrTextsOfPdf } from '../../src/credentials/pdf-qr.js';
import { parseQrPayload } from '../../src/credentials/qr-payload.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const run = promisify(execFile);
  const PUBLIC_URL = 'https://registry.example.gov.cn';
  const ISSUER = 'https://issuer.example.gov.cn';
  const has = (tool: string) => !spawnSync(tool, ['-v']).error;
  const POPPLER = has('pdftoppm') && has('pdftotext') ? false : 'pdftoppm/pdftotext (Debian poppler-utils) are not installed';

  const ta = await buildTestApp(t, { env: { PUBLIC_URL, ISSUER_URL: ISSUER } });
  const cast = await certificationCast(ta);
  const holder = await cast.org({ name: '广州市智行机器人科技有限公司', name_en: 'Guangzhou Zhixing Robotics Co., Ltd.' });
  const applicant = await cast.principal('applicant', holder.id);
  const lab = await cast.lab(undefined, undefined, '广东省机器人检测中心');
  const robot = await cast.robot(applicant.token, { name: '智行协作机器人 ZX-Cobot' });
  const certified = await cast.certify({ product: robot, scheme: 'robot-safety', lab, applicantToken: applicant.token });
  const number: string = certified.record.certificate.number;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certificate-pdf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const get = async (url: string) => {
    const r = await ta.req({ method: 'GET', url });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r;
  };
  const res = await get(`/v1/register/certificates/${number}/pdf`);
  const pdf = res.rawPayload;
  const pdfFile = path.join(dir, `${number}.pdf`);
  fs.writeFileSync(pdfFile, pdf);
  const credential = (await get(`/v1/register/certificates/${number}/credential`)).body;
  const jwks: Jwk[] = (await get('/.well-known/jwks.json')).json().keys;

  /** The ToUnicode CMap's `<cid> <utf16>` pairs. */
  const cmapPairs = (cmap: string) => [...cmap.matchAll(/<([0-9a-f]{4})> <([0-9a-f]+)>/gi)].map(([, cid, u]) => [parseInt(cid!, 16), Buffer.from(u!, 'hex').swap16().toString('utf16le')] as const);

  t.test('the PDF: one A4 page, served inline, with a Noto Sans SC subset embedded whose glyphs are the characters they stand for', async (t) => {
    t.equal(res.headers['content-type'], 'application/pdf');
    t.equal(res.headers['content-disposition'], `inline; filename="${number}.pdf"`);
    t.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const doc = await PDFDocument.load(pdf);
    t.equal(doc.getPageCount(), 1);
    const { width, height } = doc.getPage(0).getSize();
    t.equal(width.toFixed(2), '595.28', 'A4 width in points');
    t.equal(height.toFixed(2), '841.89', 'A4 height in points');
    t.match(doc.getTitle(), number);

    const objects = doc.context.enumerateIndirectObjects().map(([, o]) => o);
    const descriptors = objects.filter((o): o is PDFDict => o instanceof PDFDict && o.lookup(PDFName.of('Type')) === PDFName.of('FontDescriptor'));
    t.equal(descriptors.length, 1, 'one font');
    const descriptor = descriptors[0]!;
    t.match(descriptor.lookup(PDFName.of('FontName'))!.toString(), /^\/[A-Z]{6}\+NotoSansSC-Regular$/, 'named as a subset (a six-capital tag)');
    const program = Buffer.from(decodePDFRawStream(descriptor.lookup(PDFName.of('FontFile2')) as PDFRawStream).decode());
    const fullFont = fs.readFileSync(createRequire(import.meta.url).resolve('@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf'));
    const original = fontkit.create(fullFont);
    const subset = fontkit.create(program);
    t.ok(subset.numGlyphs < 300, `the subset holds ${subset.numGlyphs} glyphs of the font's ${original.numGlyphs}`);
    t.ok(program.length < fullFont.length / 50, `the font program is ${program.length} bytes, the font ${fullFont.length}`);

    const type0 = objects.find((o): o is PDFDict => o instanceof PDFDict && o.lookup(PDFName.of('Subtype')) === PDFName.of('Type0'))!;
    const pairs = cmapPairs(Buffer.from(decodePDFRawStream(type0.lookup(PDFName.of('ToUnicode')) as PDFRawStream).decode()).toString('latin1'));
    const used = new Set(pairs.map(([, ch]) => ch));
    for (const ch of '证书编号持证人广州市智行机器人科技有限公司') t.ok(used.has(ch), `${ch} is in the subset`);
    // What @pdf-lib/fontkit's short loca used to break: each glyph's outline is the original's, that
    // of the character's glyph, or of one the font's substitutions put in its place (a ligature, the
    // digits it draws after a space).
    const box = (g: { bbox: { minX: number; minY: number; maxX: number; maxY: number } }) => JSON.stringify(g.bbox);
    const wrong = pairs.filter(([cid, ch]) => {
      const laid = ['', ' ', 'x ', '-', '字'].map((before) => original.layout(before + ch).glyphs.at(-1)!);
      return ![original.glyphForCodePoint(ch.codePointAt(0)!), ...laid].some((g) => box(g) === box(subset.getGlyph(cid)));
    });
    t.same(wrong.map(([, ch]) => ch), [], `all ${pairs.length} glyphs have the outline of their character`);
  });

  t.test('rendered at 300 dpi: the facts as text, and a QR code at least 70 mm wide that holds the page URL and the served credential, which verifies offline', { skip: POPPLER }, async (t) => {
    const text = (await run('pdftotext', ['-layout', pdfFile, '-'])).stdout;
    for (const s of [number, '证书编号', 'Certificate number', '持证人', '广州市智行机器人科技有限公司', 'Guangzhou Zhixing Robotics Co., Ltd.', holder.credit_code, '智行协作机器人 ZX-Cobot', '机器人安全', '广东省机器人检测中心', '发证日期', '有效期至', ISSUER]) {
      t.ok(text.includes(s), `the page says ${s}`);
    }

    await run('pdftoppm', ['-r', '300', '-png', '-gray', '-singlefile', pdfFile, path.join(dir, 'page')]);
    const page = PNG.sync.read(fs.readFileSync(path.join(dir, 'page.png')));
    t.equal(page.width, 2481, 'A4 at 300 dpi');
    const code = jsqr.default(new Uint8ClampedArray(page.data.buffer, page.data.byteOffset, page.data.length), page.width, page.height);
    if (!code) return t.fail('no QR code found on the rendered page');
    const qr = Buffer.from(code.binaryData).toString('utf8');
    const prefix = `${PUBLIC_URL}/register/certificates/${number}#vc=`;
    t.ok(qr.startsWith(prefix), `the code starts with the page URL: ${qr.slice(0, 80)}`);
    const jwt = qr.slice(prefix.length);
    t.equal(jwt, credential, 'the credential is the one GET …/credential serves');
    t.same(parseQrPayload(qr), { url: `${PUBLIC_URL}/register/certificates/${number}`, jwt }, 'parseQrPayload reads it back');
    t.ok(signedBy(jwt, jwks), 'its signature verifies with a JWKS key (node:crypto)');
    const { payload } = decodeJws(jwt);
    t.equal(payload.issuer, ISSUER);
    t.equal(payload.credentialSubject.certificateNumber, number);
    t.equal(payload.credentialSubject.holder.name, '广州市智行机器人科技有限公司');

    const { topLeftCorner: tl, topRightCorner: tr, bottomLeftCorner: bl } = code.location;
    const mm = (a: { x: number; y: number }, b: { x: number; y: number }) => (Math.hypot(a.x - b.x, a.y - b.y) / 300) * 25.4;
    t.ok(mm(tl, tr) >= 70 && mm(tl, bl) >= 70, `the symbol is ${mm(tl, tr).toFixed(1)} × ${mm(tl, bl).toFixed(1)} mm on paper`);
  });

  t.test('npm run cli -- verify-credential <pdf>: the credential of the QR code, valid, then suspended', async (t) => {
    const file = (name: string, text: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const jwksFile = file('jwks.json', JSON.stringify({ keys: jwks }));
    const cli = async () => {
      const lists = [file('revocation-0.jwt', (await get('/v1/status-lists/revocation/0')).body), file('suspension-0.jwt', (await get('/v1/status-lists/suspension/0')).body)];
      const args = ['--import', 'tsx', 'src/cli.ts', 'verify-credential', pdfFile, '--jwks', jwksFile, '--status-list', lists[0]!, '--status-list', lists[1]!, '--issuer', ISSUER];
      try {
        const r = await run(process.execPath, args, { env: { ...process.env, ISSUER_URL: '', PUBLIC_URL: '' } });
        return { code: 0, out: r.stdout + r.stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: e.stdout + e.stderr };
      }
    };
    const valid = await cli();
    t.equal(valid.code, 0, valid.out);
    t.match(valid.out, new RegExp(`^valid: certificate ${number} [\\s\\S]*note: credential read from the PDF's QR code \\(${PUBLIC_URL}/register/certificates/${number}\\)`));
    cast.ok(await cast.fire(cast.regulator.token, certified.id, 'SUSPEND', { reason: 'market surveillance pending' }));
    const suspended = await cli();
    t.equal(suspended.code, 1, suspended.out);
    t.match(suspended.out, new RegExp(`^suspended: certificate ${number} is suspended`));
  });

  t.test('a credential too long for a QR code: the code holds the page URL alone, and the PDF is said to carry no credential', async (t) => {
    const id = await cast.toResultsPosted({ product: await cast.robot(applicant.token), scheme: 'robot-safety', lab, applicantToken: applicant.token });
    const scope = '本产品在标准工厂协作单元配置下的全部功能，包括示教、自动运行和人机协作模式。'.repeat(50).slice(0, 2000);
    const long = cast.ok(await cast.fire(cast.regulator.token, id, 'CERTIFY', { scope })).case.record.certificate.number as string;
    const r = await get(`/v1/register/certificates/${long}/pdf`);
    t.equal(r.headers['content-type'], 'application/pdf');
    t.same(await qrTextsOfPdf(r.rawPayload), [`${PUBLIC_URL}/register/certificates/${long}`], 'the QR image read out of the PDF: the URL alone');
    t.match(await credentialOfPdf(r.rawPayload), { refused: /holds https:\/\/registry\.example\.gov\.cn\/register\/certificates\/.* but no credential/ });
    t.match(await credentialOfPdf(Buffer.from(await (await PDFDocument.create()).save())), { refused: 'the PDF holds no QR code image this tool can read' });
    t.match(await credentialOfPdf(Buffer.from('%PDF-1.7 not really')), { refused: /^the PDF (cannot be read|holds no QR code)/ });
  });

  t.test('a PDF made elsewhere whose QR code names another certificate than its credential: read, and said so', async (t) => {
    const doc = await PDFDocument.create();
    const png = await QRCode.toBuffer(`${PUBLIC_URL}/register/certificates/GDAIC-2026-999999#vc=${credential}`, { errorCorrectionLevel: 'M', scale: 1, margin: 4 });
    doc.addPage().drawImage(await doc.embedPng(png), { x: 50, y: 300, width: 280, height: 280 });
    const found = await credentialOfPdf(await doc.save());
    if (!('jwt' in found)) return t.fail(found.refused);
    t.equal(found.jwt, credential);
    t.match(found.notes, [/GDAIC-2026-999999/, new RegExp(`does not name certificate ${number}, which its credential states`)]);
  });

  t.test('an unknown certificate number is a 404 problem', async (t) => {
    const r = await ta.req({ method: 'GET', url: '/v1/register/certificates/GDAIC-2026-999999/pdf' });
    t.equal(r.statusCode, 404);
    t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(r.json(), { code: 'not_found' });
  });
});
