// Benchmark 4: due deadlines fired per second by the scheduler's sweep (the code the service runs
// every SCHEDULER_INTERVAL_MS), with all of them due at once; compared with benchmark 1's rate.
import { openDatabase } from '../src/db/index.js';
import { Schemas } from '../src/schemas.js';
import { sweepOnce } from '../src/scheduler/scheduler.js';
import { log, round } from './lib/common.js';

export type SchedulerResult = { due: number; fired: number; skipped: number; failed: number; seconds: number; rate: number; sweeps: number };

export async function benchScheduler(dbUrl: string, due: number): Promise<SchedulerResult> {
  // The pool size the service opens with.
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '' });
  const deps = { db: database.db, schemas: new Schemas(), now: () => new Date() };
  try {
    const t0 = performance.now();
    let fired = 0;
    let skipped = 0;
    let failed = 0;
    let sweeps = 0;
    let lastLog = t0;
    for (;;) {
      const r = await sweepOnce(deps);
      sweeps++;
      fired += r.fired;
      skipped += r.skipped;
      failed += r.failed;
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`  ${fired} fired so far (${round(fired / ((lastLog - t0) / 1000), 0)}/s)`);
      }
      if (!r.more && r.fired + r.skipped + r.failed === 0) break;
      if (fired + skipped + failed >= due && !r.more) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { due, fired, skipped, failed, seconds, rate: fired / seconds, sweeps };
  } finally {
    await database.close();
  }
}
