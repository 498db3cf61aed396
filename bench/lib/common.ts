// Shared pieces of the benchmarks: databases of their own, the service as a child process, an
// HTTP load generator, percentiles and the machine description.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Connection } from './http-client.js';
import { loadLogKeys } from '../../src/transparency/keys.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const workDir = path.join(root, 'bench', '.work');

export const baseUrl = () => process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function log(msg: string) {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function urlFor(name: string): string {
  const u = new URL(baseUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** A new empty database on the benchmark server; drop() removes it (also on exit). */
export async function createDatabase(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const drop = async () => {
    const c = new pg.Client({ connectionString: baseUrl() });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
    cleanups.delete(drop);
  };
  cleanups.add(drop);
  return { name, url: urlFor(name), drop };
}

export const cleanups = new Set<() => Promise<void>>();

export async function runCleanups() {
  for (const c of [...cleanups].reverse()) {
    try {
      await c();
    } catch (err) {
      log(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export type Service = {
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first 200 of /health/ready. */
  readyMs: number;
  stop(): Promise<void>;
  logFile: string;
};

/**
 * Starts the service the way production does: `npm start` (tsx src/main.ts), or tsx directly
 * (`how: 'tsx'`, the same command without npm's wrapper), or with extra node flags (profiling).
 */
/** The log's origin in every benchmark service (by default it would follow each service's port). */
export const BENCH_LOG_ORIGIN = 'bench.registry.test/audit-log';

/** The benchmark log's verifier keys and origin, as verification takes them. */
export function benchLogKeys() {
  return { verifiers: loadLogKeys(benchSigningKeyFile(), BENCH_LOG_ORIGIN).verifiers, origin: BENCH_LOG_ORIGIN };
}

/** The benchmark's key for webhook secrets (SPEC §9), made once in the bench work directory. */
export function benchSecretsKeyFile(): string {
  const file = path.join(workDir, 'secrets-key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(workDir, { recursive: true });
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  }
  return file;
}

/** The benchmark's signing key for the transparency log, made once in the bench work directory. */
export function benchSigningKeyFile(): string {
  const file = path.join(workDir, 'signing-key.pem');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(workDir, { recursive: true });
    fs.writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  }
  return file;
}

export async function startService(
  env: Record<string, string>,
  opts: { how?: 'npm' | 'tsx' | 'node'; nodeArgs?: string[]; timeoutMs?: number; label?: string } = {},
): Promise<Service> {
  const port = await freePort();
  fs.mkdirSync(workDir, { recursive: true });
  const logFile = path.join(workDir, `${opts.label ?? 'service'}-${port}.log`);
  const out = fs.openSync(logFile, 'w');
  const how = opts.how ?? 'tsx';
  const [cmd, args] =
    how === 'npm'
      ? ['npm', ['start', '--silent']]
      : how === 'tsx'
        ? [path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts']]
        : [process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts']];
  const began = performance.now();
  const child: ChildProcess = spawn(cmd as string, args as string[], {
    cwd: root,
    env: {
      ...process.env,
      // Production's level: every request is logged (BENCH_LOG_LEVEL=warn measures without that).
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
      SCHEDULER_INTERVAL_MS: '0',
      RATE_LIMIT_MAX: '10000000',
      // The transparency log's key (SPEC §7) and the webhook secrets' (SPEC §9): required with PostgreSQL, never in the database.
      ...(env.DATABASE_URL ? { SIGNING_KEY_FILE: benchSigningKeyFile(), SECRETS_KEY_FILE: benchSecretsKeyFile() } : {}),
      LOG_ORIGIN: BENCH_LOG_ORIGIN,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let readyMs = 0;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/health/ready`);
      if (r.status === 200) {
        readyMs = performance.now() - began;
        break;
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      killGroup(child);
      throw new Error(`service not ready in time: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(20);
  }
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
    cleanups.delete(stop);
  };
  cleanups.add(stop);
  return { url, pid: child.pid!, readyMs, stop, logFile };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') {
  try {
    // The whole group we spawned (npm → sh → tsx → node), by its id.
    process.kill(-child.pid!, signal);
  } catch {
    /* already gone */
  }
}

// ---- HTTP --------------------------------------------------------------------------------------

export type LoadResult = { requests: number; errors: number; seconds: number; rps: number; latencies: Float64Array; statuses: Record<string, number> };

/** One side of an A/B benchmark's rounds: the median rate, each round's, p99 over all and the errors. */
export type RoundsFigure = { rate: number; rounds: number[]; p99: number; errors: number };
export function roundsFigure(rs: LoadResult[]): RoundsFigure {
  return { rate: median(rs.map((h) => h.rps)), rounds: rs.map((h) => round(h.rps, 0)), p99: pct(sortedOf(rs.flatMap((h) => [...h.latencies])), 99), errors: rs.reduce((n, h) => n + h.errors, 0) };
}

/**
 * Closed-loop load: `clients` workers, each on its own keep-alive connection (./http-client.ts),
 * sending its next request as soon as the previous answered, for `seconds`. `next()` gives each
 * request, or its bytes made beforehand (`encodeRequest`), which costs the generator less.
 */
export async function httpLoad(
  url: string,
  clients: number,
  seconds: number,
  next: () => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string } | { raw: Buffer | string },
  opts: { warmupSeconds?: number; expect?: number } = {},
): Promise<LoadResult> {
  const target = new URL(url);
  const expect = opts.expect ?? 200;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  const warmupEnd = performance.now() + (opts.warmupSeconds ?? 0) * 1000;
  let measureStart = 0;
  let stopAt = Infinity;
  let measuring = false;
  const worker = async () => {
    let conn = new Connection(target);
    for (;;) {
      const now = performance.now();
      if (now >= stopAt) break;
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        measureStart = now;
        stopAt = now + seconds * 1000;
      }
      const r = next();
      const t0 = performance.now();
      let status = 0;
      try {
        const res = 'raw' in r ? await conn.send(r.raw) : await conn.request(r.method, r.path, r.headers ?? {}, r.body);
        status = res.status;
        if (status !== expect && firstError === null) firstError = `${status} ${res.body.toString('utf8').slice(0, 300)}`;
      } catch (err) {
        if (firstError === null) firstError = String(err);
        conn.close();
        conn = new Connection(target);
      }
      const t1 = performance.now();
      if (measuring && t0 >= measureStart && t1 <= stopAt) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === expect) latencies.push(t1 - t0);
        else errors++;
      }
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: clients }, worker));
  if (firstError) log(`  first unexpected answer: ${firstError}`);
  const lat = Float64Array.from(latencies).sort();
  return { requests: lat.length, errors, seconds, rps: lat.length / seconds, latencies: lat, statuses };
}

/**
 * Closed loop over a fixed list: `clients` workers on their own keep-alive connections take the
 * next request of `requests` (encoded beforehand) as soon as their previous one is answered, until
 * every request has been sent once. Rounds of the same work, however fast the service goes.
 */
export async function sendAll(url: string, clients: number, requests: Array<Buffer | string>, expect = 200): Promise<LoadResult> {
  const target = new URL(url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  let i = 0;
  const t0 = performance.now();
  const worker = async () => {
    let conn = new Connection(target);
    while (i < requests.length) {
      const raw = requests[i++]!;
      const s = performance.now();
      let status = 0;
      try {
        const res = await conn.send(raw);
        status = res.status;
        if (status !== expect && firstError === null) firstError = `${status} ${res.body.toString('utf8').slice(0, 300)}`;
      } catch (err) {
        if (firstError === null) firstError = String(err);
        conn.close();
        conn = new Connection(target);
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === expect) latencies.push(performance.now() - s);
      else errors++;
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const seconds = (performance.now() - t0) / 1000;
  if (firstError) log(`  first unexpected answer: ${firstError}`);
  const lat = Float64Array.from(latencies).sort();
  return { requests: lat.length, errors, seconds, rps: lat.length / seconds, latencies: lat, statuses };
}

/**
 * SQL for how many items of one accumulating kind (`reports`, `incidents`, …) a case's record
 * counts, for records of either shape: the bounded `{count, latest_at}` of issue 19, or the list it
 * replaced (stored records are migrated, a benchmark may run on either side of that).
 */
export const recordCountSql = (field: string) =>
  `(case jsonb_typeof(record->'${field}') when 'object' then (record->'${field}'->>'count')::int when 'array' then jsonb_array_length(record->'${field}') else 0 end)`;

/** 'tally' when the records hold `{count, latest_at}` for `field`, 'list' when they hold the items. */
export const recordShapeSql = (field: string) => `(case jsonb_typeof(record->'${field}') when 'object' then 'tally' when 'array' then 'list' else 'none' end)`;

export async function http(url: string, method: string, p: string, body?: unknown, token?: string): Promise<any> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---- numbers -----------------------------------------------------------------------------------

export function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function sortedOf(xs: number[]): Float64Array {
  return Float64Array.from(xs).sort();
}

export const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
export function median(xs: number[]): number {
  const s = sortedOf(xs);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- the machine -------------------------------------------------------------------------------

export async function machine(): Promise<Record<string, string>> {
  const cpus = os.cpus();
  let pgVersion = 'unknown';
  try {
    const c = new pg.Client({ connectionString: baseUrl() });
    await c.connect();
    pgVersion = (await c.query('show server_version')).rows[0].server_version;
    const s = await c.query(`select name, current_setting(name) as value from pg_settings where name in ('shared_buffers', 'synchronous_commit', 'fsync', 'max_connections') order by name`);
    pgVersion += ` (${s.rows.map((r) => `${r.name}=${r.value}`).join(', ')})`;
    await c.end();
  } catch {
    /* reported as unknown */
  }
  let pgbench = 'unknown';
  try {
    pgbench = execFileSync('pgbench', ['--version']).toString().trim();
  } catch {
    /* reported as unknown */
  }
  return {
    date: new Date().toISOString(),
    cpu: `${cpus[0]?.model ?? 'unknown'}`,
    cores: String(cpus.length),
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    load: os.loadavg().map((x) => x.toFixed(2)).join(' / ') + ' (1/5/15 min load average at start)',
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgresql: pgVersion,
    pgbench,
  };
}

/**
 * A request answered two ways (through HTTP, and the SQL it sends run directly), timed one at a
 * time: each of the `n` requests once both ways untimed, then `rounds` rounds in which the two ways
 * take turns going first, request by request, so drift and caches fall on both alike.
 */
export async function interleaved(n: number, rounds: number, http: (i: number) => Promise<number>, direct: (i: number) => Promise<number>): Promise<Array<{ http: number[]; direct: number[] }>> {
  for (let i = 0; i < n; i++) {
    await direct(i);
    await http(i);
  }
  const times = Array.from({ length: n }, () => ({ http: [] as number[], direct: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      if ((r + i) % 2 === 0) {
        times[i]!.direct.push(await direct(i));
        times[i]!.http.push(await http(i));
      } else {
        times[i]!.http.push(await http(i));
        times[i]!.direct.push(await direct(i));
      }
    }
  }
  return times;
}
