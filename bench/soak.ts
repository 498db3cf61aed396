// Soak: a constant rate of SUBMIT_REPORT, about half of what the service can do, on a few hundred
// cases in `testing`, for minutes, against one service process started as `npm start` on
// PostgreSQL. Open loop (lib/open-loop.ts): requests leave on a schedule, latency counts from the
// scheduled time. Each case takes an event every few hundred milliseconds, so by the end each holds
// hundreds more reports than at the start: if an event's cost grew with its case's history, the
// last window's latencies and the service's memory would show it against the first's.
import { openDatabase } from '../src/db/index.js';
import { verifyAudit } from '../src/audit/verify.js';
import { createDatabase, httpLoad, log, median, recordCountSql, recordShapeSql, round, startService } from './lib/common.js';
import { adminToken, createCast, reportPayload } from './lib/cast.js';
import { rssSampler } from './lib/cpu.js';
import { encodeRequest } from './lib/http-client.js';
import { loadSandboxCases } from './lib/load.js';
import { openLoad, type Window } from './lib/open-loop.js';
import pg from 'pg';

const MB = 2 ** 20;

export type SoakWindow = Window & { rssMb: number };

export type SoakResult = {
  cases: number;
  /** Requests per second sent, and where that rate came from. */
  rate: number;
  rateSource: string;
  seconds: number;
  warmupSeconds: number;
  windowSeconds: number;
  warmup: Window;
  windows: SoakWindow[];
  /** Resident memory of the service's process (MB): the median of the first window's samples (after the warm-up), of the last window's, and the largest sample. */
  rss: { afterWarmup: number; end: number; max: number; intervalSeconds: number; samples: number; treeAfterWarmup: number; treeEnd: number };
  /** Last window ÷ first window. */
  p50Ratio: number;
  p99Ratio: number;
  /** RSS at the end ÷ after the warm-up. */
  rssRatio: number;
  statuses: Record<string, number>;
  /** Requests not answered 200, warm-up included. */
  errors: number;
  sent: number;
  maxConnections: number;
  firstError: string | null;
  verify: { ok: boolean; cases: number; events: number; failures: Array<{ case_id: string | null; seq: number; reason: string }> };
  /** The soak cases' records before the warm-up and at the end: reports counted, stored size. */
  records: { shape: string; reportsBefore: number; reportsAfter: number; bytesBefore: number; bytesAfter: number };
  /** Every answer 200 and the audit verified. */
  ok: boolean;
};

