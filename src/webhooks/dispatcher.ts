// The webhook dispatcher (SPEC §9): delivers the outbox (webhook_deliveries, written by a trigger in
// the statement of the audit event they report) at least once, and queues deadline reminders.
//
// Why our own claim rather than graphile-worker 0.16 or pg-boss 10: both are well kept, but both
// would be a second queue beside the outbox the trigger already writes in the event's statement (a
// job would have to be added from SQL in that trigger, in their internal table layout, which they
// do not promise to keep), both bring their own migrations and schema into our database and their
// own polling or LISTEN loops and connection handling, and neither is known to run on the embedded
// PGlite (one connection, no LISTEN across processes), which must keep working. Their latest
// releases need Node 22 and the versions for Node 20 are the ones that will stop getting fixes. What
// the outbox needs is small and is what the deadline scheduler already does: claim due rows with
// FOR UPDATE SKIP LOCKED, here marked with a lease (locked_until) and committed at once, so no
// transaction stays open across an HTTP call and another instance skips them; a lease that is not
// renewed (the instance died) expires and the rows are claimed again (at least once). The delivery
// id is the `webhook-id` of every attempt, so receivers de-duplicate.
//
// Order: the oldest pending deliveries are claimed first; those of one endpoint are started in that
// order, a few at a time (receivers order by `timestamp`; one at a time would cap an endpoint at one
// round trip per delivery). A failed one waits for its retry while later ones go on; after a failure
// no more of the endpoint's claimed deliveries are started this round: they are released for the next
// rather than each waiting out the timeout now. Every time is the service's clock (tests move it).
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { Periodic } from '../periodic.js';
import { bodyOf, signedHeaders, type Message } from './messages.js';
import { send, systemLookup, type Lookup, type SendResult } from './http.js';
import type { SecretBox } from './secrets.js';
import { queueReminders } from './reminders.js';
import { disableFailing, sweepOrphans } from './housekeeping.js';

export { DISABLE_AFTER_MS } from './housekeeping.js';

type LogFn = (obj: object, msg?: string) => void;
export type DispatchLog = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };
const silent: DispatchLog = { debug() {}, info() {}, warn() {}, error() {} };

export type DispatchDeps = { db: Db; now: () => Date; box: SecretBox; allowPrivate: boolean; lookup?: Lookup; log?: DispatchLog; random?: () => number; timeoutMs?: number };
export type DispatchOptions = { intervalMs: number; batchSize?: number; leaseMs?: number };

// The retry delays before the 2nd, 3rd, … attempt (then the last, again and again), each
// lengthened by up to a fifth at random so receivers that failed together are not retried together.
// Within the 3-day window (expires_at) that is about a dozen attempts.
export const RETRY_DELAYS_MS = [5_000, 60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000];

/** Deliveries of one endpoint in flight at once (started oldest first). */
export const PER_ENDPOINT = 16;

export function retryDelay(attempts: number, random: () => number): number {
  const base = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1]!;
  return Math.round(base * (1 + random() * 0.2));
}

type Claimed = {
  id: string;
  endpoint_id: string;
  type: string;
  data: Record<string, unknown> | null;
  created_at: Date;
  attempts: number;
  expires_at: Date;
  url: string;
  secret_ciphertext: Buffer;
  case_id: string | null;
  number: string | null;
  kind: string | null;
  event: string | null;
  from_state: string | null;
  to_state: string | null;
  at: Date | null;
};

export type DispatchResult = { claimed: number; delivered: number; failed: number; released: number; reminders: number; disabled: number; orphans: number };
const emptyResult = (): DispatchResult => ({ claimed: 0, delivered: 0, failed: 0, released: 0, reminders: 0, disabled: 0, orphans: 0 });

/** The message of a claimed delivery, the same bytes on every attempt (audit rows and case numbers never change). */
export function messageOf(d: Claimed): Message {
  const data =
    d.data ??
    ({ case_id: d.case_id, number: d.number, kind: d.kind, event: d.event, from_state: d.from_state, to_state: d.to_state, at: d.at!.toISOString() } as Record<string, unknown>);
  return { type: d.type, timestamp: d.created_at.toISOString(), data };
}

export class Dispatcher {
  private readonly runner: Periodic;
  private readonly log: DispatchLog;
  private readonly lookup: Lookup;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private lastHousekeeping = -Infinity;
  /** Deliveries this instance holds under its lease (claimed, being sent, or waiting to be recorded): renewed until let go. */
  private readonly held = new Set<string>();
  private renewer: NodeJS.Timeout | null = null;
  /** The next batch, claimed while the current one is sent (the runner's rounds only). */
  private prefetched: Promise<Claimed[]> | null = null;
  /** The outcomes of sent batches being recorded while the next is sent. */
  private readonly recording = new Set<Promise<void>>();
  private readonly state = { rounds: 0, delivered: 0, failed: 0, last_error: null as string | null, last_error_at: null as string | null };

