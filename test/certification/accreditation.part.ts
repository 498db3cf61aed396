import type { Test } from 'tap';
import { TestClock, buildTestApp } from '../helpers/app.js';
import { DAY, certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC 3.2: a lab acts only while its accreditation covers the case's scheme and is valid, and a
  // certificate is issued only on results tested while the lab was accredited for the scheme.
  const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-05-04T09:00:00Z')) });
  const c = await certificationCast(ta);
  const HOUR = 3_600_000;
  const at = (ms: number) => new Date(ta.clock.now().getTime() + ms).toISOString();

  const accredit = async (lab: { org: { id: string } }, schemes: string[], validUntil = at(365 * DAY)) =>
    c.ok(await ta.req({ method: 'PUT', url: `/v1/organizations/${lab.org.id}/accreditation`, token: c.regulator.token, payload: { accreditation_number: 'CNAS L0042', schemes, valid_until: validUntil } }));

  /** The event is refused 422 naming the rule, and neither the case nor its history moved. */
  async function refused(t: Test, token: string, id: string, type: string, payload: unknown, rule: string, detail: RegExp) {
    const before = c.ok(await c.get(c.regulator.token, id));
    const r = await c.fire(token, id, type, payload);
    t.equal(r.statusCode, 422, `${type}: ${r.body}`);
    t.match(r.json(), { code: 'rule_violation', rule }, type);
    t.match(r.json().detail, detail, type);
    const after = c.ok(await c.get(c.regulator.token, id));
    t.equal(after.version, before.version, `${type}: nothing stored`);
    t.same(after.record, before.record, `${type}: record unchanged`);
    const history = c.ok(await ta.req({ method: 'GET', url: `/v1/certification-cases/${id}/events`, token: c.regulator.token })).items;
    t.equal(history.length, before.version, `${type}: no audit event`);
  }

  async function assigned(lab: { org: { id: string }; token: string }) {
    const created = await c.createCase(await c.robot(), 'robot-safety');
    c.ok(await c.fire(c.applicant.token, created.id, 'SUBMIT'));
    c.ok(await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    return created.id as string;
  }

  const verified = async (t: Test) => {
    const v = c.ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token }));
    t.same(v.failures, [], 'the audit replays');
    t.equal(v.ok, true);
  };

  t.test('a lab whose accreditation no longer covers the scheme cannot accept, post results or post surveillance', async (t) => {
    const lab = await c.lab(['robot-safety', 'ai-ethics']);
    const id = await assigned(lab);

    await accredit(lab, ['ai-ethics']);
    await refused(t, lab.token, id, 'ACCEPT_ASSIGNMENT', undefined, 'labAccredited', /accreditation of lab .* does not cover scheme robot-safety/);
    await accredit(lab, ['ai-ethics', 'robot-safety']);
    c.ok(await c.fire(lab.token, id, 'ACCEPT_ASSIGNMENT'));

    await accredit(lab, ['ai-ethics']);
    await refused(t, lab.token, id, 'POST_RESULTS', await c.results('robot-safety'), 'labAccredited', /does not cover scheme robot-safety/);
    await accredit(lab, ['robot-safety']);
    c.ok(await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety')));
    c.ok(await c.fire(c.regulator.token, id, 'CERTIFY'));

    await accredit(lab, ['ai-ethics']);
    for (const verdict of ['pass', 'fail']) {
      await refused(t, lab.token, id, 'POST_SURVEILLANCE', { findings: 'annual visit', verdict }, 'labAccredited', /does not cover scheme robot-safety/);
    }
    t.equal(c.ok(await c.get(c.regulator.token, id)).state, 'certified');
    await verified(t);
  });

  t.test('a lab whose accreditation has expired cannot accept, post results or post surveillance', async (t) => {
    const lab = await c.lab(['robot-safety'], at(10 * DAY));
    const accepting = await assigned(lab);
    const posting = await assigned(lab);
    const surveilling = await assigned(lab);
    c.ok(await c.fire(lab.token, posting, 'ACCEPT_ASSIGNMENT'));
    c.ok(await c.fire(lab.token, surveilling, 'ACCEPT_ASSIGNMENT'));
    c.ok(await c.fire(lab.token, surveilling, 'POST_RESULTS', await c.results('robot-safety')));
    c.ok(await c.fire(c.regulator.token, surveilling, 'CERTIFY'));
    const tested = at(0);

    ta.clock.advance(10 * DAY);
    await refused(t, lab.token, accepting, 'ACCEPT_ASSIGNMENT', undefined, 'labAccredited', /accreditation of lab .* expired at/);
    await refused(t, lab.token, posting, 'POST_RESULTS', await c.results('robot-safety', [], { tested_at: tested }), 'labAccredited', /expired at/);
    await refused(t, lab.token, surveilling, 'POST_SURVEILLANCE', { findings: 'annual visit', verdict: 'pass' }, 'labAccredited', /expired at/);

    await accredit(lab, ['robot-safety']);
    c.ok(await c.fire(lab.token, accepting, 'ACCEPT_ASSIGNMENT'));
    c.ok(await c.fire(lab.token, surveilling, 'POST_SURVEILLANCE', { findings: 'annual visit', verdict: 'pass' }));
    await verified(t);
  });

  t.test("CERTIFY is refused when the results' lab was not accredited for the scheme on their tested_at", async (t) => {
    const lab = await c.lab(['robot-safety']);
    const id = await assigned(lab);
    c.ok(await c.fire(lab.token, id, 'ACCEPT_ASSIGNMENT'));
    const issued = async () => (await ta.database.db.selectFrom('number_sequences').select('last').where('prefix', '=', 'GDAIC').executeTakeFirst())?.last ?? 0;
    const issuedBefore = await issued();

    ta.clock.advance(DAY);
    await accredit(lab, ['ai-ethics']);
    const testedWhileNarrowed = at(2 * HOUR);
    ta.clock.advance(DAY);
    await accredit(lab, ['ai-ethics', 'robot-safety']);
    ta.clock.advance(HOUR);
    const posted = await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety', [], { tested_at: testedWhileNarrowed }));
    t.equal(posted.statusCode, 200, 'the lab is accredited when it posts');
    await refused(t, c.regulator.token, id, 'CERTIFY', {}, 'resultsLabAccredited', /when the results were tested, the accreditation of lab .* did not cover scheme robot-safety/);

    c.ok(await c.fire(c.regulator.token, id, 'REQUEST_RETEST', { reason: 'tested outside the accreditation' }));
    const beforeFirst = await c.results('robot-safety', [], { tested_at: at(-30 * DAY) });
    c.ok(await c.fire(lab.token, id, 'POST_RESULTS', beforeFirst));
    await refused(t, c.regulator.token, id, 'CERTIFY', {}, 'resultsLabAccredited', /held no accreditation on .*, when the results were tested/);

    c.ok(await c.fire(c.regulator.token, id, 'REQUEST_RETEST', { reason: 'tested before the lab was accredited' }));
    c.ok(await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety')));
    const certified = c.ok(await c.fire(c.regulator.token, id, 'CERTIFY'));
    t.equal(certified.case.state, 'certified');
    t.match(certified.case.record.certificate.number, new RegExp(`-${String(issuedBefore + 1).padStart(6, '0')}$`), 'the refused CERTIFYs used no certificate number');
    await verified(t);
  });

  t.test('CERTIFY is refused when the accreditation had expired on tested_at, though renewed since', async (t) => {
    const lab = await c.lab(['robot-safety'], at(DAY));
    const id = await assigned(lab);
    c.ok(await c.fire(lab.token, id, 'ACCEPT_ASSIGNMENT'));
    ta.clock.advance(DAY + HOUR);
    const testedAfterExpiry = at(0);
    ta.clock.advance(HOUR);
    await accredit(lab, ['robot-safety']);
    c.ok(await c.fire(lab.token, id, 'POST_RESULTS', await c.results('robot-safety', [], { tested_at: testedAfterExpiry })));
    await refused(t, c.regulator.token, id, 'CERTIFY', {}, 'resultsLabAccredited', /the accreditation of lab .* had expired/);
    await verified(t);
  });
});
