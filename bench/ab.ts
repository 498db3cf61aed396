// A/B of two variants of the service: two services (from two checkouts, A_ROOT/B_ROOT, or with two
// environments, A_ENV/B_ENV="NAME=value …") on one new database with 10,000 cases in `testing`,
// benchmark 1's load sent to each in turn, ABBA, ROUNDS times SECONDS_PER seconds. The machine's load
// drifts over minutes; rounds side by side share it, so the per-round ratio is the figure to read.
//   A_ROOT=/path/to/other/checkout npx tsx bench/ab.ts
//   B_ENV="WORKERS=2" ROUNDS=6 npx tsx bench/ab.ts
//   CASES=100000 REPORTS=8 … (records of a steady size: see below)
//   A_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/.work/prof" …  (node flags: runs node --import tsx, not tsx)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { BENCH_LOG_ORIGIN, benchSecretsKeyFile, benchSigningKeyFile, createDatabase, freePort, httpLoad, pct, sortedOf, median, round, sleep, workDir } from './lib/common.js';
import { adminToken, createCast, reportPayload } from './lib/cast.js';
import { loadSandboxCases } from './lib/load.js';
import { cpuSampler } from './lib/cpu.js';
import { encodeRequest } from './lib/http-client.js';

const variants = [
  variant('A'),
  variant('B'),
];
function variant(name: 'A' | 'B') {
  const env = Object.fromEntries((process.env[`${name}_ENV`] ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const nodeArgs = (process.env[`${name}_NODE_ARGS`] ?? '').split(' ').filter(Boolean);
  return { name, root: process.env[`${name}_ROOT`] ?? process.cwd(), env, nodeArgs };
}
const rounds = Number(process.env.ROUNDS ?? 8);
const seconds = Number(process.env.SECONDS_PER ?? 6);
const db = await createDatabase('bench_ab');
const admin = adminToken();
async function start(v: (typeof variants)[number]) {
  const port = await freePort();
  fs.mkdirSync(workDir, { recursive: true });
  const out = fs.openSync(path.join(workDir, `ab-${v.name}.log`), 'w');
  const [cmd, args] = v.nodeArgs.length ? [process.execPath, [...v.nodeArgs, '--import', 'tsx', 'src/main.ts']] : [path.join(v.root, 'node_modules/.bin/tsx'), ['src/main.ts']];
  const child = spawn(cmd, args, { cwd: v.root, env: { ...process.env, LOG_LEVEL: 'info', SCHEDULER_INTERVAL_MS: '0', RATE_LIMIT_MAX: '10000000', DATABASE_URL: db.url, SIGNING_KEY_FILE: benchSigningKeyFile(), SECRETS_KEY_FILE: benchSecretsKeyFile(), LOG_ORIGIN: BENCH_LOG_ORIGIN, ADMIN_TOKEN: admin, ...v.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', out, out], detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (;;) { try { const r = await fetch(`${url}/health/ready`); if (r.ok) break; } catch {} await sleep(100); }
  return { ...v, url, pid: child.pid!, stop: () => { try { process.kill(-child.pid!, 'SIGTERM'); } catch {} } };
}
const svcs = [] as Awaited<ReturnType<typeof start>>[];
try {
  svcs.push(await start(variants[0]!));
  svcs.push(await start(variants[1]!));
  const cast = await createCast(svcs[0]!.url, admin);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const now = Date.now();
  // CASES and REPORTS (reports each case already has): with many cases the records grow little
  // during the rounds, so that a late round is not slower for its larger records alone.
  const cases = await loadSandboxCases(client, cast, { count: Number(process.env.CASES ?? 10000), reports: Number(process.env.REPORTS ?? 0), state: 'testing', firstNumber: 1, startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
  await client.query('vacuum analyze');
  const reqs = Array.from({ length: 16384 }, (_, i) => encodeRequest('POST', `/v1/sandbox-cases/${cases[Math.floor(Math.random() * cases.length)]}/events`, { authorization: `Bearer ${cast.applicantToken}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(i) })));
  let i = 0;
  const next = () => ({ raw: reqs[i++ % reqs.length]! });
  for (const s of svcs) await httpLoad(s.url, 32, 4, next);
  const res: Record<string, { rps: number[]; lat: number[]; cpu: number[]; pg: number[] }> = { A: { rps: [], lat: [], cpu: [], pg: [] }, B: { rps: [], lat: [], cpu: [], pg: [] } };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const s = svcs[k]!;
      const cpu = cpuSampler({ dbUrl: db.url, dbName: db.name, servicePgrp: s.pid });
      const h = await httpLoad(s.url, 32, seconds, next);
      const c = await cpu.stop();
      res[s.name]!.rps.push(h.rps);
      res[s.name]!.lat.push(...h.latencies);
      res[s.name]!.cpu.push((1000 * c.service) / (h.requests + h.errors));
      res[s.name]!.pg.push((1000 * c.postgres) / (h.requests + h.errors));
      console.log(`round ${r} ${s.name}: pg ${round((1000 * c.postgres) / (h.requests + h.errors), 3)} ${round(h.rps, 0)}/s p99 ${round(pct(sortedOf([...h.latencies]), 99))} svc ${round((1000 * c.service) / (h.requests + h.errors), 3)} ms/ev errors ${h.errors}`);
    }
  }
  for (const n of ['A', 'B']) {
    const x = res[n]!;
    const lat = sortedOf(x.lat);
    console.log(`${n}: median ${round(median(x.rps), 0)}/s  p50 ${round(pct(lat, 50))} p99 ${round(pct(lat, 99))}  svc cpu median ${round(median(x.cpu), 3)} ms/ev pg ${round(median(x.pg), 3)}`);
  }
  console.log(`B/A rate ${round(median(res.B!.rps) / median(res.A!.rps), 3)}; per-round ratios ${res.B!.rps.map((b, k) => round(b / res.A!.rps[k]!, 2)).join(' ')}`);
  await client.end();
} finally {
  for (const s of svcs) s.stop();
  await sleep(500);
  await db.drop();
}
