// Benchmark 1: audited events per second through HTTP against pgbench doing the SQL one event
// needs (lock the case, update state and version, append one audit row with a ~300-byte payload),
// same database, same concurrency, rounds interleaved.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { httpLoad, log, median, pct, recordCountSql, recordShapeSql, round, sortedOf, workDir, type LoadResult } from './lib/common.js';
import { reportPayload } from './lib/cast.js';
import { cpuSampler, type CpuSplit } from './lib/cpu.js';
import { encodeRequest } from './lib/http-client.js';

const run = promisify(execFile);

/** Deterministic ids for pgbench's own cases, so its script computes the id from a random n. */
export const pgbenchCaseId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export type Figure = { rate: number; p50: number; p99: number; n: number; cpuMsPerEvent: { service: number; postgres: number; client: number; total: number } };

/** CPU milliseconds per event on each side, summed over the rounds. */
function perEvent(cpus: CpuSplit[], events: number) {
  const f = (k: keyof CpuSplit) => round((1000 * cpus.reduce((n, c) => n + c[k], 0)) / events, 3);
  return { service: f('service'), postgres: f('postgres'), client: f('client'), total: round(f('service') + f('postgres') + f('client'), 3) };
}
export type TransitionsResult = {
  clients: number;
  seconds: number;
  rounds: number;
  /** Worker processes of the service measured (WORKERS, one per core). */
  workers: number;
  pgbench: Figure & { rounds: number[]; lastOverFirst: number };
  /** lastOverFirst: the last round's rate ÷ the first's (does an event cost more as the run goes on?). */
  http: Figure & { rounds: number[]; errors: number; roundP99: number[]; lastOverFirst: number };
  /**
   * Reports per HTTP case, on average, after the warm-up and after each service round (both
   * services' rounds, in the order run), as the records count them.
   */
  reportsPerCase: number[];
  /** How the records hold reports: 'tally' ({count, latest_at}, bounded: issue 19) or 'list' (every report, growing). */
  recordShape: string;
  /** Average stored size of the HTTP cases' records (octet_length(record::text)) after the warm-up and after the last round. */
  recordBytes: number[];
  ratio: number;
  /** The service's p99 ÷ pgbench's own p99, all rounds pooled. */
  p99Ratio: number;
  /** The same service as one process (WORKERS=1), measured in the same rounds, for comparison. */
  oneProcess?: Figure & { rounds: number[]; errors: number; ratio: number; roundP99: number[]; lastOverFirst: number };
};

