import { buildTestApp } from '../helpers/app.js';
import { DAY, certificationCast } from './cast.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);

  t.test('only a lab accredited for the scheme, valid now and not the applicant itself, can be assigned', async (t) => {
    const c = await certificationCast(ta);
    const created = await c.createCase(await c.robot(), 'robot-safety');
    t.equal((await c.fire(c.applicant.token, created.id, 'SUBMIT')).statusCode, 200);
    const assign = async (labId: string, name: string, message: RegExp) => {
      const r = await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: labId });
      t.equal(r.statusCode, 422, `${name}: ${r.body}`);
      t.equal(r.json().code, 'rule_violation', name);
      t.equal(r.json().rule, 'labEligible', name);
      t.match(r.json().detail, message, name);
    };

    const unaccredited = await c.lab(null);
    await assign(unaccredited.org.id, 'unaccredited', /holds no accreditation/);

    const lapsing = await c.lab(['robot-safety'], new Date(ta.clock.now().getTime() + DAY).toISOString());
    ta.clock.advance(2 * DAY);
    await assign(lapsing.org.id, 'expired accreditation', /accreditation of lab .* expired/);

    const outOfScope = await c.lab(['ai-ethics', 'genai-security']);
    await assign(outOfScope.org.id, 'out of scope', /does not cover scheme robot-safety/);

    await assign(c.applicantOrg.id, "the applicant's own organization", /conflict of interest/);
    await assign(c.otherOrg.id, 'an enterprise', /is not a lab/);
    await assign('00000000-0000-4000-8000-000000000000', 'nobody', /names no organization/);

    const stored = (await c.get(c.regulator.token, created.id)).json();
    t.equal(stored.state, 'submitted');
    t.equal(stored.version, 2, 'refusals store nothing');
    t.same(stored.record.assignments, { count: 0, latest_at: null });

    const good = await c.lab(['robot-safety']);
    const r = await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: good.org.id });
    t.equal(r.statusCode, 200, r.body);
    t.match(r.json().case.record.lab, { id: good.org.id, name: good.org.name });
    t.match(r.json().case.record.lab, { accreditation_number: /^CNAS L/, assigned_by: { principal_id: c.regulator.id, role: 'regulator' } });
    t.same(r.json().case.record.assignments, { count: 1, latest_at: ta.clock.now().toISOString() });
  });

  t.test('a lab that is the applicant organization itself is refused even when accredited', async (t) => {
    const c = await certificationCast(ta);
    const created = await c.createCase(await c.robot(), 'robot-safety');
    t.equal((await c.fire(c.applicant.token, created.id, 'SUBMIT')).statusCode, 200);
    // The API never lets an applicant belong to a lab; the rule still guards the registry against it.
    await ta.database.db.updateTable('organizations').set({ kind: 'lab' }).where('id', '=', c.applicantOrg.id).execute();
    const acc = await ta.req({ method: 'PUT', url: `/v1/organizations/${c.applicantOrg.id}/accreditation`, token: c.regulator.token, payload: { accreditation_number: 'CNAS L9999', schemes: ['robot-safety'], valid_until: new Date(ta.clock.now().getTime() + 90 * DAY).toISOString() } });
    t.equal(acc.statusCode, 200, acc.body);
    const r = await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: c.applicantOrg.id });
    t.equal(r.statusCode, 422);
    t.match(r.json().detail, /conflict of interest/);
  });

  t.test('only the assigned lab sees the case; another lab gets 404 for everything', async (t) => {
    const c = await certificationCast(ta);
    const assigned = await c.lab(['robot-safety']);
    const other = await c.lab(['robot-safety']);
    const created = await c.createCase(await c.robot(), 'robot-safety');
    t.equal((await c.fire(c.applicant.token, created.id, 'SUBMIT')).statusCode, 200);
    t.equal((await c.get(assigned.token, created.id)).statusCode, 404, 'no lab sees a case before assignment');
    t.equal((await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: assigned.org.id })).statusCode, 200);

    t.equal((await c.get(assigned.token, created.id)).statusCode, 200);
    const list = (token: string) => ta.req({ method: 'GET', url: '/v1/certification-cases', token }).then((r) => r.json().items.map((i: any) => i.id));
    t.same(await list(assigned.token), [created.id]);
    t.same(await list(other.token), []);
    for (const [method, url, payload] of [
      ['GET', `/v1/certification-cases/${created.id}`],
      ['GET', `/v1/certification-cases/${created.id}/events`],
      ['GET', `/v1/certification-cases/${created.id}/allowed-events`],
      ['POST', `/v1/certification-cases/${created.id}/events`, { type: 'ACCEPT_ASSIGNMENT' }],
      ['POST', `/v1/certification-cases/${created.id}/events`, { type: 'DECLINE_ASSIGNMENT', payload: { reason: 'taking it over' } }],
    ] as Array<['GET' | 'POST', string, unknown?]>) {
      const r = await ta.req({ method, url, token: other.token, ...(payload ? { payload } : {}) });
      t.equal(r.statusCode, 404, `${method} ${url}`);
      t.equal(r.json().code, 'not_found');
    }
    t.equal((await c.get(c.otherApplicant.token, created.id)).statusCode, 404, "another applicant doesn't see it either");

    const declined = await c.fire(assigned.token, created.id, 'DECLINE_ASSIGNMENT', { reason: 'Conflict: we advised the applicant on the design' });
    t.equal(declined.statusCode, 200);
    t.equal(declined.json().case.state, 'submitted');
    t.equal(declined.json().case.lab_id, null);
    t.equal((await c.get(assigned.token, created.id)).statusCode, 404, 'a lab that declined no longer sees the case');

    t.equal((await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: other.org.id })).statusCode, 200);
    t.equal((await c.fire(other.token, created.id, 'ACCEPT_ASSIGNMENT')).statusCode, 200);
    t.equal((await c.fire(assigned.token, created.id, 'POST_RESULTS', await c.results('robot-safety'))).statusCode, 404, 'the former lab cannot post results');
    const posted = await c.fire(other.token, created.id, 'POST_RESULTS', await c.results('robot-safety'));
    t.equal(posted.statusCode, 200, posted.body);
    const rec = posted.json().case.record;
    t.equal(rec.assignments.count, 2);
    t.match(rec.lab, { id: other.org.id, accepted_at: /Z$/ });
    t.equal(rec.latest_results.lab_id, other.org.id);
    // Each assignment and what the lab answered is in the case's history.
    const items = (await ta.req({ method: 'GET', url: `/v1/certification-cases/${created.id}/events`, token: c.regulator.token })).json().items;
    t.same(
      items.filter((e: any) => ['ASSIGN_LAB', 'ACCEPT_ASSIGNMENT', 'DECLINE_ASSIGNMENT'].includes(e.type)).map((e: any) => [e.type, e.payload.lab_id ?? e.payload.reason ?? null]),
      [
        ['ASSIGN_LAB', assigned.org.id],
        ['DECLINE_ASSIGNMENT', 'Conflict: we advised the applicant on the design'],
        ['ASSIGN_LAB', other.org.id],
        ['ACCEPT_ASSIGNMENT', null],
      ],
    );
  });
});
