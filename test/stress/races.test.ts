import t from 'tap';
import { buildTestApp, openTestDatabase, testDatabaseUrl, type TestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { judgeRace } from './race-outcome.js';

// 24 concurrent conflicting decisions on one case, TRIALS times for each pair: exactly one wins,
// the others are told 409 (the state moved on) or 412 (their If-Match is stale), nothing is 5xx,
// and the history holds the winner's event and no other decision.
const TRIALS = Number(process.env.STRESS_TRIALS ?? 50);
const RACERS = 24;
const REPORT_TRIALS = TRIALS;

if (!testDatabaseUrl()) {
  t.plan(0, 'skipped: the races need PostgreSQL (the embedded database serialises every statement on one connection); set DATABASE_URL to run them');
} else {
  const database = await openTestDatabase({ poolSize: 16 });
  t.teardown(() => database.close());
  const ta = await buildTestApp(t, { database });
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety']);
  const robot = await c.robot();
  const A = c.applicant.token as string;
  const R = c.regulator.token as string;
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ta.clock.now().getTime() + ms).toISOString();

  const ok = async (r: Awaited<ReturnType<TestApp['req']>>, what: string) => {
    if (r.statusCode !== 200 && r.statusCode !== 201) throw new Error(`${what}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const fire = (kind: string, id: string, token: string, type: string, payload?: unknown, headers: Record<string, string> = {}) =>
    ta.req({
      method: 'POST',
      url: `/v1/${kind}/${id}/events`,
      token,
      headers,
      payload: (payload === undefined ? { type } : { type, payload }) as never,
    });
  const must = async (kind: string, id: string, token: string, type: string, payload?: unknown) =>
    ok(await fire(kind, id, token, type, payload), type);
  /** Runs `make` n times, `width` at a time. */
  const many = async <T>(n: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (let i = 0; i < n; i += width)
      out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => make(i + j)))));
    return out;
  };

  const underReview = async () => {
    const created = await ok(
      await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(robot.id) }),
      'create',
    );
    await must('sandbox-cases', created.id, A, 'SUBMIT');
    await must('sandbox-cases', created.id, R, 'START_REVIEW');
    return created.id as string;
  };
  const testing = async () => {
    const id = await underReview();
    await must('sandbox-cases', id, R, 'ADMIT', {
      conditions: ['weekly reports'],
      testing_period: { start: iso(-day), end: iso(90 * day) },
    });
    await must('sandbox-cases', id, A, 'START_TESTING');
    return id;
  };
  const resultsPosted = () => c.toResultsPosted({ product: robot, scheme: 'robot-safety', lab });
  const certified = async () => {
    const id = await resultsPosted();
    await must('certification-cases', id, R, 'CERTIFY');
    return id;
  };

  const began = Date.now();
  const [sandboxCases, resultCases, certifiedCases, testingCases] = await Promise.all([
    many(TRIALS, 4, underReview),
    many(TRIALS, 4, resultsPosted),
    many(TRIALS, 4, certified),
    many(REPORT_TRIALS, 4, testing),
  ]);
  t.comment(`prepared ${TRIALS * 3 + REPORT_TRIALS} cases in ${Date.now() - began} ms`);

  // `ifMatchEvery`: how many racers send If-Match. REVOKE is legal after SUSPEND too, so for that pair
  // every racer names the version it read: a decision taken on a state that has moved on must not apply.
  type Race = { name: string; kind: string; ids: string[]; events: Array<[string, unknown?]>; decisions: string[]; ifMatchEvery: number };
  const races: Race[] = [
    {
      name: 'ADMIT vs REJECT (sandbox)',
      kind: 'sandbox-cases',
      ids: sandboxCases,
      events: [
        ['ADMIT', { conditions: ['c'], testing_period: { start: iso(day), end: iso(60 * day) } }],
        ['REJECT', { reason: 'not ready' }],
      ],
      decisions: ['ADMIT', 'REJECT'],
      ifMatchEvery: 3,
    },
    {
      name: 'CERTIFY vs DENY (certification)',
      kind: 'certification-cases',
      ids: resultCases,
      events: [['CERTIFY'], ['DENY', { reason: 'insufficient evidence' }]],
      decisions: ['CERTIFY', 'DENY'],
      ifMatchEvery: 3,
    },
    {
      name: 'SUSPEND vs REVOKE (certification)',
      kind: 'certification-cases',
      ids: certifiedCases,
      events: [
        ['SUSPEND', { reason: 'surveillance finding' }],
        ['REVOKE', { reason: 'fraud' }],
      ],
      decisions: ['SUSPEND', 'REVOKE'],
      ifMatchEvery: 1,
    },
  ];

  for (const race of races) {
    t.test(`${race.name}: ${TRIALS} trials of ${RACERS} concurrent decisions, exactly one winner each`, async (t) => {
      const problems: string[] = [];
      const tally: Record<string, number> = {};
      const started = Date.now();
      await many(TRIALS, 2, async (trial) => {
        const id = race.ids[trial]!;
        const before = await ok(await ta.req({ method: 'GET', url: `/v1/${race.kind}/${id}`, token: R }), 'get');
        // Some racers (or all) name the version they read, as a careful client does.
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => {
            const [type, payload] = race.events[i % 2]!;
            return fire(race.kind, id, R, type, payload, i % race.ifMatchEvery === 0 ? { 'if-match': `"${before.version}"` } : {});
          }),
        );
        const winners = judgeRace(results, trial, tally, problems);
        const history = (await ok(await ta.req({ method: 'GET', url: `/v1/${race.kind}/${id}/events`, token: R }), 'history'))
          .items as Array<{ seq: number; type: string; hash: string; to_state: string }>;
        const decisions = history.filter((e) => race.decisions.includes(e.type));
        const winner = winners[0]?.json();
        if (decisions.length !== 1) problems.push(`trial ${trial}: ${decisions.length} decisions in the history`);
        else if (winner && (decisions[0]!.hash !== winner.event.hash || decisions[0]!.seq !== before.version + 1))
          problems.push(`trial ${trial}: the history's decision is not the winner's`);
        if (history.some((e, i) => e.seq !== i + 1)) problems.push(`trial ${trial}: history sequence has a gap`);
        const after = await ok(await ta.req({ method: 'GET', url: `/v1/${race.kind}/${id}`, token: R }), 'get');
        if (after.version !== before.version + 1 || after.version !== history.length)
          problems.push(`trial ${trial}: version ${before.version} → ${after.version}, ${history.length} events`);
        if (winner && after.state !== winner.case.state)
          problems.push(`trial ${trial}: state ${after.state}, the winner left ${winner.case.state}`);
      });
      t.comment(`${TRIALS * RACERS} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(tally)}`);
      t.same(problems, [], 'one winner per trial; every loser 409 or 412; history holds exactly the winning decision');
      t.notOk(
        Object.keys(tally).some((s) => Number(s) >= 500),
        'no 5xx',
      );
    });
  }

  t.test(`concurrent reports on one case are all kept (${REPORT_TRIALS} trials of ${RACERS})`, async (t) => {
    const problems: string[] = [];
    for (const id of testingCases) {
      const before = await ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}`, token: R }), 'get');
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) =>
          fire('sandbox-cases', id, A, 'SUBMIT_REPORT', { period_start: iso(-day), period_end: iso(0), summary: `report ${i}` }),
        ),
      );
      const bad = results.filter((r) => r.statusCode !== 200);
      if (bad.length) problems.push(`${id}: ${bad.map((r) => `${r.statusCode} ${r.body.slice(0, 100)}`).join('; ')}`);
      const after = await ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}`, token: R }), 'get');
      if (after.record.reports.count !== before.record.reports.count + RACERS)
        problems.push(`${id}: the record counts ${after.record.reports.count - before.record.reports.count} new reports of ${RACERS}`);
      if (after.version !== before.version + RACERS) problems.push(`${id}: version ${before.version} → ${after.version}`);
      const versions = results.map((r) => r.json().case.version as number).sort((a, b) => a - b);
      if (versions.some((v, i) => v !== before.version + 1 + i)) problems.push(`${id}: versions ${versions.join(',')}`);
      const history = (await ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}/events`, token: R }), 'history'))
        .items as Array<{ seq: number; type: string; payload: { summary?: string } }>;
      const summaries = new Set(history.filter((e) => e.type === 'SUBMIT_REPORT').map((e) => e.payload.summary));
      if (summaries.size !== RACERS) problems.push(`${id}: ${summaries.size} distinct reports kept of ${RACERS}`);
      if (history.filter((e) => e.type === 'SUBMIT_REPORT').length !== RACERS || history.some((e, i) => e.seq !== i + 1))
        problems.push(`${id}: history of ${history.length} events is not gap-free with ${RACERS} reports`);
    }
    t.same(problems, [], 'every report kept, each in its own version, the history gap-free');
  });

  t.test('the audit verifies after all the races', async (t) => {
    const v = await ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R }), 'verify');
    t.equal(v.ok, true, JSON.stringify(v.failures?.slice(0, 5)));
    t.ok(v.cases_checked >= TRIALS * 3, `${v.cases_checked} cases, ${v.events_checked} events checked`);
  });
}
