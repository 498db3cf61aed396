// Keeps one instance's principal cache honest when several instances share one PostgreSQL database.
//
// The promise: once `DELETE /v1/principals/:id` has answered 204, no instance accepts the token.
// Telling the other instances (NOTIFY at commit, heard on a LISTEN connection) is not enough by
// itself: delivery is asynchronous, so the 204 could reach the client before another instance has
// heard, and a connection that is lost loses what was sent on it. So:
//
// 1. Every change to principals bumps a generation and NOTIFYs it at commit (a trigger; see the
//    migration). Generations are numbered in commit order, the order they are delivered in.
// 2. Each instance holds a LISTEN connection of its own and a row in principal_cache_instances: a
//    lease it renews on that same connection, and the last generation it has acted on (`acked`).
//    Hearing generation g, it drops every cached principal and in-flight look-up (forgetPrincipals)
//    and then, only then, writes acked = g.
// 3. The revoker answers 204 only when no instance with a live lease has acked < g
//    (awaitPrincipalCaches in principals.ts). One that does not answer (hung, crashed, cut off) is
//    waited for until its lease runs out in the database.
// 4. An instance trusts its cache only while it listens on a connection it has not lost and its
//    lease holds by its own clock. The lease is counted from before the renewal was sent, so it
//    ends before the database's copy, which counts from when the renewal ran: an instance the
//    revoker stopped waiting for had stopped trusting its cache before. Meanwhile each request
//    reads the database.
// 5. Trust regained after any lapse (a lost connection, a lease run out) starts from an empty
//    cache: notifications may have been missed. A look-up that began before is not cached
//    (forgetPrincipals bumps the handle's generation), and one that begins after reads a database
//    in which every revocation nobody waited for this instance to hear has committed: a revoker
//    stops waiting for an instance only when its lease has run out, and a renewal after that is
//    what regains trust. A re-registration acks the generation it reads, for the same reason.
//
// Cost: per request, a clock read and two comparisons (a cache hit measured the same with and
// without, 3-8 µs, most of it the token's SHA-256). Per revocation, a round trip through every live
// instance's listener: measured with two instances on a loaded 2-core machine, from commit to the
// last ack read, median 6 ms, p90 22 ms; after an instance dies without closing, up to its lease
// (5 s). Per instance, one more connection and one lease renewal a second. The database's clock
// must not jump forward by more than TRUST_MARGIN_MS within a lease; the instances' clocks may be
// anything (each counts only durations on its own).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../db/index.js';
import { PRINCIPAL_CACHE_LEASE_MS, forgetPrincipals, guardPrincipalCache } from './principals.js';

const CHANNEL = 'principals_changed';
const RENEW_EVERY_MS = 1000;
const TRUST_MARGIN_MS = 1000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

type Log = { warn(obj: object, msg: string): void };

// On (re)connecting: notifications sent before LISTEN were missed, so the instance acks the
// generation it reads now and, when this answers, forgets everything. Long-dead rows are swept.
const REGISTER = `
  with swept as (delete from principal_cache_instances where lease_until < now() - interval '1 hour' and id <> $1)
  insert into principal_cache_instances (id, lease_until, acked)
  values ($1, now() + $2 * interval '1 millisecond', (select generation from principal_cache_generation))
  on conflict (id) do update set lease_until = excluded.lease_until, acked = excluded.acked`;
// `held`: the lease had not run out when renewed; if it had, a revoker may have stopped waiting for
// this instance, which must then forget what it cached. No row: it was swept; register again.
const RENEW = `
  with old as (select lease_until from principal_cache_instances where id = $1 for update)
  update principal_cache_instances set lease_until = now() + $2 * interval '1 millisecond'
  from old where id = $1 returning old.lease_until > now() as held`;
const ACK = `update principal_cache_instances set acked = greatest(acked, $2::bigint) where id = $1`;

