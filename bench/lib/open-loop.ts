// Open-loop load: requests sent on a fixed schedule (request k at start + k / rate), whether or not
// earlier ones have been answered, so a service that falls behind builds a queue instead of slowing
// the load down. Each latency is measured from the request's scheduled time, not from when a
// connection was free to send it: time spent queued (in the service or here) counts. A closed loop
// (httpLoad) measures how fast the service can go; this measures how it holds a steady rate.
import { Connection } from './http-client.js';
import { pct } from './common.js';

export type Window = {
  /** Seconds from the start of the measured part (after the warm-up) to the window's start. */
  from: number;
  seconds: number;
  /** Requests scheduled in the window and written to a connection. */
  sent: number;
  /** Requests scheduled in the window that got an HTTP answer (any status). */
  answered: number;
  /** Requests scheduled in the window not answered 200: another status, a failed connection, or no answer by the end. */
  errors: number;
  p50: number;
  p99: number;
  /** The generator's own lateness: how long after its scheduled time a request was written (p99), ms. */
  sendLagP99: number;
};

export type OpenLoadResult = {
  rate: number;
  warmup: Window;
  windows: Window[];
  statuses: Record<string, number>;
  firstError: string | null;
  /** Connections open at most at once (the service's backlog as the generator saw it). */
  maxConnections: number;
};

type Bucket = { from: number; seconds: number; sent: number; answered: number; errors: number; latencies: number[]; lags: number[] };

/**
 * Sends `request(k)` for k = 0, 1, … at `rate` per second for `warmupSeconds + windows ×
 * windowSeconds`, each on an idle keep-alive connection (opening one, up to `maxConnections`, when
 * none is idle; beyond that requests wait here, their clock running). Requests still unanswered
 * `drainSeconds` after the last was scheduled count as errors. Reported per window of scheduled
 * time; the warm-up on its own.
 */
export async function openLoad(
  url: string,
  opts: {
    rate: number;
    warmupSeconds: number;
    windowSeconds: number;
    windows: number;
    request: (k: number) => Buffer | string;
    maxConnections?: number;
    drainSeconds?: number;
    expect?: number;
    /** Called when each window's last request has been scheduled (progress). */
    onScheduled?: (w: number) => void;
  },
): Promise<OpenLoadResult> {
  const target = new URL(url);
  const expect = opts.expect ?? 200;
  const maxConnections = opts.maxConnections ?? 256;
  const interval = 1000 / opts.rate;
  const total = Math.round(opts.rate * (opts.warmupSeconds + opts.windows * opts.windowSeconds));
  const bucket = (from: number, seconds: number): Bucket => ({ from, seconds, sent: 0, answered: 0, errors: 0, latencies: [], lags: [] });
  const warm = bucket(-opts.warmupSeconds, opts.warmupSeconds);
  const windows = Array.from({ length: opts.windows }, (_, w) => bucket(w * opts.windowSeconds, opts.windowSeconds));
  const bucketOf = (k: number) => {
    const s = k / opts.rate - opts.warmupSeconds;
    return s < 0 ? warm : windows[Math.min(opts.windows - 1, Math.floor(s / opts.windowSeconds))]!;
  };
  const statuses: Record<string, number> = {};
  let firstError: string | null = null;
  const idle: Connection[] = [];
  const open = new Set<Connection>();
  let maxOpen = 0;
  const queue: number[] = [];
  let queueHead = 0;
  let nextK = 0;
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((r) => (finished = r));
  let t0 = 0;
  const scheduled = (k: number) => t0 + k * interval;

  const settled = new Uint8Array(total);
  const settle = (k: number, status: number | null, err?: string) => {
    if (settled[k]) return;
    settled[k] = 1;
    const b = bucketOf(k);
    const key = status === null ? 'failed' : String(status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (status !== null) b.answered++;
    if (status === expect) b.latencies.push(performance.now() - scheduled(k));
    else {
      b.errors++;
      if (firstError === null) firstError = err ?? `status ${status}`;
    }
    if (++done === total) finished();
  };
  const take = (): Connection | null => {
    while (idle.length > 0) {
      const c = idle.shift()!; // oldest first, so every pooled connection stays in use
      if (!c.broken) return c;
      c.close();
      open.delete(c);
    }
    if (open.size >= maxConnections) return null;
    const c = new Connection(target);
    open.add(c);
    maxOpen = Math.max(maxOpen, open.size);
    return c;
  };
  const dispatch = () => {
    while (queueHead < queue.length) {
      const conn = take();
      if (!conn) return;
      const k = queue[queueHead++]!;
      if (queueHead > 4096 && queueHead * 2 > queue.length) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      const b = bucketOf(k);
      b.sent++;
      b.lags.push(performance.now() - scheduled(k));
      conn.send(opts.request(k)).then(
        (res) => {
          if (res.status !== expect && firstError === null) firstError = `${res.status} ${res.body.toString('utf8').slice(0, 300)}`;
          settle(k, res.status);
          idle.push(conn);
          dispatch();
        },
        (err: unknown) => {
          conn.close();
          open.delete(conn);
          settle(k, null, String(err));
          dispatch();
        },
      );
    }
  };
  let lastWindowAnnounced = -1;
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    timer = null;
    const now = performance.now();
    while (nextK < total && scheduled(nextK) <= now) queue.push(nextK++);
    dispatch();
    if (opts.onScheduled) {
      const s = nextK / opts.rate - opts.warmupSeconds;
      const w = Math.floor(s / opts.windowSeconds) - 1;
      for (; lastWindowAnnounced < Math.min(w, opts.windows - 1); ) opts.onScheduled(++lastWindowAnnounced);
    }
    if (nextK < total) timer = setTimeout(tick, Math.max(0, scheduled(nextK) - performance.now()));
  };
  t0 = performance.now();
  tick();
  // Everything scheduled, then at most drainSeconds for the answers.
  const scheduleEnds = new Promise<void>((r) => {
    const check = () => (nextK >= total ? r() : setTimeout(check, 100));
    check();
  });
  await scheduleEnds;
  if (opts.onScheduled) while (lastWindowAnnounced < opts.windows - 1) opts.onScheduled(++lastWindowAnnounced);
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([allDone.then(() => true), new Promise<boolean>((r) => (drainTimer = setTimeout(() => r(false), (opts.drainSeconds ?? 30) * 1000)))]);
  clearTimeout(drainTimer);
  if (timer) clearTimeout(timer);
  if (!drained) {
    // Requests never written, and those written but unanswered (closing their connections fails them).
    for (let q = queueHead; q < queue.length; q++) settle(queue[q]!, null, 'not sent by the end of the drain');
    queue.length = 0;
    queueHead = 0;
    for (const c of open) c.close();
    // A connection closed before it connected never answers either way: what is left after a
    // moment failed too.
    await Promise.race([allDone, new Promise((r) => setTimeout(r, 5000))]);
    for (let k = 0; k < total; k++) if (!settled[k]) settle(k, null, 'no answer by the end of the drain');
  }
  for (const c of open) c.close();
  const summary = (b: Bucket): Window => {
    const lat = Float64Array.from(b.latencies).sort();
    const lags = Float64Array.from(b.lags).sort();
    return { from: b.from, seconds: b.seconds, sent: b.sent, answered: b.answered, errors: b.errors, p50: pct(lat, 50), p99: pct(lat, 99), sendLagP99: pct(lags, 99) };
  };
  return { rate: opts.rate, warmup: summary(warm), windows: windows.map(summary), statuses, firstError, maxConnections: maxOpen };
}
