// The deadline scheduler: fires the `system` events the workflows declare (START_TESTING,
// INFO_LAPSED, PERIOD_ENDED, EXPIRE, …) once their `deadlines` row falls due. Deadlines live in the
// database, so a restart loses none, and several instances may sweep at once.
import { sql } from '../db/kysely.js';
import type { DbOrTrx, Trx } from '../db/types.js';
import { AppError } from '../errors.js';
import { workflowByKind } from '../../workflows/index.js';
import { deadlineEvent, type Workflow } from '../../workflows/kit.js';
import { SYSTEM_CALLER } from '../engine/caller.js';
import { fireEventIn, prepareLocked, writeLockedEvents, type EngineDeps, type LockedCase } from '../cases/fire.js';
import type { PreparedEvent } from '../engine/transition.js';
import { Periodic } from '../periodic.js';

type LogFn = (obj: object, msg?: string) => void;
export type SchedulerLog = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };

const silent: SchedulerLog = { debug() {}, info() {}, warn() {}, error() {} };

export type SweepOptions = {
  /** Deadlines claimed (and locked) per transaction. */
  batchSize?: number;
  /** Batches per sweep: one sweep fires at most batchSize × maxBatches deadlines. */
  maxBatches?: number;
  /** Back-off after a failure: retryBaseMs × 2^(attempts − 1), at most retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Expired idempotency keys deleted per sweep. */
  purgeLimit?: number;
  log?: SchedulerLog;
  /** Asked between batches; true ends the sweep early (the service is closing). */
  shouldStop?: () => boolean;
};

export type SweepResult = {
  fired: number;
  /** Deadlines whose case had moved on: dropped, the case untouched. */
  skipped: number;
  /** Deadlines that failed unexpectedly this sweep: kept, retried after a back-off. */
  failed: number;
  /** Deadlines currently waiting for a retry after a failure (all of them, not only this sweep's). */
  failing: number;
  batches: number;
  /** True when the sweep stopped at its bound with due deadlines left. */
  more: boolean;
  purged_idempotency_keys: number;
  duration_ms: number;
};

export const SWEEP_DEFAULTS = { batchSize: 50, maxBatches: 20, retryBaseMs: 30_000, retryMaxMs: 3_600_000, purgeLimit: 1000 };

// The case has left the state in which the deadline meant something: nothing to do, ever.
const MOVED_ON = new Set(['invalid_transition', 'rule_violation', 'not_found']);
const IDEMPOTENCY_WINDOW_HOURS = 24;

type Claimed = { case_id: string; name: string; event_type: string; due_at: Date; attempts: number; kind: string; row: LockedCase };

/**
 * A system event fired by hand (`cli fire`), before or instead of the scheduler: it acts on the
 * case's deadline of that event, if it has one (the earliest), and says so like the scheduler would.
 */
export async function handFiredEvent(db: DbOrTrx, wf: Workflow, caseId: string, type: string): Promise<{ type: string; payload?: unknown }> {
  const d = await db.selectFrom('deadlines').select(['name', 'event_type', 'due_at']).where('case_id', '=', caseId).where('event_type', '=', type).orderBy('due_at').orderBy('name').limit(1).executeTakeFirst();
  return d ? deadlineEvent(wf, d) : { type };
}

/**
 * Fires every due deadline once, in bounded batches. Each batch is one transaction that claims its
 * rows with FOR UPDATE SKIP LOCKED (so concurrent sweeps never share one), judges each event in
 * memory and writes them all in one statement; if that write fails, each is fired on its own in a
 * savepoint, so one failing case is recorded and retried later without undoing the others.
 */