class PrincipalCacheListener {
  readonly instance = randomUUID();
  users = 1;
  lapses = 0;
  private client: pg.Client | null = null;
  private listening = false;
  /** performance.now() until which the cache may answer. */
  private trustedUntil = 0;
  private renewal: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  /** The listener's statements, one at a time (pg 9 will refuse overlapping ones). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly unguard: () => void;

  constructor(
    private readonly db: object,
    private readonly url: string,
    private readonly log: Log,
  ) {
    this.unguard = guardPrincipalCache(db, this.trusted);
  }

  readonly trusted = (): boolean => this.listening && performance.now() < this.trustedUntil;

  private query<R extends pg.QueryResultRow>(client: pg.Client, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const run = this.queue.then(() => client.query<R>(text, values));
    this.queue = run.catch(() => {});
    return run;
  }

  status() {
    return { instance: this.instance, listening: this.listening, trusted: this.trusted(), lapses: this.lapses };
  }

  async connect(): Promise<void> {
    this.retry = null;
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `principal-cache ${this.instance}`,
      keepAlive: true,
      connectionTimeoutMillis: PRINCIPAL_CACHE_LEASE_MS,
      // A renewal stuck longer than the lease means the connection is as good as lost.
      query_timeout: PRINCIPAL_CACHE_LEASE_MS,
    });
    this.client = client;
    this.queue = Promise.resolve();
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => this.heard(client, n));
    try {
      await client.connect();
      await this.query(client, `LISTEN ${CHANNEL}`);
      const sent = performance.now();
      await this.query(client, REGISTER, [this.instance, PRINCIPAL_CACHE_LEASE_MS]);
      if (this.client !== client) return;
      this.trust(sent, false);
      this.retryMs = RETRY_MIN_MS;
      this.renewal = setInterval(() => void this.renew(client), RENEW_EVERY_MS);
      this.renewal.unref();
    } catch (err) {
      this.lost(client, err);
    }
  }

  /** Starts trusting the cache until the lease sent at `sent` runs out; after a lapse, from empty. */
  private trust(sent: number, held: boolean) {
    if (!held || !this.trusted()) forgetPrincipals(this.db, { relayed: true });
    this.listening = true;
    this.trustedUntil = sent + PRINCIPAL_CACHE_LEASE_MS - TRUST_MARGIN_MS;
  }

  private async renew(client: pg.Client) {
    const sent = performance.now();
    try {
      const { rows } = await this.query<{ held: boolean }>(client, RENEW, [this.instance, PRINCIPAL_CACHE_LEASE_MS]);
      if (this.client !== client) return;
      if (rows.length === 0) await this.query(client, REGISTER, [this.instance, PRINCIPAL_CACHE_LEASE_MS]);
      if (this.client !== client) return;
      this.trust(sent, rows[0]?.held === true);
    } catch (err) {
      this.lost(client, err);
    }
  }

  private heard(client: pg.Client, n: pg.Notification) {
    if (this.client !== client || n.channel !== CHANNEL || !n.payload) return;
    // Forget first, then say so: the revoker answers once it reads the ack.
    forgetPrincipals(this.db, { relayed: true });
    this.query(client, ACK, [this.instance, n.payload]).catch((err: unknown) => this.lost(client, err));
  }

  private lost(client: pg.Client, err?: unknown) {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    this.trustedUntil = 0;
    this.lapses++;
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    client.end().catch(() => {});
    if (this.stopped) return;
    this.log.warn({ err, retry_in_ms: this.retryMs }, 'lost the connection that hears of principal changes; reading principals from the database until it is back');
    this.retry = setTimeout(() => void this.connect(), this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    this.trustedUntil = 0;
    if (this.renewal) clearInterval(this.renewal);
    if (this.retry) clearTimeout(this.retry);
    this.unguard();
    const client = this.client;
    this.client = null;
    if (!client) return;
    // Revokers need not wait for this instance's lease to run out.
    await this.query(client, 'delete from principal_cache_instances where id = $1', [this.instance]).catch(() => {});
    await client.end().catch(() => {});
  }
}

// Apps built on one handle (tests do that) share its cache, so they share its listener too.
const listeners = new WeakMap<object, PrincipalCacheListener>();

/**
 * Guards the handle's principal cache with a listener of its own (PostgreSQL only: the embedded
 * database is one process and its revocations clear the one cache directly). Answers what stops it.
 */
export async function listenForPrincipalChanges(database: Database, log: Log): Promise<{ stop(): Promise<void> }> {
  if (database.embedded) return { stop: async () => {} };
  if (!database.url) {
    // Nothing to listen with: the cache is never trusted, rather than trusted blindly.
    const unguard = guardPrincipalCache(database.db, () => false);
    log.warn({}, 'no database URL to listen for principal changes on: every request reads its principal from the database');
    return { stop: async () => unguard() };
  }
  let listener = listeners.get(database.db);
  if (listener) listener.users++;
  else {
    listener = new PrincipalCacheListener(database.db, database.url, log);
    listeners.set(database.db, listener);
    // A start that cannot listen yet serves anyway, reading principals from the database meanwhile.
    await listener.connect();
  }
  const l = listener;
  let stopped = false;
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (--l.users > 0) return;
      listeners.delete(database.db);
      await l.stop();
    },
  };
}

/** How the handle's principal cache stands (null: nobody guards it). */
export function principalCacheStatus(db: object) {
  return listeners.get(db)?.status() ?? null;
}