export async function benchSoak(opts: { cases: number; seconds: number; windowSeconds: number; warmupSeconds: number; rate?: number; rateSource?: string; calibrationClients: number }): Promise<SoakResult> {
  const db = await createDatabase('bench_soak');
  const admin = adminToken();
  const svc = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, WORKERS: '1' }, { how: 'npm', label: 'soak' });
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  try {
    const cast = await createCast(svc.url, admin);
    const now = Date.now();
    // Testing began five days ago: reportPayload's default period (the three days ending a day
    // before it is built) lies within it and ends before any request is sent.
    const ids = await loadSandboxCases(client, cast, { count: opts.cases, state: 'testing', firstNumber: 1, startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
    await client.query('vacuum analyze');
    const records = async () => {
      const { rows } = await client.query<{ n: number; bytes: number; shape: string }>(
        `select avg(${recordCountSql('reports')})::float8 as n, avg(octet_length(record::text))::float8 as bytes, max(${recordShapeSql('reports')}) as shape from cases where id = any($1::uuid[])`,
        [ids],
      );
      return rows[0]!;
    };
    const before = await records();

    // Request k goes to case k mod n (round robin: a case's next event leaves n requests later, so
    // no two of its events are ever in flight together), with one of a few report texts.
    const variants = 8;
    const encoded = Array.from({ length: ids.length * variants }, (_, j) =>
      encodeRequest('POST', `/v1/sandbox-cases/${ids[j % ids.length]}/events`, { authorization: `Bearer ${cast.applicantToken}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(j) })),
    );
    const request = (k: number) => encoded[k % encoded.length]!;

    let rate = opts.rate;
    let rateSource = opts.rateSource ?? 'given';
    if (!rate) {
      // No rate from the transitions benchmark: find this service's maximum with a short closed-loop burst.
      let k = 0;
      const burst = await httpLoad(svc.url, opts.calibrationClients, 5, () => ({ raw: request(k++) }), { warmupSeconds: 2 });
      rate = burst.rps / 2;
      rateSource = `half of a 5 s closed-loop burst of ${opts.calibrationClients} clients on these cases (${round(burst.rps, 0)}/s, ${burst.errors} errors)`;
      log(`  calibration: ${round(burst.rps, 0)} events/s closed loop; soak at ${round(rate, 0)}/s`);
    }
    const windows = Math.max(2, Math.round(opts.seconds / opts.windowSeconds));
    const windowSeconds = opts.seconds / windows;
    log(`  ${round(rate, 0)} events/s open loop on ${ids.length} cases: warm-up ${opts.warmupSeconds} s, then ${windows} windows of ${round(windowSeconds, 1)} s`);

    const rssEvery = 2;
    const rss = rssSampler(svc.pid, rssEvery * 1000);
    const began = performance.now();
    const load = await openLoad(svc.url, {
      rate,
      warmupSeconds: opts.warmupSeconds,
      windowSeconds,
      windows,
      request,
      onScheduled: (w) => log(`  window ${w + 1}/${windows} scheduled`),
    });
    const samples = rss.stop();
    const windowStart = (w: Window) => began + (opts.warmupSeconds + w.from) * 1000;
    const inWindow = (w: Window) => samples.filter((s) => s.at >= windowStart(w) && s.at < windowStart(w) + w.seconds * 1000);
    const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
    const soakWindows: SoakWindow[] = load.windows.map((w) => ({ ...w, rssMb: round(med(inWindow(w).map((s) => s.service)) / MB, 1) }));
    for (const [i, w] of soakWindows.entries())
      log(`  window ${i + 1}: sent ${w.sent}, answered ${w.answered}, errors ${w.errors}, p50 ${round(w.p50)} ms, p99 ${round(w.p99)} ms, RSS ${w.rssMb} MB (generator lag p99 ${round(w.sendLagP99)} ms)`);
    const first = load.windows[0]!;
    const last = load.windows.at(-1)!;
    const firstSamples = inWindow(first);
    const lastSamples = inWindow(last);
    const afterWarmup = med(firstSamples.map((s) => s.service)) / MB;
    const end = med(lastSamples.map((s) => s.service)) / MB;
    const all = [load.warmup, ...load.windows];
    const errors = all.reduce((n, w) => n + w.errors, 0);

    const after = await records();
    log('  verifying the audit chains');
    const database = await openDatabase({ databaseUrl: db.url, dataDir: '' });
    let verify: SoakResult['verify'];
    try {
      const v = await verifyAudit(database.db, { databaseUrl: db.url });
      verify = { ok: v.ok, cases: v.cases_checked, events: v.events_checked, failures: v.failures.slice(0, 5) };
    } finally {
      await database.close();
    }
    log(`  audit verification: ok=${verify.ok}, ${verify.events} events in ${verify.cases} cases`);
    const statusesOk = Object.keys(load.statuses).every((s) => s === '200');
    return {
      cases: ids.length,
      rate,
      rateSource,
      seconds: windows * windowSeconds,
      warmupSeconds: opts.warmupSeconds,
      windowSeconds,
      warmup: load.warmup,
      windows: soakWindows,
      rss: {
        afterWarmup: round(afterWarmup, 1),
        end: round(end, 1),
        max: round(Math.max(...samples.map((s) => s.service)) / MB, 1),
        intervalSeconds: rssEvery,
        samples: samples.length,
        treeAfterWarmup: round(med(firstSamples.map((s) => s.tree)) / MB, 1),
        treeEnd: round(med(lastSamples.map((s) => s.tree)) / MB, 1),
      },
      p50Ratio: last.p50 / first.p50,
      p99Ratio: last.p99 / first.p99,
      rssRatio: end / afterWarmup,
      statuses: load.statuses,
      errors,
      sent: all.reduce((n, w) => n + w.sent, 0),
      maxConnections: load.maxConnections,
      firstError: load.firstError,
      verify,
      records: { shape: after.shape, reportsBefore: round(before.n, 1), reportsAfter: round(after.n, 1), bytesBefore: Math.round(before.bytes), bytesAfter: Math.round(after.bytes) },
      ok: errors === 0 && statusesOk && verify.ok,
    };
  } finally {
    await client.end();
    await svc.stop();
    await db.drop();
  }
}