export async function sweepOnce(deps: EngineDeps, opts: SweepOptions = {}): Promise<SweepResult> {
  const o = { ...SWEEP_DEFAULTS, ...opts };
  const log = opts.log ?? silent;
  const started = Date.now();
  const total: SweepResult = { fired: 0, skipped: 0, failed: 0, failing: 0, batches: 0, more: false, purged_idempotency_keys: 0, duration_ms: 0 };

  let after: ClaimKey | null = null;
  for (;;) {
    if (total.batches >= o.maxBatches || opts.shouldStop?.()) {
      total.more = true;
      break;
    }
    const keyed = after !== null;
    const batch = await deps.db.transaction().execute((trx) => sweepBatch(trx, deps, o, log, after));
    total.batches++;
    total.fired += batch.fired;
    total.skipped += batch.skipped;
    total.failed += batch.failed;
    // Rows deferred to the next batch (another deadline of a case fired in this one) keep it going.
    if (batch.claimed < o.batchSize && !batch.deferred) {
      if (!keyed) break;
      // The end of the line: once more from the start, for deadlines that fell due behind us
      // (set by events of this sweep) or that another sweep held locked.
      after = null;
      continue;
    }
    // The next batch starts after this one's last row, so it does not walk again over the index
    // entries of the deadlines just fired (dead until vacuumed); after a deferral, from the start.
    after = batch.deferred ? null : batch.last;
  }
  if (total.more) total.more = await anyDue(deps);

  total.purged_idempotency_keys = await purgeIdempotencyKeys(deps, o.purgeLimit);
  const failing = await deps.db
    .selectFrom('deadlines')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('last_error', 'is not', null)
    .executeTakeFirstOrThrow();
  total.failing = Number(failing.n);
  total.duration_ms = Date.now() - started;
  return total;
}

type ClaimKey = { due_at: Date; case_id: string; name: string };

async function sweepBatch(trx: Trx, deps: EngineDeps, o: typeof SWEEP_DEFAULTS, log: SchedulerLog, after: ClaimKey | null) {
  const now = deps.now();
  // A sweep must never hang on a lock: a lock wait becomes an ordinary failure, retried later.
  await sql`set local lock_timeout = '5s'`.execute(trx);
  // The case row is locked with the deadline: two instances then never hold deadlines of one case,
  // and a case busy in a request is simply left for the next sweep. The case's columns come with
  // it, so firing needs no second read.
  let claim = trx
    .selectFrom('deadlines as d')
    .innerJoin('cases as c', 'c.id', 'd.case_id')
    .select(['d.case_id', 'd.name', 'd.event_type', 'd.due_at', 'd.attempts'])
    .selectAll('c')
    .where('d.due_at', '<=', now);
  if (after) claim = claim.where((eb) => eb(eb.refTuple('d.due_at', 'd.case_id', 'd.name'), '>', eb.tuple(after.due_at, after.case_id, after.name)));
  const claimed = await claim
    .where((eb) => eb.or([eb('d.next_attempt_at', 'is', null), eb('d.next_attempt_at', '<=', now)]))
    .orderBy('d.due_at')
    .orderBy('d.case_id')
    .orderBy('d.name')
    .limit(o.batchSize)
    .forUpdate(['d', 'c'])
    .skipLocked()
    .execute();
  const rows: Claimed[] = claimed.map(({ case_id, name, event_type, due_at, attempts, ...c }) => ({
    case_id,
    name,
    event_type,
    due_at,
    attempts,
    kind: c.kind,
    row: { ...c, id: case_id },
  }));

  const last = rows.at(-1);
  const out = { claimed: rows.length, fired: 0, skipped: 0, failed: 0, deferred: false, last: last ? { due_at: last.due_at, case_id: last.case_id, name: last.name } : null };
  // Events are judged in memory against the locked rows, then written together in one statement;
  // an event that needs registry facts, or a batch whose write fails, goes one by one instead.
  const batch: Array<{ claim: Claimed; prepared: PreparedEvent }> = [];
  const oneByOne: Claimed[] = [];
  const dropped: Claimed[] = [];
  const handled = new Set<string>();
  for (const row of rows) {
    // A case fires once per batch: its first event may have replaced its other deadlines.
    if (handled.has(row.case_id)) {
      out.deferred = true;
      continue;
    }
    const wf = workflowByKind.get(row.kind);
    if (!wf || wf.facts?.[row.event_type]) {
      handled.add(row.case_id);
      oneByOne.push(row);
      continue;
    }
    try {
      batch.push({ claim: row, prepared: prepareLocked(deps, wf, SYSTEM_CALLER, row.row, deadlineEvent(wf, row), now) });
      handled.add(row.case_id);
    } catch (err) {
      if (err instanceof AppError && MOVED_ON.has(err.code)) {
        dropped.push(row);
        out.skipped++;
        log.info({ case_id: row.case_id, deadline: row.name, event: row.event_type, reason: err.detail }, 'deadline dropped: the case has moved on');
      } else {
        await recordFailure(trx, row, err, now, o, log);
        out.failed++;
      }
    }
  }
  if (batch.length > 0) {
    await sql`savepoint deadlines`.execute(trx);
    try {
      await writeLockedEvents(trx, batch.map((b) => ({ prepared: b.prepared, fired: { name: b.claim.name, event_type: b.claim.event_type, due_at: b.claim.due_at } })));
      await sql`release savepoint deadlines`.execute(trx);
      out.fired += batch.length;
      for (const { claim, prepared } of batch) log.debug({ case_id: claim.case_id, deadline: claim.name, event: claim.event_type, seq: prepared.audit.seq }, 'deadline fired');
    } catch (err) {
      await sql`rollback to savepoint deadlines`.execute(trx);
      log.warn({ err, deadlines: batch.length }, 'batched firing failed; firing those deadlines one by one');
      oneByOne.push(...batch.map((b) => b.claim));
    }
  }
  for (const row of oneByOne) {
    const r = await fireOne(trx, deps, row, now, o, log);
    out[r]++;
  }
  if (dropped.length > 0) await deleteDeadlines(trx, dropped);
  return out;
}

