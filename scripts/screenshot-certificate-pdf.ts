// Renders docs/screenshots/certificate-pdf.png, the README's picture of a printed certificate: an
// app on a throw-away database (embedded, or DATABASE_URL's server), a sample case carried to
// CERTIFY over HTTP, its PDF fetched from GET /v1/register/certificates/:number/pdf and rendered by
// pdftoppm (Debian's poppler-utils) at 100 dpi. `npm run screenshots` runs it after the pages'.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/screenshots/certificate-pdf');
const { buildTestApp } = await import('../test/helpers/app.js');
const { certificationCast } = await import('../test/certification/cast.js');

const teardowns: Array<() => unknown> = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certificate-pdf-'));
const ta = await buildTestApp({ teardown: (fn: () => unknown) => void teardowns.push(fn) } as never, { env: { PUBLIC_URL: 'https://registry.example.gov.cn' } });
try {
  const cast = await certificationCast(ta);
  const holder = await cast.org({ name: '深圳市智行机器人科技有限公司', name_en: 'Shenzhen Zhixing Robotics Co., Ltd.' });
  const applicant = await cast.principal('applicant', holder.id);
  const lab = await cast.lab(undefined, undefined, '广东省智能机器人检测中心');
  const robot = await cast.robot(applicant.token, { name: '巡检机器人 PatrolBot', version: '2.1' });
  const id = await cast.toResultsPosted({ product: robot, scheme: 'robot-safety', lab, applicantToken: applicant.token });
  const scope = '巡检机器人 PatrolBot 2.1.x 标准户外配置，用于有人监督的巡检 (standard outdoor configuration, supervised inspection rounds)';
  const number = cast.ok(await cast.fire(cast.regulator.token, id, 'CERTIFY', { scope })).case.record.certificate.number as string;
  const r = await ta.req({ method: 'GET', url: `/v1/register/certificates/${number}/pdf` });
  if (r.statusCode !== 200) throw new Error(`GET …/pdf answered ${r.statusCode}: ${r.body}`);
  const pdf = path.join(dir, `${number}.pdf`);
  fs.writeFileSync(pdf, r.rawPayload);
  execFileSync('pdftoppm', ['-r', '100', '-png', '-singlefile', pdf, out]);
  console.log(`wrote ${path.relative(process.cwd(), `${out}.png`)} (the PDF: ${r.rawPayload.length} bytes)`);
} finally {
  for (const fn of teardowns.reverse()) await fn();
  fs.rmSync(dir, { recursive: true, force: true });
}