function pgbenchScript(ncases: number, principalId: string): string {
  const payload = JSON.stringify(reportPayload(12345)).replace(/'/g, "''");
  const id = `('00000000-0000-4000-8000-' || lpad(to_hex(:n::int), 12, '0'))::uuid`;
  return `\\set n random(1, ${ncases})
BEGIN;
SELECT id, state, version, audit_seq, audit_hash, record FROM cases WHERE id = ${id} FOR UPDATE;
UPDATE cases SET state = 'testing', version = version + 1, audit_seq = audit_seq + 1, audit_hash = md5(audit_hash) || md5(audit_hash || 'x'), updated_at = now() WHERE id = ${id};
INSERT INTO audit_events (chain_id, seq, case_id, kind, type, actor_principal_id, actor_role, from_state, to_state, payload, at, prev_hash, hash) SELECT c.id::text, c.audit_seq, c.id, 'sandbox-cases', 'SUBMIT_REPORT', '${principalId}', 'applicant', 'testing', 'testing', '${payload}'::jsonb, now(), md5(c.audit_hash), c.audit_hash FROM cases c WHERE c.id = ${id};
END;
`;
}

async function pgbench(dbUrl: string, script: string, clients: number, seconds: number, tag: string): Promise<{ tps: number; latencies: number[] }> {
  const dir = path.join(workDir, `pgbench-${tag}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'event.sql');
  fs.writeFileSync(file, script);
  const u = new URL(dbUrl);
  const env = { ...process.env, PGHOST: decodeURIComponent(u.hostname), PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username || 'postgres'), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1) };
  const { stdout } = await run('pgbench', ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', file, '-l', '--log-prefix', path.join(dir, 'log')], { env, cwd: dir, maxBuffer: 1 << 24 });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!m) throw new Error(`pgbench printed no tps:\n${stdout}`);
  const latencies: number[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('log'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const cols = line.split(' ');
      if (cols.length >= 3 && cols[3] === '0') latencies.push(Number(cols[2]) / 1000);
    }
  }
  return { tps: Number(m[1]), latencies };
}

export async function benchTransitions(opts: {
  dbUrl: string;
  dbName: string;
  servicePid: number;
  serviceUrl: string;
  workers: number;
  oneProcess?: { pid: number; url: string };
  token: string;
  principalId: string;
  httpCases: string[];
  pgbenchCases: number;
  clients: number;
  seconds: number;
  rounds: number;
}): Promise<TransitionsResult> {
  const script = pgbenchScript(opts.pgbenchCases, opts.principalId);
  // The requests are encoded before the load starts (random cases, each report its own text), and
  // cycled: the load generator shares the two cores with the service, as pgbench's client does
  // with PostgreSQL, and should cost as little as pgbench's.
  const requests = Array.from({ length: 16_384 }, (_, i) =>
    encodeRequest('POST', `/v1/sandbox-cases/${opts.httpCases[Math.floor(Math.random() * opts.httpCases.length)]!}/events`, { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(i) })),
  );
  let i = 0;
  const next = () => ({ raw: requests[i++ % requests.length]! });
  const client = new pg.Client({ connectionString: opts.dbUrl });
  await client.connect();
  const reportsPerCase: number[] = [];
  const recordBytes: number[] = [];
  let recordShape = 'none';
  const countReports = async (size = false) => {
    const { rows } = await client.query<{ n: number; bytes: number; shape: string }>(
      `select avg(${recordCountSql('reports')})::float8 as n, ${size ? 'avg(octet_length(record::text))::float8' : 'null'} as bytes, max(${recordShapeSql('reports')}) as shape
         from cases where id = any($1::uuid[])`,
      [opts.httpCases],
    );
    reportsPerCase.push(round(rows[0]!.n, 1));
    if (size) recordBytes.push(Math.round(rows[0]!.bytes));
    recordShape = rows[0]!.shape;
  };
  // Warm both paths (connections, JIT, caches) before anything is counted.
  log('  warm-up: pgbench 3 s, HTTP 5 s');
  await pgbench(opts.dbUrl, script, opts.clients, 3, 'warmup');
  await httpLoad(opts.serviceUrl, opts.clients, 5, next);
  if (opts.oneProcess) await httpLoad(opts.oneProcess.url, opts.clients, 5, next);
  await countReports(true);

  const pgRounds: Array<{ tps: number; latencies: number[] }> = [];
  const pgCpu: CpuSplit[] = [];
  // The service as measured (a worker per core) and, for comparison, as one process: the same load, the same rounds.
  const main = { label: 'HTTP:   ', url: opts.serviceUrl, pid: opts.servicePid, rounds: [] as LoadResult[], cpu: [] as CpuSplit[] };
  const one = opts.oneProcess ? { label: 'HTTP, one process:', url: opts.oneProcess.url, pid: opts.oneProcess.pid, rounds: [] as LoadResult[], cpu: [] as CpuSplit[] } : null;
  const measure = async (svc: typeof main, r: number) => {
    const cpu = cpuSampler({ dbUrl: opts.dbUrl, dbName: opts.dbName, servicePgrp: svc.pid });
    const h = await httpLoad(svc.url, opts.clients, opts.seconds, next);
    const c = await cpu.stop();
    svc.cpu.push(c);
    svc.rounds.push(h);
    await countReports();
    log(`  round ${r + 1} ${svc.label} ${round(h.rps, 0)} events/s (p50 ${round(pct(h.latencies, 50))} ms, p99 ${round(pct(h.latencies, 99))} ms, errors ${h.errors}; CPU ms/event: ${JSON.stringify(perEvent([c], h.requests + h.errors))}; service busy ${round((100 * c.service) / c.seconds, 0)}% of a core, waiting for a CPU ${round((100 * c.serviceRunQueueMs) / 1000 / c.seconds, 0)}% of the time)`);
  };
  for (let r = 0; r < opts.rounds; r++) {
    // Alternate which goes first, so a drift in the machine's load favours neither.
    const order = r % 2 === 0 ? ['pg', 'http', 'one'] : ['one', 'http', 'pg'];
    for (const which of order) {
      if (which === 'pg') {
        const cpu = cpuSampler({ dbUrl: opts.dbUrl, dbName: opts.dbName, childComm: 'pgbench' });
        const p = await pgbench(opts.dbUrl, script, opts.clients, opts.seconds, `r${r}`);
        pgCpu.push(await cpu.stop());
        pgRounds.push(p);
        log(`  round ${r + 1} pgbench: ${round(p.tps, 0)} tps (CPU ms/event: ${JSON.stringify(perEvent([pgCpu.at(-1)!], p.latencies.length))})`);
      } else if (which === 'http') await measure(main, r);
      else if (one) await measure(one, r);
    }
  }
  const pgLat = sortedOf(pgRounds.flatMap((p) => p.latencies));
  const pgRate = median(pgRounds.map((p) => p.tps));
  // Each round's rate against its neighbouring pgbench round's, then the median: robust to the machine's load drifting.
  const figure = (svc: typeof main) => {
    const lat = sortedOf(svc.rounds.flatMap((h) => [...h.latencies]));
    return {
      rate: median(svc.rounds.map((h) => h.rps)),
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      n: lat.length,
      rounds: svc.rounds.map((h) => round(h.rps, 0)),
      roundP99: svc.rounds.map((h) => round(pct(h.latencies, 99), 1)),
      errors: svc.rounds.reduce((n, h) => n + h.errors, 0),
      // Requests of the whole window (the load generator counts only those inside it).
      cpuMsPerEvent: perEvent(svc.cpu, svc.rounds.reduce((n, h) => n + h.requests + h.errors, 0)),
      ratio: median(svc.rounds.map((h, k) => h.rps / pgRounds[k]!.tps)),
      lastOverFirst: svc.rounds.at(-1)!.rps / svc.rounds[0]!.rps,
    };
  };
  const http = figure(main);
  await countReports(true);
  reportsPerCase.pop(); // the same count as after the last round, taken again with the sizes
  await client.end();
  return {
    clients: opts.clients,
    seconds: opts.seconds,
    rounds: opts.rounds,
    workers: opts.workers,
    pgbench: {
      rate: pgRate,
      p50: pct(pgLat, 50),
      p99: pct(pgLat, 99),
      n: pgLat.length,
      rounds: pgRounds.map((p) => round(p.tps, 0)),
      lastOverFirst: pgRounds.at(-1)!.tps / pgRounds[0]!.tps,
      // pgbench's rounds run -T seconds; its transactions are counted from its log.
      cpuMsPerEvent: perEvent(pgCpu, pgLat.length),
    },
    http,
    reportsPerCase,
    recordShape,
    recordBytes,
    ratio: http.ratio,
    p99Ratio: http.p99 / pct(pgLat, 99),
    oneProcess: one ? figure(one) : undefined,
  };
}
