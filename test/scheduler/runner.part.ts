import { Scheduler, type SweepOptions, type SweepResult } from '../../src/scheduler/scheduler.js';
import type { EngineDeps } from '../../src/cases/fire.js';
import { waitFor } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const deps = { db: null, schemas: null, now: () => new Date('2026-06-01T00:00:00Z') } as unknown as EngineDeps;
  const result = (over: Partial<SweepResult> = {}): SweepResult => ({
    fired: 0,
    skipped: 0,
    failed: 0,
    failing: 0,
    batches: 1,
    more: false,
    purged_idempotency_keys: 0,
    duration_ms: 1,
    ...over,
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  t.test('sweeps never overlap, even when one takes longer than the interval', async (t) => {
    let active = 0;
    let most = 0;
    let calls = 0;
    const s = new Scheduler(deps, {
      intervalMs: 5,
      sweepFn: async () => {
        calls++;
        most = Math.max(most, ++active);
        await sleep(60);
        active--;
        return result();
      },
    });
    s.start();
    s.start();
    await waitFor(async () => calls >= 4, 5_000, 10);
    await s.stop();
    t.equal(most, 1);
    t.ok(calls >= 4);
  });

  t.test('a failing sweep is reported and the next one still runs', async (t) => {
    let calls = 0;
    const errors: unknown[] = [];
    const s = new Scheduler(deps, {
      intervalMs: 5,
      log: { debug() {}, info() {}, warn() {}, error: (o) => errors.push(o) },
      sweepFn: async () => {
        if (++calls === 1) throw new Error('database unreachable');
        return result({ fired: 3, failing: 2 });
      },
    });
    s.start();
    const status = await waitFor(async () => (s.status().sweeps >= 1 ? s.status() : null), 5_000, 5);
    await s.stop();
    t.match(status, { last_error: 'database unreachable', last_sweep: { fired: 3 }, failing_deadlines: 2, last_sweep_at: '2026-06-01T00:00:00.000Z' });
    t.equal(errors.length, 1, 'the failed sweep was logged');
  });

  t.test('stop() waits for the sweep in progress, which is told to stop, and no sweep follows', async (t) => {
    let calls = 0;
    let release!: () => void;
    let told: SweepOptions | null = null;
    const s = new Scheduler(deps, {
      intervalMs: 1,
      sweepFn: async (_d, opts) => {
        calls++;
        told = opts;
        await new Promise<void>((r) => (release = r));
        return result();
      },
    });
    s.start();
    await waitFor(async () => calls === 1, 5_000, 5);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    await sleep(30);
    t.equal(stopped, false, 'still waiting for the sweep');
    t.equal(told!.shouldStop!(), true, 'the sweep is asked to stop between batches');
    release();
    await stopping;
    await sleep(30);
    t.equal(calls, 1);
  });

  t.test('a sweep that stopped at its bound is followed at once by the next', async (t) => {
    const started: number[] = [];
    const s = new Scheduler(deps, {
      intervalMs: 60_000,
      sweepFn: async () => {
        started.push(Date.now());
        return result({ fired: 50, more: started.length < 3 });
      },
    });
    s.start();
    await waitFor(async () => started.length >= 3, 5_000, 5);
    await sleep(30);
    await s.stop();
    t.equal(started.length, 3, 'then it waits for the interval');
    t.ok(started[2]! - started[0]! < 1_000);
  });
});
