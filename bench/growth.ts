// Growth: does an event cost more on a case with a long history? The service's CPU time per
// SUBMIT_REPORT (from /proc, its process tree, as the transitions benchmark reads it) on cases that
// hold no reports yet (set A) and on cases that already hold 100 (set B, loaded through the real
// machine, so their records are whatever the machine makes of 100 reports). The same requests, the
// same clients, one service process; rounds alternate A B B A so a drift in the machine's load
// favours neither. Each round sends every case of its set one event (`passes` times), so the
// sets' histories hardly move during the measurement.
import pg from 'pg';
import { createDatabase, httpLoad, log, median, pct, recordCountSql, recordShapeSql, round, sendAll, sortedOf, startService } from './lib/common.js';
import { adminToken, createCast, reportPayload } from './lib/cast.js';
import { cpuSampler, type CpuSplit } from './lib/cpu.js';
import { encodeRequest } from './lib/http-client.js';
import { loadSandboxCases } from './lib/load.js';

export type GrowthSet = {
  label: string;
  /** Reports each case held when loaded. */
  priorReports: number;
  /** Reports the records count on average, before the first round and after the last. */
  reportsBefore: number;
  reportsAfter: number;
  /** Average stored size of the records, octet_length(record::text), before the first round and after the last. */
  recordBytesBefore: number;
  recordBytesAfter: number;
  events: number;
  errors: number;
  /** Median of the rounds' rates (events/s). */
  rate: number;
  p50: number;
  p99: number;
  /** CPU milliseconds per event over all of the set's rounds. */
  cpuMsPerEvent: { service: number; postgres: number; client: number };
  /** The service's CPU ms per event in each of the set's rounds, in the order run. */
  roundServiceCpu: number[];
};

export type GrowthResult = {
  cases: number;
  passes: number;
  clients: number;
  order: string;
  recordShape: string;
  sets: [GrowthSet, GrowthSet];
  /** The service's CPU per event on B (100 prior reports) ÷ on A (none). */
  ratio: number;
  /** The same for PostgreSQL's backends, for context. */
  postgresRatio: number;
};

