// The transparency log's figures (issue 22, SPEC §7):
//  - the sequencer's rate: leaves integrated per second draining a backlog (integrateAll, as the
//    service's sequencer runs it, here in the benchmark's process), against the transition rate;
//  - inclusion proofs through HTTP at the log's full size (1,000,000 leaves at full scale): p50, p95;
//  - transitions with the sequencer running in the service against the same service with it off,
//    rounds alternating, the same run; the sequencer's lag (queued events, the oldest one's age)
//    sampled during the rounds it runs in.
import pg from 'pg';
import { openDatabase } from '../src/db/index.js';
import { sql } from '../src/db/kysely.js';
import type { Db } from '../src/db/types.js';
import { integrate, signCheckpoint, treeHead } from '../src/transparency/log.js';
import { loadLogKeys } from '../src/transparency/keys.js';
import { BENCH_LOG_ORIGIN, benchSigningKeyFile, httpLoad, log, median, pct, round, sleep, sortedOf, startService, type LoadResult, roundsFigure, type RoundsFigure } from './lib/common.js';
import { reportPayload } from './lib/cast.js';
import { encodeRequest } from './lib/http-client.js';

export type DrainResult = { leaves: number; seconds: number; rate: number; treeSize: number };

/**
 * Integrates every queued audit event into the log (taking turns with any service's sequencer
 * running on the database) and signs a checkpoint of it. `leaves` counts those integrated here: the
 * rate is the sequencer's only when nothing else sequences meanwhile.
 */
export async function drainLog(dbUrl: string): Promise<DrainResult> {
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '', poolSize: 2 });
  try {
    const t0 = performance.now();
    let leaves = 0;
    for (;;) {
      const r = await integrate(database.db, 5000);
      if ('busy' in r) await sleep(10);
      else if (r.integrated > 0) leaves += r.integrated;
      else if (await queueEmpty(database.db)) break;
      else await sleep(10);
    }
    const seconds = (performance.now() - t0) / 1000;
    const keys = loadLogKeys(benchSigningKeyFile(), BENCH_LOG_ORIGIN);
    await signCheckpoint(database.db, { signer: keys.signer, origin: BENCH_LOG_ORIGIN, now: new Date(), minIntervalMs: 0 });
    return { leaves, seconds, rate: leaves / seconds, treeSize: (await treeHead(database.db)).size };
  } finally {
    await database.close();
  }
}

export type ProofResult = { treeSize: number; requests: number; errors: number; p50: number; p95: number; p99: number; rps: number };

/** True when no audit event waits for the log (one gone from the audit trail would wait forever: none here). */
async function queueEmpty(db: Db): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from log_queue`.execute(db);
  return rows[0]!.n === 0;
}

/** Inclusion proofs of random leaves in the whole tree, through HTTP, `clients` at a time. */
export async function benchProofs(serviceUrl: string, treeSize: number, opts: { clients: number; seconds: number }): Promise<ProofResult> {
  const next = () => ({ method: 'GET' as const, path: `/v1/transparency/proofs/inclusion?leaf_index=${Math.floor(Math.random() * treeSize)}&tree_size=${treeSize}` });
  await httpLoad(serviceUrl, opts.clients, 2, next); // warm-up
  const h = await httpLoad(serviceUrl, opts.clients, opts.seconds, next);
  const lat = sortedOf([...h.latencies]);
  return { treeSize, requests: h.requests, errors: h.errors, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), rps: h.rps };
}

export type OnOffResult = {
  clients: number;
  seconds: number;
  rounds: number;
  on: RoundsFigure;
  off: RoundsFigure;
  /** Median of each on round's rate ÷ its neighbouring off round's. */
  ratio: number;
  /** The sequencer draining the loaded cases' events before any service started (benchmark process, PostgreSQL alone). */
  drain: DrainResult;
  lag: { samples: number; maxQueued: number; p95Queued: number; maxAgeMs: number; p95AgeMs: number };
};

/**
 * Two services on one database, the same but for the sequencer (SEQUENCER_INTERVAL_MS default
 * and 0), each a worker per core; SUBMIT_REPORT on cases in testing, rounds in the order ABBA…
 * Before each round the queue is drained (untimed), so a round's sequencer integrates only the
 * events of its own round.
 */
export async function benchSequencerOnOff(opts: {
  dbUrl: string;
  admin: string;
  token: string;
  cases: string[];
  workers: number;
  clients: number;
  seconds: number;
  rounds: number;
}): Promise<OnOffResult> {
  // The loaded cases' events wait in the queue and no service runs yet: the sequencer's own rate.
  const drain = await drainLog(opts.dbUrl);
  log(`  the sequencer alone: ${drain.leaves} leaves in ${round(drain.seconds, 1)} s (${round(drain.rate, 0)}/s)`);
  const env = { DATABASE_URL: opts.dbUrl, ADMIN_TOKEN: opts.admin, WORKERS: String(opts.workers) };
  const on = await startService(env, { how: 'tsx', label: 'sequencer-on' });
  const off = await startService({ ...env, SEQUENCER_INTERVAL_MS: '0' }, { how: 'tsx', label: 'sequencer-off' });
  const client = new pg.Client({ connectionString: opts.dbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const requests = Array.from({ length: 16_384 }, (_, i) =>
      encodeRequest('POST', `/v1/sandbox-cases/${opts.cases[Math.floor(Math.random() * opts.cases.length)]!}/events`, { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(i) })),
    );
    let i = 0;
    const next = () => ({ raw: requests[i++ % requests.length]! });
    log('  warm-up: 5 s each');
    await httpLoad(on.url, opts.clients, 5, next);
    await httpLoad(off.url, opts.clients, 5, next);
    const results = { on: [] as LoadResult[], off: [] as LoadResult[] };
    const queued: number[] = [];
    const ages: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      for (const which of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        await drainLog(opts.dbUrl);
        // Sampled in both services' rounds, so that its own cost falls on both alike; kept for the
        // sequencer's. Two index reads: a join here is planned as a walk of the whole audit table
        // once the queue's statistics are a backlog's, which alone cost the rounds it ran in 35 %.
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const { rows } = await client.query<{ n: number; age: number | null }>(
              `select (select count(*)::int from log_queue) as n,
                      (extract(epoch from clock_timestamp() - (select a.at from audit_events a where a.id = (select min(audit_id) from log_queue))) * 1000)::float8 as age`,
            );
            if (which === 'on') {
              queued.push(rows[0]!.n);
              ages.push(rows[0]!.age ?? 0);
            }
            await sleep(200);
          }
        })();
        const h = await httpLoad((which === 'on' ? on : off).url, opts.clients, opts.seconds, next);
        sampling = false;
        await sampler;
        results[which].push(h);
        log(`  round ${r + 1} sequencer ${which}: ${round(h.rps, 0)} events/s (p99 ${round(pct(h.latencies, 99))} ms, errors ${h.errors})`);
      }
    }
    const q = sortedOf(queued);
    const a = sortedOf(ages);
    return {
      clients: opts.clients,
      seconds: opts.seconds,
      rounds: opts.rounds,
      on: roundsFigure(results.on),
      off: roundsFigure(results.off),
      ratio: median(results.on.map((h, k) => h.rps / results.off[k]!.rps)),
      drain,
      lag: { samples: q.length, maxQueued: q.at(-1) ?? 0, p95Queued: pct(q, 95), maxAgeMs: a.at(-1) ?? 0, p95AgeMs: pct(a, 95) },
    };
  } finally {
    await client.end();
    await on.stop();
    await off.stop();
  }
}
