// Group commit for events of different cases (see EventBatcher).
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import type { Workflow } from '../../workflows/kit.js';
import type { Caller } from '../engine/caller.js';
import type { CaseRow, FireResult } from '../engine/case.js';
import { prepare, resultOf, type FireInput, type FireOptions, type PreparedEvent } from '../engine/transition.js';
import { fireOptimistic, type EngineDeps } from './fire.js';
import { writeEvents } from './write.js';

type BatchJob = { deps: EngineDeps; wf: Workflow; caller: Caller; caseId: string; input: FireInput; opts: FireOptions };
type QueuedJob = BatchJob & { resolve: (r: FireResult) => void; reject: (e: unknown) => void };

/**
 * Group commit for events. An event that needs no registry facts is queued; whenever no batch is
 * running, everything queued (one event per case, at most `maxBatch`) is read in one query and,
 * once each event is judged on its own, written in one statement (writeEvents): the per-statement
 * cost in the driver and in PostgreSQL, and the commit, are shared. Nothing waits for a timer: a
 * lone event goes at once, as before; events queue only while a batch is running. A batch that has
 * run for `stallMs` (waiting for a row lock, say) no longer holds the others back: another starts
 * beside it, up to `maxSlots`.
 *
 * Each event is still judged against its own case as read and written only if that case is still
 * at that version. A refused event is answered alone. A case that moved on (another instance wrote
 * it) has its event judged again on the single path. If the shared statement fails, no event of the
 * batch was written (one statement is atomic), and each runs again on its own, so the one that
 * broke it is refused alone with the error it would have had unbatched. Events of a case already
 * in a batch wait for the next one, in the order they came.
 */
export class EventBatcher {
  private queue: QueuedJob[] = [];
  private readonly busy = new Set<string>();
  /** The running batches, by when each started. */
  private readonly running = new Set<{ started: number }>();
  private timer: NodeJS.Timeout | null = null;
  /** Batches started, events they carried, and events that ran again on their own. */
  readonly stats = { batches: 0, events: 0, alone: 0 };

  constructor(
    private readonly db: Db,
    private readonly opts: { maxBatch: number; stallMs: number; maxSlots: number } = { maxBatch: 64, stallMs: 20, maxSlots: 4 },
  ) {}

  fire(job: BatchJob): Promise<FireResult> {
    return new Promise<FireResult>((resolve, reject) => {
      this.queue.push({ ...job, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.queue.length > 0) {
      const now = performance.now();
      let youngest = -Infinity;
      for (const b of this.running) youngest = Math.max(youngest, b.started);
      if (this.running.size > 0 && (this.running.size >= this.opts.maxSlots || now - youngest < this.opts.stallMs)) {
        // A running batch is young (or all slots are taken): look again when the youngest stalls.
        if (!this.timer && this.running.size < this.opts.maxSlots) {
          this.timer = setTimeout(() => ((this.timer = null), this.pump()), Math.max(1, this.opts.stallMs - (now - youngest)));
          this.timer.unref();
        }
        return;
      }
      const batch: QueuedJob[] = [];
      const waiting: QueuedJob[] = [];
      const ids = new Set<string>();
      for (const job of this.queue) {
        if (batch.length < this.opts.maxBatch && !this.busy.has(job.caseId) && !ids.has(job.caseId)) {
          batch.push(job);
          ids.add(job.caseId);
        } else waiting.push(job);
      }
      if (batch.length === 0) return;
      this.queue = waiting;
      for (const id of ids) this.busy.add(id);
      this.stats.batches++;
      this.stats.events += batch.length;
      const running = { started: now };
      this.running.add(running);
      void this.run(batch).finally(() => {
        for (const id of ids) this.busy.delete(id);
        this.running.delete(running);
        this.pump();
      });
    }
  }

  private async run(batch: QueuedJob[]): Promise<void> {
    const single = (job: QueuedJob) => fireOptimistic(job.deps, job.wf, job.caller, job.caseId, job.input, job.opts).then(job.resolve, job.reject);
    const alone = (job: QueuedJob) => (this.stats.alone++, single(job));
    // One event: the single path's statements are the simpler ones (and on the embedded database,
    // which answers each query before the next request comes, every batch is one event).
    if (batch.length === 1) return single(batch[0]!);
    let rows: CaseRow[];
    try {
      rows = await this.db
        .selectFrom('cases')
        .selectAll()
        .where(sql<boolean>`id = any(${batch.map((j) => j.caseId)}::uuid[])`)
        .execute();
    } catch {
      // e.g. the pool could not give a connection: each event on its own, with its own error
      await Promise.all(batch.map(alone));
      return;
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const judged: Array<{ job: QueuedJob; prepared: PreparedEvent }> = [];
    for (const job of batch) {
      const row = byId.get(job.caseId);
      try {
        judged.push({ job, prepared: prepare(job.deps, job.wf, job.caller, row?.kind === job.wf.kind ? row : undefined, job.input, job.opts, null) });
      } catch (err) {
        job.reject(err);
      }
    }
    if (judged.length === 0) return;
    let written: Set<string>;
    try {
      written = await writeEvents(this.db, judged);
    } catch {
      await Promise.all(judged.map(({ job }) => alone(job)));
      return;
    }
    const again: QueuedJob[] = [];
    for (const { job, prepared } of judged) {
      if (written.has(prepared.row.id)) job.resolve(resultOf(prepared));
      else again.push(job);
    }
    await Promise.all(again.map(alone));
  }
}