  constructor(
    private readonly deps: DispatchDeps,
    private readonly opts: DispatchOptions,
  ) {
    this.log = deps.log ?? silent;
    this.lookup = deps.lookup ?? systemLookup;
    this.random = deps.random ?? Math.random;
    this.batchSize = opts.batchSize ?? 500;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.runner = new Periodic(() => this.tick(), opts.intervalMs);
  }

  start(): void {
    if (this.opts.intervalMs > 0) this.runner.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
    // A batch claimed ahead is let go now rather than when its lease runs out; outcomes being
    // recorded are waited for.
    const ahead = this.prefetched;
    this.prefetched = null;
    if (ahead) await ahead.then((list) => this.release(list.map((d) => d.id))).catch(() => {});
    await Promise.allSettled([...this.recording]);
    this.stopRenewing();
  }

  /** One timer renews every lease this instance holds, while it holds any: only a dead instance's claims expire. */
  private hold(ids: string[]) {
    for (const id of ids) this.held.add(id);
    if (!this.renewer) {
      this.renewer = setInterval(() => void this.renew([...this.held]).catch(() => {}), Math.max(50, this.leaseMs / 3));
      this.renewer.unref();
    }
  }

  private letGo(ids: string[]) {
    for (const id of ids) this.held.delete(id);
    if (this.held.size === 0) this.stopRenewing();
  }

  private stopRenewing() {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = null;
  }

  status() {
    return { enabled: this.opts.intervalMs > 0, interval_ms: this.opts.intervalMs, ...this.state };
  }

  /**
   * The runner's round: as dispatchOnce, pipelined. A full batch has the next one claimed while it is
   * sent, and its outcomes recorded while the next is sent, so neither statement's round trip stands
   * between two batches' requests (a batch is sent only after the one before it was, so each
   * endpoint's deliveries still start oldest first). Claimed rows stay leased until recorded.
   */
  private async tick(): Promise<boolean> {
    try {
      // Reminders and the disabling of failing endpoints once per interval, not in every round of a
      // backlog: under a steady stream a round chasing the next few deliveries would pay for them.
      const housekeeping = performance.now() - this.lastHousekeeping >= this.opts.intervalMs;
      if (housekeeping) this.lastHousekeeping = performance.now();
      const out = emptyResult();
      if (housekeeping) await this.housekeep(out);
      // At most one batch's outcomes still being recorded when the next is sent (a slow database slows the sending too).
      while (this.recording.size > 1) await Promise.race(this.recording);
      const ahead = this.prefetched;
      this.prefetched = null;
      const claimed = ahead ? await ahead : await this.claim();
      if (claimed.length >= this.batchSize && !this.runner.stopping) {
        const next = this.claim();
        next.catch(() => {}); // its failure is met when it is awaited, at the next round
        this.prefetched = next;
      }
      await this.deliverClaimed(claimed, out, { deferRecords: true });
      return this.prefetched !== null;
    } catch (err) {
      this.state.last_error = err instanceof Error ? err.message : String(err);
      this.state.last_error_at = new Date().toISOString();
      this.log.error({ err }, 'webhook dispatch failed; retrying at the next tick');
      return false;
    }
  }

  private async housekeep(out: DispatchResult) {
    out.reminders = await queueReminders(this.deps.db, this.deps.now());
    out.disabled = await disableFailing(this.deps.db, this.deps.now(), this.log);
    out.orphans = await sweepOrphans(this.deps.db, this.log);
  }

  /** One round: reminders due are queued, endpoints failing too long disabled, due deliveries claimed, sent and recorded. */
  async dispatchOnce(opts: { only?: string; housekeeping?: boolean } = {}): Promise<DispatchResult> {
    const out = emptyResult();
    if (!opts.only && opts.housekeeping !== false) await this.housekeep(out);
    return this.deliverClaimed(await this.claim(opts.only), out, { deferRecords: false });
  }

