import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { SYSTEM_CALLER, fireEvent } from '../../src/services/engine.js';
import { certificationWorkflow } from '../../workflows/certification.js';
import { DAY, PUBLIC_CERTIFICATE_KEYS, certificationCast } from './cast.js';

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
  const fired = await fireEvent(ta.app.engine, certificationWorkflow, SYSTEM_CALLER, chatCase.id, { type: 'EXPIRE' });
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

t.test('the register needs no token, and the audit still verifies', async (t) => {
  const withToken = await ta.req({ method: 'GET', url: '/v1/register/certificates', token: c.applicant.token });
  t.equal(withToken.statusCode, 200);
  const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token });
  t.equal(v.json().ok, true, v.body);
});
