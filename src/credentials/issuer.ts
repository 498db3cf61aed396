// The credential issuer beside the service (SPEC §8): every CREDENTIAL_ISSUER_INTERVAL_MS it signs
// the credentials the queue asks for (new certificates, changed facts), a batch per transaction:
// the queue rows taken (SKIP LOCKED: several instances share the work), the credentials stored and
// audited, the rows deleted, all at once, so a crash at any point leaves the queue to do again.
// CERTIFY pays for one queue row; the signing is batched here.
import type { Db } from '../db/types.js';
import { Periodic } from '../periodic.js';
import { issueCredentials, type IssueOptions } from './credential.js';

type Log = { error(o: object, msg: string): void };

/** Issues the credentials of up to `limit` queued certificates; returns how many queue rows it took. */
export async function issueQueued(db: Db, opts: IssueOptions, limit = 500): Promise<{ taken: number; issued: number }> {
  return db.transaction().execute(async (trx) => {
    const queued = await trx.selectFrom('credential_queue').select('number').orderBy('number').limit(limit).forUpdate().skipLocked().execute();
    if (queued.length === 0) return { taken: 0, issued: 0 };
    const numbers = queued.map((r) => r.number);
    const issued = await issueCredentials(trx, numbers, opts);
    await trx.deleteFrom('credential_queue').where('number', 'in', numbers).execute();
    return { taken: numbers.length, issued };
  });
}

export class CredentialIssuer {
  private readonly runner: Periodic;
  private lastError: string | null = null;
  private closing = false;

  constructor(
    private readonly deps: { db: Db; options: () => IssueOptions; log: Log },
    private readonly intervalMs: number,
    private readonly batch = 500,
  ) {
    this.runner = new Periodic(() => this.tick(), intervalMs);
  }

  /** Empties the queue (batch after batch); returns the credentials issued. */
  async runOnce(): Promise<number> {
    let issued = 0;
    for (;;) {
      const r = await issueQueued(this.deps.db, this.deps.options(), this.batch);
      issued += r.issued;
      if (r.taken < this.batch || this.closing) return issued;
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.runOnce();
      this.lastError = null;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.deps.log.error({ err }, 'credential issuer failed; will retry');
    }
  }

  start(): void {
    if (this.intervalMs > 0) this.runner.start();
  }

  async stop(): Promise<void> {
    this.closing = true;
    await this.runner.stop();
  }

  status() {
    return { enabled: this.intervalMs > 0, interval_ms: this.intervalMs, last_error: this.lastError };
  }
}
