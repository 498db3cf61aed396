import t from 'tap';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, RootOperationNode } from 'kysely';
import { buildTestApp, openTestDatabase } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { judgeRace } from './race-outcome.js';

// Concurrent conflicting decisions sent to ONE instance, on either database (races.test.ts needs
// PostgreSQL and several connections). Events without facts queue in the batcher, one per case at
// a time; CERTIFY reads the registry and runs in its own transaction beside that queue, so a DENY
// read before a CERTIFY commits is only stopped by the version condition of the single-event
// write. Exactly one decision wins; the others are 409 or 412; the history holds only the winner's.
//
// The embedded database answers within the turn of the event loop that asked (it runs in this
// thread), so each request would run to its end before the next one starts and nothing would race.
// There every answer is handed back one turn later, as a server's over a socket is: the requests
// then interleave between their statements as they do on PostgreSQL (measured: without this, the
// version condition removed from the write went unnoticed on the embedded database).
const TRIALS = Number(process.env.STRESS_TRIALS ?? 4);
const RACERS = 20;
const DAY = 86_400_000;

class AnswerNextTurn implements KyselyPlugin {
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    return node;
  }
  async transformResult({ result }: PluginTransformResultArgs) {
    await new Promise((resolve) => setImmediate(resolve));
    return result;
  }
}

t.test(`${RACERS} concurrent conflicting decisions on one case, one instance`, async (t) => {
  const database = await openTestDatabase();
  t.teardown(() => database.close());
  const ta = await buildTestApp(t, { database: database.embedded ? { ...database, db: database.db.withPlugin(new AnswerNextTurn()) } : database });
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety']);
  const robot = await c.robot();
  const A = c.applicant.token as string;
  const R = c.regulator.token as string;
  const iso = (ms: number) => new Date(ta.clock.now().getTime() + ms).toISOString();
  const fire = (kind: string, id: string, token: string, type: string, payload?: unknown, headers: Record<string, string> = {}) =>
    ta.req({ method: 'POST', url: `/v1/${kind}/${id}/events`, token, headers, payload: (payload === undefined ? { type } : { type, payload }) as never });
  const get = async (url: string) => c.ok(await ta.req({ method: 'GET', url, token: R }));

  const underReview = async () => {
    const created = c.ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: A, payload: sandboxApplication(robot.id) }), 201);
    c.ok(await fire('sandbox-cases', created.id, A, 'SUBMIT'));
    c.ok(await fire('sandbox-cases', created.id, R, 'START_REVIEW'));
    return created.id as string;
  };

  const races = [
    {
      name: 'ADMIT vs REJECT (sandbox: both queue in the batcher)',
      kind: 'sandbox-cases',
      make: underReview,
      events: [
        ['ADMIT', { conditions: ['monthly reports'], testing_period: { start: iso(DAY), end: iso(60 * DAY) } }],
        ['REJECT', { reason: 'not ready' }],
      ] as Array<[string, unknown?]>,
    },
    {
      name: 'CERTIFY vs DENY (certification: a transaction beside the batcher)',
      kind: 'certification-cases',
      make: () => c.toResultsPosted({ product: robot, scheme: 'robot-safety', lab }),
      events: [['CERTIFY'], ['DENY', { reason: 'insufficient evidence' }]] as Array<[string, unknown?]>,
    },
  ];

  for (const race of races) {
    t.test(`${race.name}: ${TRIALS} trials`, async (t) => {
      const problems: string[] = [];
      const tally: Record<string, number> = {};
      for (let trial = 0; trial < TRIALS; trial++) {
        const id = await race.make();
        const before = await get(`/v1/${race.kind}/${id}`);
        // Every third racer names the version it read, as a careful client does. Which decision is
        // sent first alternates: a DENY read just before a CERTIFY commits is what the version
        // condition decides, and the embedded database takes requests in the order sent.
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => {
            const [type, payload] = race.events[(i + trial) % race.events.length]!;
            return fire(race.kind, id, R, type, payload, i % 3 === 0 ? { 'if-match': `"${before.version}"` } : {});
          }),
        );
        const winners = judgeRace(results, trial, tally, problems);
        const history = (await get(`/v1/${race.kind}/${id}/events`)).items as Array<{ seq: number; type: string; hash: string; prev_hash: string }>;
        const decisions = history.filter((e) => race.events.some(([type]) => type === e.type));
        if (decisions.length !== 1) problems.push(`trial ${trial}: ${decisions.length} decisions in the history`);
        else if (winners.length === 1 && (decisions[0]!.hash !== winners[0]!.json().event.hash || decisions[0]!.seq !== before.version + 1))
          problems.push(`trial ${trial}: the history's decision is not the winner's`);
        if (history.some((e, i) => e.seq !== i + 1 || (i > 0 && e.prev_hash !== history[i - 1]!.hash))) problems.push(`trial ${trial}: the history is not one gap-free chain`);
        const after = await get(`/v1/${race.kind}/${id}`);
        if (after.version !== before.version + 1 || after.version !== history.length) problems.push(`trial ${trial}: version ${before.version} → ${after.version}, ${history.length} events`);
      }
      t.comment(`statuses ${JSON.stringify(tally)}`);
      t.same(problems, [], 'one winner per trial; every loser 409 or 412; the history holds exactly the winning decision');
    });
  }

  t.test('the audit verifies after the races', async (t) => {
    const v = await get('/v1/audit/verify');
    t.same(v.failures, []);
    t.equal(v.ok, true);
  });
});
