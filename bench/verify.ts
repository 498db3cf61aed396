// Benchmark 3: audit events verified per second (hash chains recomputed, every case replayed
// through its machine) against reading the same rows, in the same batches, without verifying.
import { openDatabase } from '../src/db/index.js';
import { readChain, REGISTRY_CHAIN } from '../src/services/audit.js';
import { readCaseBatches, verifyAudit } from '../src/services/verify.js';
import { log, median, round } from './lib/common.js';

export type VerifyResult = { events: number; cases: number; verifyRate: number; readRate: number; ratio: number; verifySeconds: number[]; readSeconds: number[]; ok: boolean };

export async function benchVerify(dbUrl: string, rounds: number): Promise<VerifyResult> {
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '' });
  try {
    const rawRead = async () => {
      const t0 = performance.now();
      let events = (await readChain(database.db, REGISTRY_CHAIN)).length;
      for await (const b of readCaseBatches(database.db, 500)) events += b.events;
      return { events, seconds: (performance.now() - t0) / 1000 };
    };
    const verify = async () => {
      const t0 = performance.now();
      const report = await verifyAudit(database.db);
      return { report, seconds: (performance.now() - t0) / 1000 };
    };
    await rawRead(); // warm the cache: both runs then read from memory
    const reads: Array<{ events: number; seconds: number }> = [];
    const verifies: Array<Awaited<ReturnType<typeof verify>>> = [];
    for (let r = 0; r < rounds; r++) {
      const a = await rawRead();
      reads.push(a);
      log(`  round ${r + 1} read:   ${a.events} events in ${round(a.seconds)} s (${round(a.events / a.seconds, 0)}/s)`);
      const v = await verify();
      verifies.push(v);
      log(`  round ${r + 1} verify: ${v.report.events_checked} events in ${round(v.seconds)} s (${round(v.report.events_checked / v.seconds, 0)}/s), ok=${v.report.ok}`);
    }
    const a = await rawRead();
    reads.push(a);
    log(`  final read:     ${a.events} events in ${round(a.seconds)} s`);
    const events = verifies[0]!.report.events_checked;
    const verifyRate = median(verifies.map((v) => v.report.events_checked / v.seconds));
    const readRate = median(reads.map((x) => x.events / x.seconds));
    // Each verify against the mean of the reads either side of it.
    const ratios = verifies.map((v, k) => v.report.events_checked / v.seconds / ((reads[k]!.events / reads[k]!.seconds + reads[k + 1]!.events / reads[k + 1]!.seconds) / 2));
    const bad = verifies.find((v) => !v.report.ok);
    if (bad) log(`  verification reported failures: ${JSON.stringify(bad.report.failures.slice(0, 3))}`);
    return {
      events,
      cases: verifies[0]!.report.cases_checked,
      verifyRate,
      readRate,
      ratio: median(ratios),
      verifySeconds: verifies.map((v) => round(v.seconds)),
      readSeconds: reads.map((x) => round(x.seconds)),
      ok: !bad,
    };
  } finally {
    await database.close();
  }
}
