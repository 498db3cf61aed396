import { buildTestApp } from '../helpers/app.js';
import { day, sandboxApplication, sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('sandbox over HTTP', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const A = s.applicant.token;
    const R = s.regulator.token;

    t.test('create answers 201 with Location, ETag and a SBX number, in draft', async (t) => {
      const r = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(s.product.id) });
      t.equal(r.statusCode, 201);
      const c = r.json();
      t.equal(r.headers.location, `/v1/sandbox-cases/${c.id}`);
      t.equal(r.headers.etag, '"1"');
      t.match(c, { state: 'draft', version: 1, kind: 'sandbox-cases', organization_id: s.applicantOrg.id, product_id: s.product.id });
      t.match(c.number, /^SBX-\d{4}-\d{6}$/);
      t.same(Object.keys(c).sort(), ['application', 'created_at', 'deadlines', 'id', 'kind', 'lab_id', 'number', 'organization_id', 'product_id', 'record', 'state', 'updated_at', 'version'].sort());
    });

    t.test('numbers are consecutive', async (t) => {
      const a = await s.create();
      const b = await s.create();
      t.equal(Number(b.number.slice(-6)), Number(a.number.slice(-6)) + 1);
    });

    t.test('an application with unknown or missing fields is refused with the field named', async (t) => {
      const r = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: { ...sandboxApplication(s.product.id), extra: 1, scenarios: [] } });
      t.equal(r.statusCode, 400);
      t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
      const paths = r.json().errors.map((e: any) => e.path);
      t.ok(paths.includes('body/extra'));
      t.ok(paths.includes('body/scenarios'));
      const d = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(s.product.id, { test_scope: { regions: ['x'], max_users: 0, duration_months: 25 } }) });
      t.same(d.json().errors.map((e: any) => e.path).sort(), ['body/test_scope/duration_months', 'body/test_scope/max_users']);
    });

    t.test("the product must belong to the applicant's organization", async (t) => {
      const other = await s.makeProduct(s.otherApplicant.token);
      const r = await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(other.id) });
      t.equal(r.statusCode, 422);
      t.equal(r.json().code, 'rule_violation');
      t.match(r.json().detail, /product/);
    });

    t.test('only an applicant creates cases', async (t) => {
      t.equal((await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: R, payload: sandboxApplication(s.product.id) })).json().code, 'forbidden');
      t.equal((await ta.req({ method: 'POST', url: '/v1/sandbox-cases', payload: sandboxApplication(s.product.id) })).statusCode, 401);
    });

    t.test('PATCH replaces the application while draft, and is recorded; 409 after submission', async (t) => {
      const c = await s.create();
      const changed = sandboxApplication(s.product.id, { scenarios: ['elderly care robots'] });
      const r = await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${c.id}`, token: A, payload: changed, headers: { 'if-match': '"1"' } });
      t.equal(r.statusCode, 200, r.body);
      t.same(r.json().application.scenarios, ['elderly care robots']);
      t.equal(r.json().version, 2);
      const hist = await s.history(c.id);
      t.equal(hist.at(-1).type, 'REPLACE_APPLICATION');
      const stale = await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${c.id}`, token: A, payload: changed, headers: { 'if-match': '"1"' } });
      t.equal(stale.statusCode, 412);
      await s.must(c.id, A, 'SUBMIT');
      const late = await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${c.id}`, token: A, payload: changed });
      t.equal(late.statusCode, 409);
      t.equal(late.json().code, 'invalid_transition');
      t.equal(late.json().state, 'submitted');
      const other = await ta.req({ method: 'PATCH', url: `/v1/sandbox-cases/${c.id}`, token: s.otherApplicant.token, payload: changed });
      t.equal(other.statusCode, 404);
    });

    t.test("another organization's applicant and labs cannot see a case", async (t) => {
      const c = await s.create();
      const lab = await s.org({ kind: 'lab' });
      const labP = await s.principal('lab', lab.id);
      for (const token of [s.otherApplicant.token, labP.token]) {
        for (const url of [`/v1/sandbox-cases/${c.id}`, `/v1/sandbox-cases/${c.id}/events`, `/v1/sandbox-cases/${c.id}/allowed-events`]) {
          const r = await ta.req({ method: 'GET', url, token });
          t.equal(r.statusCode, 404, url);
          t.equal(r.json().code, 'not_found');
        }
        const f = await s.fire(c.id, token, 'SUBMIT');
        t.equal(f.statusCode, 404);
        const list = await ta.req({ method: 'GET', url: '/v1/sandbox-cases?limit=200', token });
        t.notOk(list.json().items.some((i: any) => i.id === c.id));
      }
      t.equal((await s.get(c.id)).state, 'draft', 'nothing changed');
    });

    t.test('each role refusal answers 403 and changes nothing', async (t) => {
      const refusals: Array<[string, string, string, unknown?]> = [
        ['draft', R, 'SUBMIT'],
        ['submitted', A, 'START_REVIEW'],
        ['under_review', A, 'ADMIT', s.admitPayload()],
        ['under_review', A, 'REJECT', { reason: 'x' }],
        ['under_review', A, 'REQUEST_INFO', { questions: ['q'], respond_by: s.iso(day) }],
        ['info_requested', R, 'PROVIDE_INFO', { answers: ['a'] }],
        ['info_requested', A, 'INFO_LAPSED'],
        ['info_requested', R, 'INFO_LAPSED'],
        ['admitted', R, 'START_TESTING'],
        ['testing', R, 'SUBMIT_REPORT', { period_start: s.iso(0), period_end: s.iso(day), summary: 's' }],
        ['testing', A, 'SUSPEND', { reason: 'x' }],
        ['testing', A, 'EXTEND', { new_end: s.iso(300 * day) }],
        ['testing', R, 'REQUEST_EXIT'],
        ['testing', A, 'PERIOD_ENDED'],
        ['testing', A, 'TERMINATE', { reason: 'x' }],
        ['suspended', A, 'REINSTATE'],
        ['exit_review', R, 'SUBMIT_EXIT_REPORT', { outcomes: 'o', lessons: 'l', compliance_statement: 'c' }],
        ['exit_review', A, 'CONCLUDE', { outcome: 'graduated' }],
        ['submitted', R, 'WITHDRAW'],
      ];
      for (const [state, token, type, payload] of refusals) {
        const c = await s.caseIn(state);
        const before = await s.get(c.id);
        const r = await s.fire(c.id, token, type, payload);
        t.equal(r.statusCode, 403, `${type} by ${token === A ? 'applicant' : 'regulator'} in ${state}`);
        t.equal(r.json().code, 'forbidden');
        const after = await s.get(c.id);
        t.equal(after.version, before.version);
        t.equal((await s.history(c.id)).length, before.version);
      }
    });

    t.test('an event not allowed in the state answers 409 with state and allowed_events', async (t) => {
      const c = await s.caseIn('draft');
      const r = await s.fire(c.id, R, 'ADMIT', s.admitPayload());
      t.equal(r.statusCode, 409);
      t.match(r.json(), { code: 'invalid_transition', state: 'draft', allowed_events: [] });
      const a = await s.fire(c.id, A, 'START_TESTING');
      t.equal(a.statusCode, 409);
      t.same(a.json().allowed_events.sort(), ['SUBMIT', 'WITHDRAW']);
    });

    t.test('each rule answers 422 naming it, and stores nothing', async (t) => {
      const cases: Array<[string, string, string, unknown, RegExp]> = [
        ['under_review', R, 'REQUEST_INFO', { questions: ['q'], respond_by: s.iso(-day) }, /future/],
        ['under_review', R, 'ADMIT', { conditions: ['c'], testing_period: { start: s.iso(day), end: s.iso(800 * day) } }, /24 months/],
        ['under_review', R, 'ADMIT', { conditions: ['c'], testing_period: { start: s.iso(10 * day), end: s.iso(day) } }, /after/],
        ['testing', R, 'EXTEND', { new_end: s.iso(10 * day) }, /later than the current end/],
        ['testing', R, 'EXTEND', { new_end: s.iso(1200 * day) }, /36 months/],
        ['exit_review', R, 'CONCLUDE', { outcome: 'graduated' }, /exit report/],
        ['testing', A, 'SUBMIT_REPORT', { period_start: s.iso(10 * day), period_end: s.iso(day), summary: 's' }, /period_end/],
      ];
      for (const [state, token, type, payload, detail] of cases) {
        const c = await s.caseIn(state);
        const r = await s.fire(c.id, token, type, payload);
        t.equal(r.statusCode, 422, `${type}: ${r.body}`);
        t.equal(r.json().code, 'rule_violation');
        t.match(r.json().detail, detail);
        t.ok(r.json().rule);
        t.equal((await s.get(c.id)).state, state);
      }
    });

    t.test('ADMIT needs at least one condition (schema)', async (t) => {
      const c = await s.caseIn('under_review');
      const r = await s.fire(c.id, R, 'ADMIT', { conditions: [], testing_period: s.admitPayload().testing_period });
      t.equal(r.statusCode, 400);
      t.same(r.json().errors.map((e: any) => e.path), ['body/payload/conditions']);
    });

    t.test('a payload for an event that takes none, or a missing payload, is refused', async (t) => {
      const c = await s.caseIn('draft');
      t.equal((await s.fire(c.id, A, 'SUBMIT', { note: 'x' })).statusCode, 400);
      const u = await s.caseIn('under_review');
      const r = await s.fire(u.id, R, 'REJECT');
      t.equal(r.statusCode, 400);
      t.same(r.json().errors.map((e: any) => e.path), ['body/payload/reason']);
      t.equal((await s.fire(c.id, A, 'NOT_AN_EVENT')).statusCode, 400);
      t.equal((await s.fire(c.id, A, 'REPLACE_APPLICATION', {})).statusCode, 400, 'internal events are not fired through /events');
    });

    t.test('extensions: at most two', async (t) => {
      const c = await s.caseIn('testing');
      await s.must(c.id, R, 'EXTEND', { new_end: s.iso(200 * day) });
      await s.must(c.id, R, 'EXTEND', { new_end: s.iso(220 * day) });
      const r = await s.fire(c.id, R, 'EXTEND', { new_end: s.iso(240 * day) });
      t.equal(r.statusCode, 422);
      t.match(r.json().detail, /at most 2/);
      const got = await s.get(c.id);
      t.equal(got.record.testing_period.end, s.iso(220 * day));
      t.equal(got.deadlines.testing_ends_at, s.iso(220 * day), 'the deadline follows the extension');
    });

    t.test('a critical incident suspends; a minor one does not', async (t) => {
      const c = await s.caseIn('testing');
      await s.must(c.id, A, 'REPORT_INCIDENT', { severity: 'minor', occurred_at: s.iso(0), description: 'sensor glitch' });
      t.equal((await s.get(c.id)).state, 'testing');
      const r = await s.must(c.id, R, 'REPORT_INCIDENT', { severity: 'critical', occurred_at: s.iso(0), description: 'collision' });
      t.equal(r.case.state, 'suspended');
      t.equal(r.event.actor.role, 'regulator');
      t.same(r.case.record.incidents, { count: 2, latest_at: r.event.at });
      t.same(r.case.record.suspensions, { count: 1, latest_at: r.event.at }, 'the critical one, not the minor one, suspended');
      t.match(r.case.record.suspension, { seq: r.event.seq, reason: 'critical incident: collision', at: r.event.at, by: 'regulator' });
      t.same(
        (await s.history(c.id)).filter((e) => e.type === 'REPORT_INCIDENT').map((e) => [e.payload.severity, e.payload.description, e.actor.role]),
        [['minor', 'sensor glitch', 'applicant'], ['critical', 'collision', 'regulator']],
        'both incidents are in the history',
      );
      const back = await s.must(c.id, R, 'REINSTATE');
      t.equal((await s.get(c.id)).state, 'testing');
      t.equal(back.case.record.suspension.reinstated_at, back.event.at, 'the latest suspension was lifted');
    });

    t.test('every final state refuses further events', async (t) => {
      const finals: Array<[string, Array<[string, string, unknown?]>]> = [
        ['withdrawn', [[A, 'WITHDRAW']]],
        ['rejected', [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'REJECT', { reason: 'not ready' }]]],
        ['lapsed', [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'REQUEST_INFO', { questions: ['q'], respond_by: s.iso(day) }]]],
        ['terminated', [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', s.admitPayload()], [R, 'TERMINATE', { reason: 'misconduct' }]]],
        ['exited', [[A, 'SUBMIT'], [R, 'START_REVIEW'], [R, 'ADMIT', s.admitPayload()], [A, 'START_TESTING'], [A, 'REQUEST_EXIT'], [A, 'SUBMIT_EXIT_REPORT', { outcomes: 'o', lessons: 'l', compliance_statement: 'c' }], [R, 'CONCLUDE', { outcome: 'graduated' }]]],
      ];
      const { workflowByKind } = await import('../../workflows/index.js');
      const { fireEvent } = await import('../../src/cases/fire.js');
      const { SYSTEM_CALLER } = await import('../../src/engine/caller.js');
      for (const [final, steps] of finals) {
        const c = await s.create();
        for (const [token, type, payload] of steps) await s.must(c.id, token, type, payload);
        if (final === 'lapsed') {
          const payload = { deadline: 'respond_by', due_at: (await s.get(c.id)).deadlines.respond_by };
          await fireEvent(ta.app.engine, workflowByKind.get('sandbox-cases')!, SYSTEM_CALLER, c.id, { type: 'INFO_LAPSED', payload });
        }
        t.equal((await s.get(c.id)).state, final);
        for (const [token, type] of [[A, 'SUBMIT'], [A, 'WITHDRAW'], [R, 'START_REVIEW'], [R, 'TERMINATE']] as const) {
          const r = await s.fire(c.id, token, type, type === 'TERMINATE' ? { reason: 'x' } : undefined);
          t.equal(r.statusCode, 409, `${final} refuses ${type}`);
        }
        const allowed = await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}/allowed-events`, token: R });
        t.same(allowed.json(), { state: final, events: [] });
      }
    });

    t.test('allowed-events depends on state and role', async (t) => {
      const c = await s.caseIn('testing');
      const a = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}/allowed-events`, token: A })).json();
      t.same(a.events.sort(), ['REPORT_INCIDENT', 'REQUEST_EXIT', 'SUBMIT_REPORT']);
      const r = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${c.id}/allowed-events`, token: R })).json();
      t.same(r.events.sort(), ['EXTEND', 'REPORT_INCIDENT', 'SUSPEND', 'TERMINATE']);
    });

    t.test('deadlines: respond_by, testing start and end are recorded', async (t) => {
      const i = await s.caseIn('info_requested');
      t.ok((await s.get(i.id)).deadlines.respond_by);
      const a = await s.caseIn('admitted');
      const got = await s.get(a.id);
      t.ok(got.deadlines.testing_starts_at);
      t.ok(got.deadlines.testing_ends_at);
      const rows = await ta.app.db.selectFrom('deadlines').selectAll().where('case_id', '=', a.id).execute();
      t.same(rows.map((r) => r.event_type), ['START_TESTING']);
    });

    t.test('stale If-Match gives 412 and changes nothing; the right one passes', async (t) => {
      const c = await s.caseIn('submitted');
      const r = await s.fire(c.id, R, 'START_REVIEW', undefined, { 'if-match': '"1"' });
      t.equal(r.statusCode, 412);
      t.equal(r.json().code, 'version_mismatch');
      const ok = await s.fire(c.id, R, 'START_REVIEW', undefined, { 'if-match': '"2"' });
      t.equal(ok.statusCode, 200);
      const bad = await s.fire(c.id, R, 'REJECT', { reason: 'x' }, { 'if-match': 'banana' });
      t.equal(bad.statusCode, 400);
    });

    t.test('an event with an Idempotency-Key is applied once', async (t) => {
      const c = await s.caseIn('testing');
      ta.clock.advance(day);
      const payload = { period_start: s.iso(-day), period_end: s.iso(0), summary: 'weekly' };
      const one = await s.fire(c.id, A, 'SUBMIT_REPORT', payload, { 'idempotency-key': `k-${c.id}` });
      const two = await s.fire(c.id, A, 'SUBMIT_REPORT', payload, { 'idempotency-key': `k-${c.id}` });
      t.equal(one.statusCode, 200);
      t.equal(two.statusCode, 200);
      t.equal(two.headers['idempotent-replayed'], 'true');
      t.same(two.json(), one.json());
      t.equal((await s.get(c.id)).record.reports.count, 1);
      t.equal((await s.history(c.id)).filter((e) => e.type === 'SUBMIT_REPORT').length, 1, 'one report in the history');
      const other = await s.fire(c.id, A, 'SUBMIT_REPORT', { ...payload, summary: 'other' }, { 'idempotency-key': `k-${c.id}` });
      t.equal(other.statusCode, 422);
      t.equal(other.json().code, 'idempotency_conflict');
    });

    t.test('lists filter by state, organization and product, in keyset pages', async (t) => {
      const p2 = await s.makeProduct(A);
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await s.create(A, sandboxApplication(p2.id)));
      await s.must(made[0].id, A, 'SUBMIT');
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/sandbox-cases?product_id=${p2.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await ta.req({ method: 'GET', url, token: A })).json();
        t.ok(page.items.length <= 2);
        seen.push(...page.items.map((i: any) => i.id));
        cursor = page.next_cursor;
      } while (cursor);
      t.equal(new Set(seen).size, seen.length, 'no case twice');
      t.same([...seen].sort(), made.map((m) => m.id).sort(), 'every case once');
      const submitted = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases?product_id=${p2.id}&state=submitted`, token: R })).json();
      t.same(submitted.items.map((i: any) => i.id), [made[0].id]);
      const otherOrg = (await ta.req({ method: 'GET', url: `/v1/sandbox-cases?organization_id=${s.otherOrg.id}`, token: A })).json();
      t.same(otherOrg.items, []);
      const badCursor = await ta.req({ method: 'GET', url: '/v1/sandbox-cases?cursor=nonsense', token: A });
      t.equal(badCursor.statusCode, 400);
      const badState = await ta.req({ method: 'GET', url: '/v1/sandbox-cases?state=flying', token: A });
      t.equal(badState.statusCode, 400);
    });

    t.test('the history is hash-chained, oldest first, with actors', async (t) => {
      const c = await s.caseIn('testing');
      const h = await s.history(c.id);
      t.same(h.map((e) => e.type), ['CASE_CREATED', 'SUBMIT', 'START_REVIEW', 'ADMIT', 'START_TESTING']);
      t.same(h.map((e) => e.seq), [1, 2, 3, 4, 5]);
      t.equal(h[0].prev_hash, '0'.repeat(64));
      for (let i = 1; i < h.length; i++) t.equal(h[i].prev_hash, h[i - 1].hash);
      t.equal(h[3].actor.role, 'regulator');
      t.equal(h[3].actor.principal_id, s.regulator.id);
      t.equal(h[3].from_state, 'under_review');
      t.equal(h[3].to_state, 'admitted');
    });

    t.test('the public register lists admitted and later cases only, without private fields', async (t) => {
      const draft = await s.caseIn('submitted');
      const testing = await s.caseIn('testing');
      const reg = (await ta.req({ method: 'GET', url: '/v1/register/sandbox?limit=200' })).json();
      const numbers = reg.items.map((i: any) => i.number);
      t.ok(numbers.includes(testing.number));
      t.notOk(numbers.includes(draft.number));
      const item = reg.items.find((i: any) => i.number === testing.number);
      t.same(Object.keys(item).sort(), ['number', 'organization', 'product', 'state', 'testing_period']);
      t.same(Object.keys(item.organization), ['name']);
      t.same(Object.keys(item.product), ['name']);
      t.equal(item.organization.name, s.applicantOrg.name);
    });

    t.test('audit verify is ok after all of the above', async (t) => {
      const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R });
      t.equal(v.statusCode, 200);
      t.equal(v.json().ok, true, JSON.stringify(v.json().failures));
      t.ok(v.json().cases_checked > 10);
      t.equal((await ta.req({ method: 'GET', url: '/v1/audit/verify', token: A })).statusCode, 403);
    });
  });
});
