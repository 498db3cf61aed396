// Benchmark 5: `npm start` to a 200 from /health/ready on the embedded database (a fresh DATA_DIR,
// then a second start on the existing one), and audited events per second on it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { http, httpLoad, log, pct, round, startService, workDir } from './lib/common.js';
import { adminToken, createCast, reportPayload } from './lib/cast.js';
import { SANDBOX_APPLICATION } from './lib/load.js';
import { TEMPLATE_SCRATCH_PREFIX, templatePath, isInitialised } from '../src/db/index.js';

export type EmbeddedResult = { coldStartMs: number; prepareMs: number; freshStartMs: number; secondStartMs: number; cases: number; clients: number; rate: number; p50: number; p99: number; errors: number };

export async function benchEmbedded(opts: { cases: number; clients: number; seconds: number }): Promise<EmbeddedResult> {
  const coldDir = path.join(workDir, `embedded-cold-${Date.now()}`);
  const dataDir = path.join(workDir, `embedded-${Date.now()}`);
  const admin = adminToken();
  const env = { DATABASE_URL: '', DATA_DIR: dataDir, ADMIN_TOKEN: admin, LOG_LEVEL: 'info' };
  try {
    // With no initialised copy (an install with --ignore-scripts, or a new migration since the
    // install), a start runs PGlite's initdb and the migrations itself, and keeps a copy.
    const template = templatePath();
    if (template) fs.rmSync(template, { recursive: true, force: true });
    const cold = await startService({ ...env, DATA_DIR: coldDir }, { how: 'npm', label: 'embedded-cold' });
    log(`  start with no initialised copy (initdb): ready ${round(cold.readyMs, 0)} ms after npm start`);
    await cold.stop();
    // A start with no copy makes one in a child process a few seconds after it is ready: let any
    // such child finish (its scratch directory gone) before the install step is timed.
    if (template) await settled(path.dirname(template));
    // As `npm install` leaves it: its postinstall step (scripts/prepare-embedded.ts) makes the copy.
    if (template) fs.rmSync(template, { recursive: true, force: true });
    const t0 = performance.now();
    execFileSync('npm', ['run', '--silent', 'postinstall'], { stdio: 'ignore' });
    const prepareMs = performance.now() - t0;
    if (template && !isInitialised(template)) throw new Error('npm install\'s postinstall step made no initialised copy');
    log(`  install step (postinstall: initdb, migrations, copy): ${round(prepareMs, 0)} ms`);
    const first = await startService(env, { how: 'npm', label: 'embedded-fresh' });
    log(`  first start after install (new DATA_DIR): ready ${round(first.readyMs, 0)} ms after npm start`);
    await first.stop();
    const svc = await startService(env, { how: 'npm', label: 'embedded-again' });
    log(`  existing DATA_DIR: ready ${round(svc.readyMs, 0)} ms after npm start`);
    try {
      const cast = await createCast(svc.url, admin);
      const ids: string[] = [];
      const t0 = Date.now();
      const start = new Date(Date.now() - 3_600_000).toISOString();
      const end = new Date(Date.now() + 300 * 86_400_000).toISOString();
      const one = async () => {
        const c = await http(svc.url, 'POST', '/v1/sandbox-cases', SANDBOX_APPLICATION(cast.productId), cast.applicantToken);
        await http(svc.url, 'POST', `/v1/sandbox-cases/${c.id}/events`, { type: 'SUBMIT' }, cast.applicantToken);
        await http(svc.url, 'POST', `/v1/sandbox-cases/${c.id}/events`, { type: 'START_REVIEW' }, cast.regulatorToken);
        await http(svc.url, 'POST', `/v1/sandbox-cases/${c.id}/events`, { type: 'ADMIT', payload: { conditions: ['weekly reports'], testing_period: { start, end } } }, cast.regulatorToken);
        await http(svc.url, 'POST', `/v1/sandbox-cases/${c.id}/events`, { type: 'START_TESTING' }, cast.applicantToken);
        ids.push(c.id);
      };
      for (let i = 0; i < opts.cases; i += 8) await Promise.all(Array.from({ length: Math.min(8, opts.cases - i) }, one));
      log(`  ${ids.length} cases driven to testing through HTTP in ${round((Date.now() - t0) / 1000, 1)} s`);
      let i = 0;
      const next = () => ({
        method: 'POST' as const,
        path: `/v1/sandbox-cases/${ids[Math.floor(Math.random() * ids.length)]}/events`,
        headers: { authorization: `Bearer ${cast.applicantToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(i++, { start: new Date(start), end: new Date(Date.now() - 1000) }) }),
      });
      await httpLoad(svc.url, opts.clients, 3, next);
      const r = await httpLoad(svc.url, opts.clients, opts.seconds, next);
      log(`  embedded: ${round(r.rps, 0)} events/s (p50 ${round(pct(r.latencies, 50))} ms, p99 ${round(pct(r.latencies, 99))} ms, errors ${r.errors})`);
      return {
        coldStartMs: cold.readyMs,
        prepareMs,
        freshStartMs: first.readyMs,
        secondStartMs: svc.readyMs,
        cases: ids.length,
        clients: opts.clients,
        rate: r.rps,
        p50: pct(r.latencies, 50),
        p99: pct(r.latencies, 99),
        errors: r.errors,
      };
    } finally {
      await svc.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(coldDir, { recursive: true, force: true });
  }
}

/** Waits until no scratch directory of a copy being made is left in `dir` (2 minutes at most). */
async function settled(dir: string) {
  const busy = () => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith(TEMPLATE_SCRATCH_PREFIX));
  for (let quiet = 0, until = Date.now() + 120_000; quiet < 3 && Date.now() < until; ) {
    quiet = busy() ? 0 : quiet + 1;
    await new Promise((r) => setTimeout(r, 500));
  }
}