  private async deliverClaimed(claimed: Claimed[], out: DispatchResult, opts: { deferRecords: boolean }): Promise<DispatchResult> {
    out.claimed = claimed.length;
    if (claimed.length === 0) return out;
    const byEndpoint = new Map<string, Claimed[]>();
    for (const d of claimed) byEndpoint.set(d.endpoint_id, [...(byEndpoint.get(d.endpoint_id) ?? []), d]);
    const records: Array<Promise<void>> = [];
    await Promise.all(
      [...byEndpoint.values()].map(async (list) => {
        const r = await this.deliverInOrder(list);
        out.delivered += r.delivered;
        out.failed += r.failed;
        out.released += r.released;
        records.push(r.recorded);
      }),
    );
    const recorded = Promise.all(records).then(() => {});
    if (opts.deferRecords) {
      // Until recorded the rows stay leased (renewed by hold()); a failure leaves them to their
      // lease's end and another attempt: at least once.
      const tracked = recorded.catch((err) => {
        this.state.last_error = err instanceof Error ? err.message : String(err);
        this.state.last_error_at = new Date().toISOString();
        this.log.error({ err }, 'webhook attempts could not be recorded; the deliveries go again when their lease ends');
      });
      this.recording.add(tracked);
      void tracked.finally(() => this.recording.delete(tracked));
    } else await recorded;
    this.state.rounds++;
    this.state.delivered += out.delivered;
    this.state.failed += out.failed;
    return out;
  }

