// The sequencer beside the service (SPEC §7): every SEQUENCER_INTERVAL_MS it integrates the queued
// audit events into the log, then signs a checkpoint when the tree has grown and the last one is
// CHECKPOINT_INTERVAL_MS old. Each instance runs one; the log's head lock makes them take turns.
import type { Db } from '../db/types.js';
import { integrateAll, signCheckpoint, treeHead } from './log.js';
import type { LogKeys } from './keys.js';
import { Periodic } from '../periodic.js';

type Log = { info(o: object, msg: string): void; error(o: object, msg: string): void; debug(o: object, msg: string): void };

export type SequencerStatus = {
  enabled: boolean;
  interval_ms: number;
  tree_size: number | null;
  last_checkpoint_size: number | null;
  last_error: string | null;
  last_error_at: string | null;
};

export class Sequencer {
  private readonly runner: Periodic;
  private readonly state: SequencerStatus;

  constructor(
    private readonly deps: { db: Db; now: () => Date; keys: LogKeys; origin: string; log: Log },
    private readonly opts: { intervalMs: number; checkpointIntervalMs: number },
  ) {
    this.state = { enabled: opts.intervalMs > 0, interval_ms: opts.intervalMs, tree_size: null, last_checkpoint_size: null, last_error: null, last_error_at: null };
    this.runner = new Periodic(() => this.tick(), opts.intervalMs);
  }

  /** One round: everything queued joins the log, then a checkpoint if one is due. Returns the leaves integrated. */
  async runOnce(): Promise<number> {
    const n = await integrateAll(this.deps.db);
    const cp = await signCheckpoint(this.deps.db, { signer: this.deps.keys.signer, origin: this.deps.origin, now: this.deps.now(), minIntervalMs: this.opts.checkpointIntervalMs });
    if (cp) {
      this.state.last_checkpoint_size = cp.tree_size;
      this.deps.log.debug({ tree_size: cp.tree_size }, 'checkpoint signed');
    }
    if (n > 0 || this.state.tree_size === null) this.state.tree_size = (await treeHead(this.deps.db)).size;
    return n;
  }

  private async tick(): Promise<void> {
    try {
      await this.runOnce();
      this.state.last_error = null;
    } catch (err) {
      this.state.last_error = err instanceof Error ? err.message : String(err);
      this.state.last_error_at = new Date().toISOString();
      this.deps.log.error({ err }, 'transparency log sequencer failed; will retry');
    }
  }

  /** Runs every SEQUENCER_INTERVAL_MS (0: not in this instance). */
  start(): void {
    if (this.opts.intervalMs > 0) this.runner.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  status(): SequencerStatus {
    return { ...this.state };
  }
}