/** One deadline in its own savepoint, so a failing case is recorded and retried without undoing the others. */
async function fireOne(trx: Trx, deps: EngineDeps, row: Claimed, now: Date, o: typeof SWEEP_DEFAULTS, log: SchedulerLog): Promise<'fired' | 'skipped' | 'failed'> {
  await sql`savepoint deadline`.execute(trx);
  try {
    const wf = workflowByKind.get(row.kind);
    if (!wf) throw new Error(`no workflow for case kind ${row.kind}`);
    const { event } = await fireEventIn(trx, deps, wf, SYSTEM_CALLER, row.case_id, deadlineEvent(wf, row));
    // The engine rewrites deadlines only when they change; a fired one must go either way.
    await deleteDeadlines(trx, [row]);
    await sql`release savepoint deadline`.execute(trx);
    log.debug({ case_id: row.case_id, deadline: row.name, event: row.event_type, seq: event.seq }, 'deadline fired');
    return 'fired';
  } catch (err) {
    await sql`rollback to savepoint deadline`.execute(trx);
    if (err instanceof AppError && MOVED_ON.has(err.code)) {
      await deleteDeadlines(trx, [row]);
      await sql`release savepoint deadline`.execute(trx);
      log.info({ case_id: row.case_id, deadline: row.name, event: row.event_type, reason: err.detail }, 'deadline dropped: the case has moved on');
      return 'skipped';
    }
    await sql`release savepoint deadline`.execute(trx);
    await recordFailure(trx, row, err, now, o, log);
    return 'failed';
  }
}

async function recordFailure(trx: Trx, row: Claimed, err: unknown, now: Date, o: typeof SWEEP_DEFAULTS, log: SchedulerLog) {
  const attempts = row.attempts + 1;
  const delay = Math.min(o.retryBaseMs * 2 ** (attempts - 1), o.retryMaxMs);
  const message = (err instanceof AppError ? `${err.code}: ${err.detail}` : err instanceof Error ? err.message : String(err)).slice(0, 1000);
  await trx
    .updateTable('deadlines')
    .set({ attempts, last_error: message, next_attempt_at: new Date(now.getTime() + delay) })
    .where('case_id', '=', row.case_id)
    .where('name', '=', row.name)
    .execute();
  log.error({ err, case_id: row.case_id, deadline: row.name, event: row.event_type, attempts, retry_in_ms: delay }, 'deadline failed; will retry');
}

