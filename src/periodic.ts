// A job run every so often beside the service (the deadline scheduler, the transparency log's
// sequencer): each run starts `intervalMs` after the previous one ended, so two never overlap; a
// run that returns true is followed at once (it stopped at a bound with work left). A run must not
// throw: it records its own failures and is tried again at the next tick.

export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly run: () => Promise<boolean | void>,
    private readonly intervalMs: number,
  ) {}

  /** True once stop() was called: a long run checks it to end early. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops ticking and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run()
        .then((more) => this.schedule(more === true ? 0 : this.intervalMs))
        .finally(() => {
          this.running = null;
        });
    }, delayMs);
    this.timer.unref();
  }
}
