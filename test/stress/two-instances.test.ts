import t from 'tap';
import { sql } from '../../src/db/kysely.js';
import { TestClock, buildTestApp, openSameDatabase, openTestDatabase, testDatabaseUrl, type TestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';

// Two instances of the service on one PostgreSQL database, each with its scheduler sweeping every
// 50 ms, serve interleaved creations, events on the same cases, reads and deadlines. The same
// guarantees as one instance: no acknowledged event lost, none duplicated, gap-free histories and
// numbers, each deadline fired once, the audit verifies.
const N = Number(process.env.STRESS_CASES ?? 120);
const CERTS = Math.max(2, Math.round(N / 4));
const DAY = 86_400_000;

if (!testDatabaseUrl()) {
  t.plan(0, 'skipped: two instances need PostgreSQL (the embedded database is one connection of one process); set DATABASE_URL to run it');
} else {
  const database = await openTestDatabase({ poolSize: 10 });
  t.teardown(() => database.close());
  const clock = new TestClock();
  const T0 = clock.ms;
  const env = { SCHEDULER_INTERVAL_MS: '50' };
  const a = await buildTestApp(t, { database, clock, env });
  const second = await openSameDatabase(database, { poolSize: 10 });
  t.teardown(() => second.close());
  const b = await buildTestApp(t, { database: second, clock, env });
  const via = (i: number): TestApp => (i % 2 === 0 ? a : b);

  const c = await certificationCast(a);
  const lab = await c.lab(['robot-safety'], new Date(T0 + 5 * 365 * DAY).toISOString());
  const robot = await c.robot();
  const A = c.applicant.token as string;
  const R = c.regulator.token as string;
  const iso = (ms: number) => new Date(ms).toISOString();

  type Ack = { kind: string; case_id: string; seq: number; hash: string; type: string };
  const acknowledged: Ack[] = [];
  const fiveHundreds: string[] = [];
  const send = async (inst: TestApp, o: Parameters<TestApp['req']>[0]) => {
    const r = await inst.req(o);
    if (r.statusCode >= 500) fiveHundreds.push(`${o.method} ${o.url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return r;
  };
  const fire = async (inst: TestApp, kind: string, id: string, token: string, type: string, payload?: unknown) => {
    const r = await send(inst, {
      method: 'POST',
      url: `/v1/${kind}/${id}/events`,
      token,
      payload: (payload === undefined ? { type } : { type, payload }) as never,
    });
    if (r.statusCode === 200) acknowledged.push({ kind, case_id: id, seq: r.json().event.seq, hash: r.json().event.hash, type });
    return r;
  };
  const must = async (inst: TestApp, kind: string, id: string, token: string, type: string, payload?: unknown) => {
    const r = await fire(inst, kind, id, token, type, payload);
    if (r.statusCode !== 200) throw new Error(`${type}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const reads = (i: number, kind: string, id: string) =>
    Promise.all([
      send(via(i + 1), { method: 'GET', url: `/v1/${kind}/${id}`, token: R }),
      send(via(i), { method: 'GET', url: `/v1/${kind}/${id}/events`, token: A }),
      send(via(i + 1), { method: 'GET', url: `/v1/${kind}?limit=20`, token: A }),
      send(via(i), { method: 'GET', url: '/v1/register/sandbox?limit=20' }),
    ]);
  const many = async <T>(n: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (let i = 0; i < n; i += width)
      out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => make(i + j)))));
    return out;
  };
  const db = database.db;
  const count = async (q: ReturnType<typeof sql<{ n: string }>>) => Number((await q.execute(db)).rows[0]!.n);
  const dueNow = () => count(sql<{ n: string }>`select count(*)::text as n from deadlines where due_at <= ${clock.now()}`);
  const settle = async (what: string) => {
    const until = Date.now() + 60_000;
    while ((await dueNow()) > 0) {
      if (Date.now() > until) throw new Error(`deadlines still due after 60 s (${what})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Each instance sweeps at least twice more, so that a duplicate firing would have had its chance.
    const sweeps = () => [a, b].map((x) => (x.app.readiness() as { scheduler: { sweeps: number } }).scheduler.sweeps);
    const seen = sweeps();
    while (!sweeps().every((n, i) => n >= seen[i]! + 2)) await new Promise((r) => setTimeout(r, 20));
  };
  const perCase = async (type: string) =>
    new Map(
      (
        await sql<{
          case_id: string;
          n: string;
        }>`select case_id, count(*)::text as n from audit_events where type = ${type} group by case_id`.execute(db)
      ).rows.map((r) => [r.case_id, Number(r.n)]),
    );

  const S = 'sandbox-cases';
  const began = Date.now();
  const sandbox: string[] = await many(N, 8, async (i) => {
    const r = await send(via(i), { method: 'POST', url: `/v1/${S}`, token: A, payload: sandboxApplication(robot.id) });
    if (r.statusCode !== 201) throw new Error(`create: ${r.body}`);
    return r.json().id as string;
  });
  const admitted: string[] = [];
  const infoRequested: string[] = [];
  const raced: string[] = [];
  const admitPayload = { conditions: ['monthly reports'], testing_period: { start: iso(T0 + DAY), end: iso(T0 + 30 * DAY) } };

  t.test('creations and events on the same cases through both instances', async (t) => {
    await many(N, 8, async (i) => {
      const id = sandbox[i]!;
      await must(via(i), S, id, A, 'SUBMIT');
      await Promise.all([must(via(i + 1), S, id, R, 'START_REVIEW'), reads(i, S, id)]);
      if (i % 4 === 0) {
        // The same decision taken at once on the two instances: one wins.
        const [x, y] = await Promise.all([fire(a, S, id, R, 'ADMIT', admitPayload), fire(b, S, id, R, 'REJECT', { reason: 'incomplete' })]);
        t.same([x.statusCode, y.statusCode].sort(), [200, 409], `case ${i}: ADMIT on A vs REJECT on B, one winner`);
        if (x.statusCode === 200) admitted.push(id);
        raced.push(id);
      } else if (i % 4 === 1) {
        await must(via(i), S, id, R, 'REQUEST_INFO', { questions: ['Which hospitals?'], respond_by: iso(T0 + DAY) });
        infoRequested.push(id);
      } else {
        await must(via(i), S, id, R, 'ADMIT', admitPayload);
        admitted.push(id);
      }
      await reads(i + 1, S, id);
    });
    const numbers = (await sql<{ number: string }>`select number from cases where kind = ${S} order by number`.execute(db)).rows.map((r) =>
      Number(r.number.slice(-6)),
    );
    t.same(
      numbers,
      Array.from({ length: N }, (_, i) => i + 1),
      `case numbers 1…${N}, gap-free, no duplicate`,
    );
  });

  const certified: string[] = [];
  t.test('certificates issued through both instances', async (t) => {
    certified.push(
      ...(await many(CERTS, 4, async (i) => {
        const inst = via(i);
        const r = await send(inst, {
          method: 'POST',
          url: '/v1/certification-cases',
          token: A,
          payload: { product_id: robot.id, scheme: 'robot-safety', declared_scope: 'the cobot' },
        });
        const id = r.json().id as string;
        await must(via(i + 1), 'certification-cases', id, A, 'SUBMIT');
        await must(inst, 'certification-cases', id, R, 'ASSIGN_LAB', { lab_id: lab.org.id });
        await must(via(i + 1), 'certification-cases', id, lab.token, 'ACCEPT_ASSIGNMENT');
        await must(inst, 'certification-cases', id, lab.token, 'POST_RESULTS', await c.results('robot-safety'));
        await must(via(i + 1), 'certification-cases', id, R, 'CERTIFY');
        return id;
      })),
    );
    const numbers = (
      await sql<{
        n: string;
      }>`select record->'certificate'->>'number' as n from cases where kind = 'certification-cases' order by 1`.execute(db)
    ).rows.map((r) => Number(r.n.slice(-6)));
    t.same(
      numbers,
      Array.from({ length: CERTS }, (_, i) => i + 1),
      'certificate numbers gap-free',
    );
  });

  t.test('deadlines fall due while applicants act on the same cases: each fires once', async (t) => {
    clock.set(new Date(T0 + DAY + 60_000));
    // The applicant starts half the tests and answers half the questions itself, racing the schedulers.
    await Promise.all([
      ...admitted.filter((_, i) => i % 2 === 0).map((id, i) => fire(via(i), S, id, A, 'START_TESTING')),
      ...infoRequested
        .filter((_, i) => i % 2 === 0)
        .map((id, i) => fire(via(i), S, id, A, 'PROVIDE_INFO', { answers: ['Shenzhen People’s Hospital'] })),
    ]);
    await settle('testing start and info');
    const started = await perCase('START_TESTING');
    t.same(
      admitted.filter((id) => started.get(id) !== 1),
      [],
      `START_TESTING exactly once on each of ${admitted.length} admitted cases`,
    );
    const lapsed = await perCase('INFO_LAPSED');
    const answered = await perCase('PROVIDE_INFO');
    t.same(
      infoRequested.filter((id) => (lapsed.get(id) ?? 0) + (answered.get(id) ?? 0) !== 1),
      [],
      'each information request lapsed or was answered, once',
    );
  });

  t.test('reports through both instances at once are all kept', async (t) => {
    const per = 6;
    const results = await Promise.all(
      admitted.flatMap((id) =>
        Array.from({ length: per }, (_, j) =>
          fire(via(j), S, id, A, 'SUBMIT_REPORT', { period_start: iso(T0 + DAY), period_end: iso(T0 + DAY + 60_000), summary: `report ${j}` }),
        ),
      ),
    );
    t.equal(results.filter((r) => r.statusCode === 200).length, admitted.length * per, 'every report accepted');
    const kept = await perCase('SUBMIT_REPORT');
    t.same(
      admitted.filter((id) => kept.get(id) !== per),
      [],
      `${per} reports kept on every case`,
    );
  });

  t.test('the testing period ends while reports arrive: PERIOD_ENDED once, every acknowledged report kept', async (t) => {
    clock.set(new Date(T0 + 30 * DAY + 60_000));
    const results = await Promise.all(
      admitted.flatMap((id) =>
        [0, 1].map((j) =>
          fire(via(j), S, id, A, 'SUBMIT_REPORT', {
            period_start: iso(T0 + 2 * DAY),
            period_end: iso(T0 + 3 * DAY),
            summary: `late report ${j}`,
          }),
        ),
      ),
    );
    t.ok(
      results.every((r) => r.statusCode === 200 || (r.statusCode === 409 && r.json().code === 'invalid_transition')),
      'each late report was kept or told the period ended',
    );
    await settle('period end');
    const ended = await perCase('PERIOD_ENDED');
    t.same(
      admitted.filter((id) => ended.get(id) !== 1),
      [],
      `PERIOD_ENDED exactly once on each of ${admitted.length} cases`,
    );
  });

  t.test('certificates expire once each', async (t) => {
    clock.set(new Date(T0 + 4 * 365 * DAY));
    await settle('expiry');
    const expired = await perCase('EXPIRE');
    t.same(
      certified.filter((id) => expired.get(id) !== 1),
      [],
      `EXPIRE exactly once on each of ${certified.length} certificates`,
    );
  });

  t.test('the same guarantees as one instance hold at the end', async (t) => {
    const histories = (
      await sql<{ case_id: string; seqs: number[]; version: number }>`
      select c.id as case_id, array_agg(e.seq order by e.seq) as seqs, c.version
      from cases c join audit_events e on e.case_id = c.id group by c.id, c.version`.execute(db)
    ).rows;
    t.equal(histories.length, N + CERTS, 'every case has a history');
    t.same(
      histories.filter((h) => h.seqs.some((s, i) => s !== i + 1) || h.version !== h.seqs.length).map((h) => h.case_id),
      [],
      'every history is 1…n with no gap or duplicate, and the version is n',
    );
    const stored = new Map(
      (
        await sql<{ k: string; hash: string }>`select case_id || ':' || seq as k, hash from audit_events where case_id is not null`.execute(
          db,
        )
      ).rows.map((r) => [r.k, r.hash]),
    );
    t.same(
      acknowledged.filter((x) => stored.get(`${x.case_id}:${x.seq}`) !== x.hash).map((x) => `${x.type} ${x.case_id}:${x.seq}`),
      [],
      `all ${acknowledged.length} acknowledged events are in the histories, as acknowledged`,
    );
    t.equal(await dueNow(), 0, 'no deadline left due');
    t.same(fiveHundreds, [], 'no 5xx on either instance');
    for (const [name, inst] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const v = (await inst.req({ method: 'GET', url: '/v1/audit/verify', token: R })).json();
      t.equal(
        v.ok,
        true,
        `instance ${name}: the audit verifies (${v.cases_checked} cases, ${v.events_checked} events) ${JSON.stringify(v.failures?.slice(0, 3))}`,
      );
      const s = (inst.app.readiness() as { scheduler: { sweeps: number; last_error: string | null } }).scheduler;
      t.ok(s.sweeps > 0 && s.last_error === null, `instance ${name}: ${s.sweeps} sweeps, no error`);
    }
    t.comment(
      `${acknowledged.length} events acknowledged, ${N + CERTS} cases, ${raced.length} cross-instance races, in ${Date.now() - began} ms`,
    );
  });
}