// Exactly the claimed deadlines: one the engine replaced with another time stays.
async function deleteDeadlines(trx: Trx, rows: Claimed[]) {
  await sql`
    delete from deadlines d
    using jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ case_id: r.case_id, name: r.name, event_type: r.event_type, due_at: r.due_at })))}::jsonb)
      as x(case_id uuid, name text, event_type text, due_at timestamptz)
    where d.case_id = x.case_id and d.name = x.name and d.event_type = x.event_type and d.due_at = x.due_at`.execute(trx);
}

async function anyDue(deps: EngineDeps): Promise<boolean> {
  const now = deps.now();
  const row = await deps.db
    .selectFrom('deadlines')
    .select('case_id')
    .where('due_at', '<=', now)
    .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// Same expiry rule as the idempotency plugin (database clock, 24 h), so a key it would still
// replay is never purged.
async function purgeIdempotencyKeys(deps: EngineDeps, limit: number): Promise<number> {
  const r = await sql`
    delete from idempotency_keys where (principal_id, key) in (
      select principal_id, key from idempotency_keys
      where created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
      limit ${limit})`.execute(deps.db);
  return Number(r.numAffectedRows ?? 0);
}

// ---- the periodic runner ------------------------------------------------------------------

export type SchedulerOptions = {
  intervalMs: number;
  log?: SchedulerLog;
  sweep?: SweepOptions;
  /** Replaces sweepOnce (tests). */
  sweepFn?: (deps: EngineDeps, opts: SweepOptions) => Promise<SweepResult>;
};

export type SchedulerStatus = {
  enabled: boolean;
  interval_ms: number;
  sweeps: number;
  last_sweep_at: string | null;
  last_sweep: Omit<SweepResult, 'failing'> | null;
  failing_deadlines: number;
  last_error: string | null;
  last_error_at: string | null;
};

/**
 * Runs sweepOnce every intervalMs, measured from the end of the previous sweep so two never
 * overlap; a sweep that stopped at its bound is followed at once by the next. Never throws:
 * a failed sweep is logged, shown in status() and retried at the next tick.
 */
export class Scheduler {
  private readonly runner: Periodic;
  private readonly log: SchedulerLog;
  private readonly state: SchedulerStatus;

  constructor(
    private readonly deps: EngineDeps,
    private readonly opts: SchedulerOptions,
  ) {
    this.log = opts.log ?? silent;
    this.state = {
      enabled: true,
      interval_ms: opts.intervalMs,
      sweeps: 0,
      last_sweep_at: null,
      last_sweep: null,
      failing_deadlines: 0,
      last_error: null,
      last_error_at: null,
    };
    this.runner = new Periodic(() => this.tick(), opts.intervalMs);
  }

  start(): void {
    this.runner.start();
  }

  /** Stops ticking and waits for a sweep in progress to finish its batch. */
  async stop(): Promise<void> {
    await this.runner.stop();
  }

  status(): SchedulerStatus {
    return { ...this.state, last_sweep: this.state.last_sweep && { ...this.state.last_sweep } };
  }

  /** One sweep; true when it stopped at its bound with due deadlines left (the next follows at once). */
  private async tick(): Promise<boolean> {
    try {
      const sweep = this.opts.sweepFn ?? sweepOnce;
      const r = await sweep(this.deps, { ...this.opts.sweep, log: this.log, shouldStop: () => this.runner.stopping });
      const { failing, ...counts } = r;
      this.state.sweeps++;
      this.state.last_sweep_at = this.deps.now().toISOString();
      this.state.last_sweep = counts;
      this.state.failing_deadlines = failing;
      const quiet = r.fired + r.skipped + r.failed + r.purged_idempotency_keys === 0;
      if (quiet) this.log.debug({ sweep: r }, 'deadline sweep');
      else this.log.info({ sweep: r }, 'deadline sweep');
      return r.more;
    } catch (err) {
      this.state.last_error = err instanceof Error ? err.message : String(err);
      this.state.last_error_at = new Date().toISOString();
      this.log.error({ err }, 'deadline sweep failed; retrying at the next tick');
      return false;
    }
  }
}
