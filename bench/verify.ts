// Benchmark 3: audit events verified per second (hash chains recomputed, every case replayed
// through its machine) against reading the same rows, in the same batches, without verifying: as
// one reader reads them (one thread, one connection), and as verification reads them (its threads).
import { openDatabase } from '../src/db/index.js';
import { REGISTRY_CHAIN } from '../src/audit/audit.js';
import { readChain } from '../src/audit/chains.js';
import { defaultVerifyThreads, readCaseBatches, verifyAudit } from '../src/audit/verify.js';
import { verifyLog } from '../src/transparency/verify-log.js';
import { benchLogKeys, log, median, round } from './lib/common.js';

export type VerifyResult = {
  events: number;
  cases: number;
  threads: number;
  verifyRate: number;
  readRate: number;
  threadedReadRate: number;
  ratio: number;
  ratioThreaded: number;
  verifySeconds: number[];
  readSeconds: number[];
  threadedReadSeconds: number[];
  ok: boolean;
};

export async function benchVerify(dbUrl: string, rounds: number): Promise<VerifyResult> {
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '' });
  const threads = defaultVerifyThreads();
  try {
    const timed = async <T>(f: () => Promise<T>) => {
      const t0 = performance.now();
      const out = await f();
      return { out, seconds: (performance.now() - t0) / 1000 };
    };
    // The transparency log is verified too (SPEC §7): its leaves are read with the chains.
    const logKeys = benchLogKeys();
    // Reading as one reader does: one connection, the next batch read while this one is taken in;
    // then the log's leaves, as the log's verification reads them.
    const rawRead = () =>
      timed(async () => {
        let events = (await readChain(database.db, REGISTRY_CHAIN)).length;
        for await (const b of readCaseBatches(database.db, 500)) events += b.events;
        await verifyLog(database.db, { ...logKeys, readOnly: true });
        return events;
      });
    // Reading as verification reads: the same threads, connections and batches, nothing checked.
    const threadedRead = () => timed(async () => (await verifyAudit(database.db, { databaseUrl: dbUrl, readOnly: true, log: logKeys })).events_checked);
    const verify = () => timed(() => verifyAudit(database.db, { databaseUrl: dbUrl, log: logKeys }));
    await rawRead(); // warm the cache: every run then reads from memory
    const reads: Array<{ out: number; seconds: number }> = [];
    const threaded: Array<{ out: number; seconds: number }> = [];
    const verifies: Array<Awaited<ReturnType<typeof verify>>> = [];
    const rate = (x: { out: number; seconds: number }) => x.out / x.seconds;
    for (let r = 0; r < rounds; r++) {
      const a = await rawRead();
      reads.push(a);
      log(`  round ${r + 1} read, one thread:     ${a.out} events in ${round(a.seconds)} s (${round(rate(a), 0)}/s)`);
      const v = await verify();
      verifies.push(v);
      log(`  round ${r + 1} verify, ${threads} threads:    ${v.out.events_checked} events in ${round(v.seconds)} s (${round(v.out.events_checked / v.seconds, 0)}/s), ok=${v.out.ok}`);
      const b = await threadedRead();
      threaded.push(b);
      log(`  round ${r + 1} read, ${threads} threads:      ${b.out} events in ${round(b.seconds)} s (${round(rate(b), 0)}/s)`);
    }
    const a = await rawRead();
    reads.push(a);
    log(`  final read, one thread: ${a.out} events in ${round(a.seconds)} s`);
    const events = verifies[0]!.out.events_checked;
    const vrate = (k: number) => verifies[k]!.out.events_checked / verifies[k]!.seconds;
    // Each verify against the mean of the one-thread reads either side of it, and against the
    // threaded read right after it.
    const ratios = verifies.map((_, k) => vrate(k) / ((rate(reads[k]!) + rate(reads[k + 1]!)) / 2));
    const ratiosThreaded = verifies.map((_, k) => vrate(k) / rate(threaded[k]!));
    const bad = verifies.find((v) => !v.out.ok);
    if (bad) log(`  verification reported failures: ${JSON.stringify(bad.out.failures.slice(0, 3))}`);
    return {
      events,
      cases: verifies[0]!.out.cases_checked,
      threads,
      verifyRate: median(verifies.map((_, k) => vrate(k))),
      readRate: median(reads.map(rate)),
      threadedReadRate: median(threaded.map(rate)),
      ratio: median(ratios),
      ratioThreaded: median(ratiosThreaded),
      verifySeconds: verifies.map((v) => round(v.seconds)),
      readSeconds: reads.map((x) => round(x.seconds)),
      threadedReadSeconds: threaded.map((x) => round(x.seconds)),
      ok: !bad,
    };
  } finally {
    await database.close();
  }
}