  /**
   * Runs a statement of the dispatcher's with index scans only. Each reads or writes a batch of rows
   * found by key or off the due index in its order; the planner would choose those plans anyway, but
   * not while the outbox's statistics still say it is small (a burst of events written since
   * autovacuum last analyzed it): it then reads every due row and sorts them for each claim, and
   * scans the whole outbox to join each batch's outcomes (measured, 260,000 due after a burst:
   * 5,520 deliveries/s, against 11,265/s once analyzed). No table may be scanned whole or by bitmap,
   * nor joined by hashing or merging (a hash join over a whole index scan was the stale plan that
   * recorded each batch: 8,077/s with it, 10,563/s without), so the index lookups are what is left.
   * (Forbidding sorts instead made the claim worse.)
   */
  private byIndex<T>(run: (db: Db) => Promise<T>): Promise<T> {
    return this.deps.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      await sql`set local enable_bitmapscan = off`.execute(trx);
      await sql`set local enable_hashjoin = off`.execute(trx);
      await sql`set local enable_mergejoin = off`.execute(trx);
      return run(trx);
    });
  }

  /** Claims due deliveries of enabled endpoints (or the one named, a ping), oldest first, under a lease; committed at once. */
  private async claim(only?: string): Promise<Claimed[]> {
    const now = this.deps.now();
    const until = new Date(now.getTime() + this.leaseMs);
    const due = only
      ? sql`select d.id from webhook_deliveries d where d.id = ${only} and d.status = 'pending' for update skip locked`
      : sql`select d.id from webhook_deliveries d join webhook_endpoints w on w.id = d.endpoint_id and w.enabled
            where d.status = 'pending' and d.next_attempt_at <= ${now} and (d.locked_until is null or d.locked_until <= ${now})
            order by d.next_attempt_at, d.seq limit ${this.batchSize} for update of d skip locked`;
    const claim = sql<Claimed>`
      with c as (
        update webhook_deliveries d set locked_until = ${until}
        where d.id in (${due})
        returning d.id, d.seq, d.endpoint_id, d.type, d.data, d.created_at, d.attempts, d.expires_at, d.audit_id
      )
      select c.id, c.endpoint_id, c.type, c.data, c.created_at, c.attempts, c.expires_at, w.url, w.secret_ciphertext,
             a.case_id, k.number, a.kind, a.type as event, a.from_state, a.to_state, a.at
      from c join webhook_endpoints w on w.id = c.endpoint_id
      left join audit_events a on a.id = c.audit_id
      left join cases k on k.id = a.case_id
      order by c.seq`;
    // The due batch is read off the due index in its order, stopping at the batch's size (byIndex).
    const r = await this.byIndex((db) => claim.execute(db));
    this.hold(r.rows.map((row) => row.id));
    return r.rows.map((row) => ({ ...row, created_at: new Date(row.created_at), expires_at: new Date(row.expires_at), at: row.at && new Date(row.at) }));
  }

  /**
   * Renews the leases held. Rows locked at that moment (a batch's outcomes being recorded, which
   * ends their lease anyway) are skipped, not waited for: a renewal that waited for a recording,
   * while that recording waited for a row the renewal had updated, was a deadlock.
   */
  private async renew(ids: string[]) {
    const until = new Date(this.deps.now().getTime() + this.leaseMs);
    const statement = sql`
      update webhook_deliveries set locked_until = ${until}
       where id in (select id from webhook_deliveries where id = any(${ids}::uuid[]) and status = 'pending' and locked_until is not null for update skip locked)`;
    await this.byIndex((db) => statement.execute(db));
  }

  private async release(ids: string[]) {
    try {
      await this.byIndex((db) => sql`update webhook_deliveries set locked_until = null where id = any(${ids}::uuid[])`.execute(db));
    } finally {
      this.letGo(ids);
    }
  }

  /**
   * One endpoint's claimed deliveries, started oldest first, up to PER_ENDPOINT at a time; after a
   * failure no more are started this round (the endpoint may be down: the rest are released for the
   * next round instead of each waiting out the timeout now). Their outcomes are recorded together.
   */
  private async deliverInOrder(list: Claimed[]): Promise<{ delivered: number; failed: number; released: number; recorded: Promise<void> }> {
    const outcomes: Array<{ d: Claimed; r: SendResult; at: Date }> = [];
    let next = 0;
    let failed = false;
    // The secret is decrypted once per endpoint and round (if it cannot be, every attempt fails saying why).
    let secret: string | Error;
    try {
      secret = this.deps.box.open(list[0]!.secret_ciphertext, list[0]!.endpoint_id);
    } catch (err) {
      secret = err as Error;
    }
    const worker = async () => {
      while (!failed && next < list.length) {
        const d = list[next++]!;
        const at = this.deps.now();
        const r = await this.attempt(d, at, secret);
        outcomes.push({ d, r, at });
        if (!r.ok) failed = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PER_ENDPOINT, list.length) }, worker));
    const rest = list.slice(next).map((d) => d.id);
    if (rest.length) await this.release(rest);
    const sent = outcomes.map((o) => o.d.id);
    const recorded = this.record(outcomes).finally(() => this.letGo(sent));
    recorded.catch(() => {}); // met by whoever awaits it
    const ok = outcomes.filter((o) => o.r.ok).length;
    return { delivered: ok, failed: outcomes.length - ok, released: rest.length, recorded };
  }

  /** One attempt: the message signed with the endpoint's secret and sent; never throws. */
  private async attempt(d: Claimed, at: Date, secret: string | Error): Promise<SendResult> {
    const body = bodyOf(messageOf(d));
    try {
      if (secret instanceof Error) throw secret;
      return await send(d.url, body, signedHeaders(secret, d.id, at, body), { allowPrivate: this.deps.allowPrivate, lookup: this.lookup, timeoutMs: this.deps.timeoutMs });
    } catch (err) {
      return { status: null, body: null, error: `cannot sign: ${(err as Error).message}`, ok: false, duration_ms: 0 };
    }
  }

  /**
   * The attempts of one endpoint's round, in one statement: each attempt logged, each delivery
   * delivered, pending with its next time, or failed once that time is past its window; the endpoint
   * failing since its first failure unless one attempt succeeded.
   */
  private async record(outcomes: Array<{ d: Claimed; r: SendResult; at: Date }>) {
    if (outcomes.length === 0) return;
    const rows = outcomes.map(({ d, r, at }) => {
      const attempts = d.attempts + 1;
      const next = new Date(at.getTime() + retryDelay(attempts, this.random));
      const status = r.ok ? 'delivered' : next.getTime() > d.expires_at.getTime() ? 'failed' : 'pending';
      if (r.ok) this.log.debug({ delivery: d.id, endpoint: d.endpoint_id, status: r.status }, 'webhook delivered');
      else this.log.info({ delivery: d.id, endpoint: d.endpoint_id, status: r.status, error: r.error, attempts, outcome: status }, 'webhook attempt failed');
      return { id: d.id, at: at.toISOString(), status_code: r.status, error: r.error?.slice(0, 1000) ?? null, duration_ms: r.duration_ms, body: r.body, status, attempts, next_attempt_at: (r.ok ? at : next).toISOString(), ok: r.ok };
    });
    const endpoint = outcomes[0]!.d.endpoint_id;
    const anyOk = rows.some((r) => r.ok);
    const firstFailure = rows.find((r) => !r.ok)?.at ?? null;
    const statement = sql`
      with r as (
        select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as r(id uuid, at timestamptz, status_code integer, error text, duration_ms integer, body text, status text, attempts integer, next_attempt_at timestamptz, ok boolean)
      ),
      a as (
        insert into webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms, response_body)
        select id, at, status_code, error, duration_ms, body from r
      ),
      u as (
        update webhook_deliveries d
           set status = r.status, attempts = r.attempts, last_attempt_at = r.at, last_status_code = r.status_code, last_error = r.error,
               next_attempt_at = r.next_attempt_at, locked_until = null, delivered_at = case when r.ok then r.at end
          from r where d.id = r.id
      )
      update webhook_endpoints set failing_since = ${anyOk ? null : sql`coalesce(failing_since, ${firstFailure}::timestamptz)`}
       where id = ${endpoint} and failing_since is distinct from ${anyOk ? null : sql`coalesce(failing_since, ${firstFailure}::timestamptz)`}`;
    await this.byIndex((db) => statement.execute(db));
  }
}