export async function benchGrowth(opts: { cases: number; prior: number; rounds: number; passes: number; clients: number; warmupSeconds: number }): Promise<GrowthResult> {
  const db = await createDatabase('bench_growth');
  const admin = adminToken();
  const svc = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, WORKERS: '1' }, { how: 'npm', label: 'growth' });
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  try {
    const cast = await createCast(svc.url, admin);
    const now = Date.now();
    // Testing began five days ago: the loaded reports' periods are its first minutes, the new
    // ones (reportPayload's default) the three days ending a day ago; both lie within it.
    const window = { startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) };
    const t0 = Date.now();
    const a = await loadSandboxCases(client, cast, { count: opts.cases, state: 'testing', firstNumber: 1, reports: 0, ...window });
    const b = await loadSandboxCases(client, cast, { count: opts.cases, state: 'testing', firstNumber: opts.cases + 1, reports: opts.prior, ...window });
    const warm = await loadSandboxCases(client, cast, { count: 300, state: 'testing', firstNumber: 2 * opts.cases + 1, ...window });
    await client.query('vacuum analyze');
    log(`  loaded 2 × ${opts.cases} cases (0 and ${opts.prior} reports each) and 300 to warm up in ${round((Date.now() - t0) / 1000, 1)} s`);

    const sizeOf = async (ids: string[]) => {
      const { rows } = await client.query<{ n: number; bytes: number; shape: string }>(
        `select avg(${recordCountSql('reports')})::float8 as n, avg(octet_length(record::text))::float8 as bytes, max(${recordShapeSql('reports')}) as shape from cases where id = any($1::uuid[])`,
        [ids],
      );
      return rows[0]!;
    };
    const sets = [
      { label: 'A', priorReports: 0, ids: a, before: await sizeOf(a), rounds: [] as Array<{ events: number; errors: number; rps: number; latencies: Float64Array; cpu: CpuSplit }> },
      { label: 'B', priorReports: opts.prior, ids: b, before: await sizeOf(b), rounds: [] as Array<{ events: number; errors: number; rps: number; latencies: Float64Array; cpu: CpuSplit }> },
    ];
    for (const s of sets) log(`  set ${s.label}: ${round(s.before.n, 1)} reports per case, records of ${Math.round(s.before.bytes)} bytes on average`);

    let n = 0;
    const encode = (id: string) =>
      encodeRequest('POST', `/v1/sandbox-cases/${id}/events`, { authorization: `Bearer ${cast.applicantToken}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(n++) }));
    // Warm the service (connections, JIT, caches) on cases of neither set; round robin, so no case has two events in flight.
    let w = 0;
    // A cold service's first seconds cost more CPU per event (tsx, V8 compiling the hot paths).
    await httpLoad(svc.url, opts.clients, opts.warmupSeconds, () => ({ raw: encode(warm[w++ % warm.length]!) }));

    const order = Array.from({ length: opts.rounds }, (_, r) => ((r % 4 === 0 || r % 4 === 3) ? 0 : 1));
    for (const [r, which] of order.entries()) {
      const set = sets[which]!;
      // Every case of the set once per pass, in a new random order each pass: no case has two events in flight.
      const requests: Array<Buffer | string> = [];
      for (let p = 0; p < opts.passes; p++) for (const id of shuffled(set.ids)) requests.push(encode(id));
      const cpu = cpuSampler({ dbUrl: db.url, dbName: db.name, servicePgrp: svc.pid });
      const h = await sendAll(svc.url, opts.clients, requests);
      const c = await cpu.stop();
      const events = h.requests + h.errors;
      set.rounds.push({ events, errors: h.errors, rps: h.rps, latencies: h.latencies, cpu: c });
      log(`  round ${r + 1} set ${set.label}: ${events} events at ${round(h.rps, 0)}/s (p50 ${round(pct(h.latencies, 50))} ms, p99 ${round(pct(h.latencies, 99))} ms, errors ${h.errors}); service ${round((1000 * c.service) / events, 3)} ms CPU/event, PostgreSQL ${round((1000 * c.postgres) / events, 3)}`);
    }
    const result = async (s: (typeof sets)[number]): Promise<GrowthSet> => {
      const after = await sizeOf(s.ids);
      const events = s.rounds.reduce((x, r) => x + r.events, 0);
      const per = (k: keyof CpuSplit) => round((1000 * s.rounds.reduce((x, r) => x + r.cpu[k], 0)) / events, 3);
      const lat = sortedOf(s.rounds.flatMap((r) => [...r.latencies]));
      return {
        label: s.label,
        priorReports: s.priorReports,
        reportsBefore: round(s.before.n, 1),
        reportsAfter: round(after.n, 1),
        recordBytesBefore: Math.round(s.before.bytes),
        recordBytesAfter: Math.round(after.bytes),
        events,
        errors: s.rounds.reduce((x, r) => x + r.errors, 0),
        rate: median(s.rounds.map((r) => r.rps)),
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        cpuMsPerEvent: { service: per('service'), postgres: per('postgres'), client: per('client') },
        roundServiceCpu: s.rounds.map((r) => round((1000 * r.cpu.service) / r.events, 3)),
      };
    };
    const A = await result(sets[0]!);
    const B = await result(sets[1]!);
    return {
      cases: opts.cases,
      passes: opts.passes,
      clients: opts.clients,
      order: order.map((k) => sets[k]!.label).join(''),
      recordShape: sets[1]!.before.shape,
      sets: [A, B],
      ratio: B.cpuMsPerEvent.service / A.cpuMsPerEvent.service,
      postgresRatio: B.cpuMsPerEvent.postgres / A.cpuMsPerEvent.postgres,
    };
  } finally {
    await client.end();
    await svc.stop();
    await db.drop();
  }
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
