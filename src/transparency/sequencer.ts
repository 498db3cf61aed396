// The sequencer beside the service (SPEC §7): every SEQUENCER_INTERVAL_MS it integrates the queued
// audit events into the log, then signs a checkpoint when the tree has grown and the last one is
// CHECKPOINT_INTERVAL_MS old. Each instance runs one; the log's head lock makes them take turns.
import type { Db } from '../db/types.js';
import { integrateAll, signCheckpoint, treeHead } from './log.js';
import type { LogKeys } from './keys.js';

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
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly state: SequencerStatus;

  constructor(
    private readonly deps: { db: Db; now: () => Date; keys: LogKeys; origin: string; log: Log },
    private readonly opts: { intervalMs: number; checkpointIntervalMs: number },
  ) {
    this.state = { enabled: opts.intervalMs > 0, interval_ms: opts.intervalMs, tree_size: null, last_checkpoint_size: null, last_error: null, last_error_at: null };
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

  start(): void {
    if (this.opts.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(() => {
          this.state.last_error = null;
        })
        .catch((err: unknown) => {
          this.state.last_error = err instanceof Error ? err.message : String(err);
          this.state.last_error_at = new Date().toISOString();
          this.deps.log.error({ err }, 'transparency log sequencer failed; will retry');
        })
        .finally(() => {
          this.running = null;
          this.schedule(this.opts.intervalMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  status(): SequencerStatus {
    return { ...this.state };
  }
}
