// Several worker processes serving one port (WORKERS > 1, PostgreSQL only). One Node process runs
// JavaScript on one core; on a machine with more, the service's own work (HTTP, judging events,
// hashing, JSON) is what bounds it (bench/README.md), so each core gets a worker. Each worker is
// the whole service (buildApp), as two instances behind a load balancer would be: events are
// version-checked in the database, the scheduler claims deadlines with row locks, idempotency keys
// are rows. What is per process is said where it matters: the principal cache (each worker listens
// for principal changes and acknowledges them like any instance, registry/principal-notifications.ts;
// a revocation is also passed on to the sibling workers here, which only makes it quicker), the rate
// limiter's counters (each worker counts the requests it serves) and the event batcher.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { migrateToLatest, openDatabase } from './db/index.js';
import { ensureAdmin } from './registry/principals.js';

/** What the workers and the primary say to each other. */
export type WorkerMessage = { type: 'principals-changed' };

// A worker that dies is replaced; one that keeps dying soon after it starts stops the service
// rather than looping.
const RESTART_DELAY_MS = 1000;
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
const SHUTDOWN_GRACE_MS = 15_000;

/**
 * The primary: migrates the database and makes the bootstrap admin once (so a new database gets
 * one admin and its token is printed once), then forks the workers, passes principal changes
 * between them, replaces a worker that dies, and on SIGTERM/SIGINT stops them all and exits.
 */
export async function runPrimary(config: Config, log: Logger, onBootstrapToken: (token: string) => void): Promise<void> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    await migrateToLatest(database.db);
    const bootstrap = await ensureAdmin(database.db, config.adminToken);
    if (bootstrap) onBootstrapToken(bootstrap.token);
  } finally {
    await database.close();
  }

  let stopping = false;
  const restarts: number[] = [];
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (m: WorkerMessage) => {
      if (m?.type !== 'principals-changed') return;
      for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker && other.isConnected()) other.send(m);
    });
    return worker;
  };
  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > MAX_RESTARTS) {
      log.fatal({ worker_pid: worker.process.pid, code, signal }, `workers died ${restarts.length} times within ${RESTART_WINDOW_MS / 1000} s; stopping`);
      void stop(1);
      return;
    }
    log.error({ worker_pid: worker.process.pid, code, signal }, 'a worker died; starting another');
    setTimeout(() => !stopping && fork(), RESTART_DELAY_MS).unref();
  });
  const stop = async (exitCode: number, signal?: string) => {
    if (stopping) return;
    stopping = true;
    if (signal) log.info({ signal }, 'shutting down the workers');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => Boolean(w && !w.isDead()));
    const exited = Promise.all(alive.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve())))));
    for (const w of alive) w.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS);
    await exited;
    clearTimeout(timer);
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('SIGINT', () => void stop(0, 'SIGINT'));
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers }, 'workers started');
}

/** In a worker: tell the siblings when principals change here, and hear when they change there. */
export function joinSiblings(forget: () => void, onChanged: (listener: () => void) => void): void {
  if (!cluster.isWorker) return;
  onChanged(() => process.send?.({ type: 'principals-changed' } satisfies WorkerMessage));
  process.on('message', (m: WorkerMessage) => {
    if (m?.type === 'principals-changed') forget();
  });
}
