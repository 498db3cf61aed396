import { TestClock, buildTestApp } from '../helpers/app.js';
import { SYSTEM_CALLER } from '../../src/engine/caller.js';
import { fireEvent } from '../../src/cases/fire.js';
import { CERTIFICATE_STATUS_EVENTS, certificationWorkflow } from '../../workflows/certification.js';
import { DAY, PUBLIC_CERTIFICATE_KEYS, certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // One database for the file; every test makes its own organizations, products and cases. The clock
  // starts on a fixed day early in a year, so the 30 days this file moves it never cross into the next
  // year (certificate numbers restart each year) whatever the date it runs on.
  const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-03-02T09:00:00Z')) });

  t.test('a robot and a GenAI service are carried through certification, surveillance, suspension, revocation and expiry', async (t) => {
    const c = await certificationCast(ta);
    const lab = await c.lab(['robot-safety', 'genai-security'], undefined, '广州机器人检测中心');
    const year = ta.clock.now().getUTCFullYear();
    const verify = async (number: string) => {
      const r = await ta.req({ method: 'GET', url: `/v1/register/certificates/${number}` });
      t.equal(r.statusCode, 200, r.body);
      t.same(Object.keys(r.json()).sort(), PUBLIC_CERTIFICATE_KEYS, 'the public sees only the register fields');
      return r.json();
    };

    // A robot, all the way to certified.
    const robot = await c.robot();
    const created = await c.createCase(robot, 'robot-safety');
    t.equal(created.state, 'draft');
    t.match(created.number, /^CERT-\d{4}-\d{6}$/);
    const steps: Array<[string, string, unknown?, string?]> = [
      [c.applicant.token, 'SUBMIT', undefined, 'submitted'],
      [c.regulator.token, 'ASSIGN_LAB', { lab_id: lab.org.id }, 'lab_assigned'],
      [lab.token, 'ACCEPT_ASSIGNMENT', undefined, 'testing'],
      [lab.token, 'POST_RESULTS', await c.results('robot-safety'), 'results_posted'],
      [c.regulator.token, 'CERTIFY', { scope: 'Cobot arm, firmware 2.x, collaborative mode' }, 'certified'],
    ];
    let last: any;
    for (const [token, type, payload, state] of steps) {
      const r = await c.fire(token, created.id, type, payload);
      t.equal(r.statusCode, 200, `${type}: ${r.body}`);
      last = r.json().case;
      t.equal(last.state, state, type);
    }
    const cert = last.record.certificate;
    t.match(cert, { number: `GDAIC-${year}-000001`, scope: 'Cobot arm, firmware 2.x, collaborative mode' });
    t.equal(cert.issued_at, ta.clock.now().toISOString());
    const until = new Date(ta.clock.now());
    until.setUTCMonth(until.getUTCMonth() + 36);
    t.equal(new Date(cert.valid_until).getUTCFullYear(), until.getUTCFullYear(), 'robot-safety certificates last 36 months');
    t.same(last.deadlines, { valid_until: cert.valid_until });
    t.equal(last.lab_id, lab.org.id);
    const deadlines = await ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', created.id).execute();
    t.match(deadlines, [{ name: 'valid_until', event_type: 'EXPIRE' }], 'the scheduler will fire EXPIRE at valid_until');

    t.match(await verify(cert.number), {
      number: cert.number,
      status: 'valid',
      holder: { name: c.applicantOrg.name },
      product: { name: robot.name, version: '2.1' },
      scheme: 'robot-safety',
      lab: { name: '广州机器人检测中心' },
      issued_at: cert.issued_at,
      valid_until: cert.valid_until,
    });

    // Surveillance, suspension, restoration, revocation.
    t.equal((await c.fire(lab.token, created.id, 'POST_SURVEILLANCE', { findings: 'Six-month audit: stops verified', verdict: 'pass' })).json().case.state, 'certified');
    ta.clock.advance(30 * DAY);
    t.equal((await c.fire(c.regulator.token, created.id, 'SUSPEND', { reason: 'Injury reported at a customer site' })).json().case.state, 'suspended');
    t.equal((await verify(cert.number)).status, 'suspended');
    t.equal((await c.fire(c.regulator.token, created.id, 'RESTORE', { reason: 'Root cause fixed in firmware 2.2' })).json().case.state, 'certified');
    t.equal((await verify(cert.number)).status, 'valid');
    const revoked = (await c.fire(c.regulator.token, created.id, 'REVOKE', { reason: 'Safety controller replaced by an uncertified part' })).json().case;
    t.equal(revoked.state, 'revoked');
    t.same(revoked.deadlines, {});
    t.equal((await verify(cert.number)).status, 'revoked');
    t.match(revoked.record.certificate, { number: cert.number, status: 'revoked' });
    t.same(revoked.record.status_changes, { count: 5, latest_at: ta.clock.now().toISOString() });
    // Each status change is an event of the case's history: who, when, why and the state it led to.
    const changes = (await ta.req({ method: 'GET', url: `/v1/certification-cases/${created.id}/events`, token: c.regulator.token }))
      .json()
      .items.filter((e: any) => CERTIFICATE_STATUS_EVENTS.includes(e.type));
    t.same(
      changes.map((e: any) => [e.type, certificationWorkflow.certificateStatus[e.to_state], e.actor.role]),
      [
        ['CERTIFY', 'valid', 'regulator'],
        ['POST_SURVEILLANCE', 'valid', 'lab'],
        ['SUSPEND', 'suspended', 'regulator'],
        ['RESTORE', 'valid', 'regulator'],
        ['REVOKE', 'revoked', 'regulator'],
      ],
      'every status change says who',
    );
    t.equal(changes[2].payload.reason, 'Injury reported at a customer site', 'and why');
    t.equal(changes[2].actor.principal_id, c.regulator.id);

    // A GenAI service: certified, surveillance fails, then it expires.
    const service = await c.genai();
    const g = await c.certify({ product: service, scheme: 'genai-security', lab });
    t.equal(g.record.certificate.number, `GDAIC-${year}-000002`, 'certificate numbers are gap-free');
    t.equal((await verify(g.record.certificate.number)).status, 'valid');
    const failed = await c.fire(lab.token, g.id, 'POST_SURVEILLANCE', { findings: 'Refusal rate on the test bank fell to 81%', verdict: 'fail' });
    t.equal(failed.json().case.state, 'suspended', 'a failed surveillance suspends');
    t.equal((await verify(g.record.certificate.number)).status, 'suspended');

    const expire = { type: 'EXPIRE', payload: { deadline: 'valid_until', due_at: g.record.certificate.valid_until } };
    const early = await fireEvent(ta.app.engine, certificationWorkflow, SYSTEM_CALLER, g.id, expire).catch((e) => e);
    t.equal(early.code, 'rule_violation', 'EXPIRE before valid_until is refused');
    ta.clock.set(new Date(Date.parse(g.record.certificate.valid_until) + 1000));
    t.equal((await verify(g.record.certificate.number)).status, 'expired', 'past valid_until the register says expired even before EXPIRE fires');
    const restore = await c.fire(c.regulator.token, g.id, 'RESTORE');
    t.equal(restore.statusCode, 422, 'a certificate past its validity cannot be restored');
    t.equal(restore.json().rule, 'withinValidity');
    const expired = await fireEvent(ta.app.engine, certificationWorkflow, SYSTEM_CALLER, g.id, expire);
    t.equal(expired.case.state, 'expired');
    t.equal(expired.event.actor.role, 'system');
    t.equal((await verify(g.record.certificate.number)).status, 'expired');
    t.same(await ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', g.id).execute(), [], 'no deadline is left once expired');

    const history = (await ta.req({ method: 'GET', url: `/v1/certification-cases/${g.id}/events`, token: c.applicant.token })).json().items;
    t.same(
      history.map((e: any) => e.type),
      ['CASE_CREATED', 'SUBMIT', 'ASSIGN_LAB', 'ACCEPT_ASSIGNMENT', 'POST_RESULTS', 'CERTIFY', 'POST_SURVEILLANCE', 'EXPIRE'],
    );

    const audit = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token });
    t.equal(audit.json().ok, true, audit.body);
    t.ok(audit.json().cases_checked >= 2);
  });

  t.test('roles: only the right party may fire each event', async (t) => {
    const c = await certificationCast(ta);
    const lab = await c.lab();
    const product = await c.robot();
    const created = await c.createCase(product, 'robot-safety');
    const refusedBy = async (token: string, type: string, payload: unknown, status: number, code: string) => {
      const r = await c.fire(token, created.id, type, payload);
      t.equal(r.statusCode, status, `${type}: ${r.body}`);
      t.equal(r.json().code, code, type);
    };
    await refusedBy(c.regulator.token, 'SUBMIT', undefined, 403, 'forbidden');
    t.equal((await c.fire(c.applicant.token, created.id, 'SUBMIT')).statusCode, 200);
    await refusedBy(c.applicant.token, 'ASSIGN_LAB', { lab_id: lab.org.id }, 403, 'forbidden');
    await refusedBy(c.regulator.token, 'CERTIFY', undefined, 409, 'invalid_transition');
    t.equal((await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: lab.org.id })).statusCode, 200);
    await refusedBy(c.regulator.token, 'ACCEPT_ASSIGNMENT', undefined, 403, 'forbidden');
    await refusedBy(c.applicant.token, 'ACCEPT_ASSIGNMENT', undefined, 403, 'forbidden');
    const allowed = await ta.req({ method: 'GET', url: `/v1/certification-cases/${created.id}/allowed-events`, token: lab.token });
    t.same(allowed.json(), { state: 'lab_assigned', events: ['ACCEPT_ASSIGNMENT', 'DECLINE_ASSIGNMENT'] });
    t.equal((await c.fire(lab.token, created.id, 'ACCEPT_ASSIGNMENT')).statusCode, 200);
    await refusedBy(lab.token, 'CERTIFY', undefined, 403, 'forbidden');
    await refusedBy(c.regulator.token, 'POST_RESULTS', await c.results('robot-safety'), 403, 'forbidden');
    await refusedBy(lab.token, 'EXPIRE', undefined, 403, 'forbidden');
    await refusedBy(lab.token, 'POST_RESULTS', { ...(await c.results('robot-safety')), report_sha256: 'not-a-digest' }, 400, 'validation_failed');
    const stored = (await c.get(c.regulator.token, created.id)).json();
    t.equal(stored.state, 'testing');
    t.same(stored.record.results_rounds, { count: 0, latest_at: null }, 'a refused event stores nothing');
    t.equal(stored.record.latest_results, undefined);
  });

  t.test('an applicant withdraws while testing; the case is final', async (t) => {
    const c = await certificationCast(ta);
    const lab = await c.lab();
    const created = await c.createCase(await c.robot(), 'robot-safety');
    for (const [token, type, payload] of [
      [c.applicant.token, 'SUBMIT'],
      [c.regulator.token, 'ASSIGN_LAB', { lab_id: lab.org.id }],
      [lab.token, 'ACCEPT_ASSIGNMENT'],
      [c.applicant.token, 'WITHDRAW'],
    ] as Array<[string, string, unknown?]>) {
      t.equal((await c.fire(token, created.id, type, payload)).statusCode, 200, type);
    }
    const after = await c.fire(lab.token, created.id, 'POST_RESULTS', await c.results('robot-safety'));
    t.equal(after.statusCode, 409);
    t.same(after.json().allowed_events, []);
    t.match((await c.get(c.applicant.token, created.id)).json(), { state: 'withdrawn', record: { decision: { type: 'WITHDRAW' } } });
  });

  t.test('the draft application can be replaced, and must name a product of the applicant and a known scheme', async (t) => {
    const c = await certificationCast(ta);
    const product = await c.robot();
    const created = await c.createCase(product, 'ai-ethics');
    const patched = await ta.req({ method: 'PATCH', url: `/v1/certification-cases/${created.id}`, token: c.applicant.token, payload: { product_id: product.id, scheme: 'robot-safety', declared_scope: 'Arm only' } });
    t.equal(patched.statusCode, 200, patched.body);
    t.match(patched.json().application, { scheme: 'robot-safety', declared_scope: 'Arm only' });
    const unknown = await ta.req({ method: 'POST', url: '/v1/certification-cases', token: c.applicant.token, payload: { product_id: product.id, scheme: 'quantum-safety', declared_scope: 'x' } });
    t.equal(unknown.statusCode, 422);
    t.match(unknown.json().detail, /no certification scheme quantum-safety/);
    const foreign = await c.robot(c.otherApplicant.token);
    const notMine = await ta.req({ method: 'POST', url: '/v1/certification-cases', token: c.applicant.token, payload: { product_id: foreign.id, scheme: 'robot-safety', declared_scope: 'x' } });
    t.equal(notMine.statusCode, 422);
    const extra = await ta.req({ method: 'POST', url: '/v1/certification-cases', token: c.applicant.token, payload: { product_id: product.id, scheme: 'robot-safety', declared_scope: 'x', contact: 'me' } });
    t.equal(extra.statusCode, 400);
    t.match(extra.json().errors, [{ path: 'body/contact' }]);
  });

  t.test('SUBMIT is refused when the scheme does not cover the product kind', async (t) => {
    const c = await certificationCast(ta);
    const created = await c.createCase(await c.genai(), 'robot-safety');
    const r = await c.fire(c.applicant.token, created.id, 'SUBMIT');
    t.equal(r.statusCode, 422);
    t.equal(r.json().code, 'rule_violation');
    t.equal(r.json().rule, 'productKindCovered');
    t.match(r.json().detail, /not genai_service/);
    t.equal((await c.get(c.applicant.token, created.id)).json().state, 'draft');
  });
});
