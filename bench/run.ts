// `npm run bench`: the five benchmarks of issue 9 and the soak and growth figures of issue 19, each
// as a ratio to a baseline measured in the same run, written to bench/RESULTS.md. Needs PostgreSQL at BENCH_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres) and pgbench; makes and drops its own databases.
//
//   npm run bench                      full size (1,000,000 audit events and certificates, 100,000 due deadlines)
//   npm run bench -- --quick           a tenth of the data, shorter rounds
//   BENCH_SCALE=0.3 npm run bench      any other fraction
//   npm run bench -- --only=transitions,scheduler
//   BENCH_PROFILE=1 npm run bench -- --only=transitions   the service runs under node --cpu-prof
//   SOAK_SECONDS=20 npm run bench -- --quick --only=soak   a shorter soak (default 300 s, --quick 90 s)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDatabase, log, machine, root, round, runCleanups, startService, workDir } from './lib/common.js';
import { adminToken, createCast } from './lib/cast.js';
import { loadCertificates, loadSandboxCases } from './lib/load.js';
import { benchTransitions, pgbenchCaseId, type TransitionsResult } from './transitions.js';
import { benchVerify, type VerifyResult } from './verify.js';
import { benchScheduler, type SchedulerResult } from './scheduler.js';
import { benchSearch, type SearchResult } from './search.js';
import { benchEmbedded, type EmbeddedResult } from './embedded.js';
import { benchSoak, type SoakResult } from './soak.js';
import { benchGrowth, type GrowthResult } from './growth.js';
import { benchProofs, benchSequencerOnOff, drainLog, type OnOffResult, type ProofResult } from './transparency.js';
import { benchIssuance, benchStatusLists, type IssuanceResult, type StatusListResult } from './credentials.js';
import { benchWebhooks, type WebhooksResult } from './webhooks.js';
import { benchMyWork, type MyWorkResult } from './my-work.js';
import { writeResults } from './report.js';

const ALL = ['verify', 'transitions', 'scheduler', 'search', 'embedded', 'growth', 'soak', 'transparency', 'credentials', 'webhooks', 'my-work'] as const;
type Name = (typeof ALL)[number];

export type Results = {
  machine: Record<string, string>;
  scale: number;
  startedAt: string;
  minutes: number;
  transitions?: TransitionsResult;
  verify?: VerifyResult;
  scheduler?: SchedulerResult & { transitionRate: number; ratio: number };
  search?: SearchResult & { certificates: number };
  embedded?: EmbeddedResult & { postgresHttpRate: number | null; ratio: number | null };
  growth?: GrowthResult;
  soak?: SoakResult;
  /** Issue 22: the log's sequencer draining the loaded backlog, inclusion proofs at that size, the sequencer on and off. */
  transparency?: { proofs?: ProofResult; onOff?: OnOffResult; sequencerRatio?: number };
  /** Issue 23: CERTIFY with the credential issuer on and off; status lists at the register's size (loaded by the search benchmark). */
  credentials?: { issuance?: IssuanceResult; statusLists?: StatusListResult };
  /** Issue 24: transitions with an endpoint subscribed to every event against none; the dispatcher's throughput. */
  webhooks?: WebhooksResult;
  /** Issue 21: the workbench's My work for a regulator with that many open cases, against the SQL it sends. */
  myWork?: MyWorkResult;
};

async function main() {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' } }, allowPositionals: false });
  const scale = values.quick ? 0.1 : Number(process.env.BENCH_SCALE ?? '1');
  if (!(scale > 0 && scale <= 1)) throw new Error('BENCH_SCALE must be in (0, 1]');
  const only = new Set<Name>((values.only?.split(',') as Name[] | undefined) ?? ALL);
  for (const n of only) if (!ALL.includes(n)) throw new Error(`--only takes ${ALL.join(', ')}`);
  const profile = process.env.BENCH_PROFILE === '1';
  const quick = scale < 0.5;
  const n = (full: number, min: number) => Math.max(min, Math.round(full * scale));
  const sizes = {
    auditEvents: n(1_000_000, 20_000),
    txCases: n(20_000, 10_000),
    certificates: n(1_000_000, 20_000),
    due: n(100_000, 5_000),
    clients: 32,
    txSeconds: quick ? 8 : 15,
    txRounds: quick ? 2 : 3,
    verifyRounds: quick ? 1 : 3,
    searchRounds: quick ? 15 : 60,
    embeddedCases: quick ? 100 : 300,
    embeddedSeconds: quick ? 8 : 15,
    // Rounds of a few seconds each (CPU time is read in 10 ms ticks); set A gains `passes` reports
    // per case in each of its rounds, a few against set B's 100.
    growthCases: n(5_000, 2_000),
    growthPrior: 100,
    growthRounds: quick ? 4 : 8,
    growthPasses: 3,
    growthWarmupSeconds: quick ? 10 : 15,
    soakCases: 300,
    soakSeconds: Number(process.env.SOAK_SECONDS ?? (quick ? 90 : 300)),
    soakWindowSeconds: quick ? 15 : 60,
    soakWarmupSeconds: quick ? 10 : 20,
    proofSeconds: quick ? 5 : 15,
    // A latency figure: a few clients, so that it measures a proof and not the queue before it.
    proofClients: 4,
    tlogCases: n(10_000, 3_000),
    tlogRounds: quick ? 2 : 4,
    vcCasesPerRound: quick ? 300 : 1000,
    vcRounds: quick ? 2 : 3,
    statusListSeconds: quick ? 5 : 15,
    whCases: n(10_000, 3_000),
    whRounds: quick ? 2 : 3,
    myWorkCases: n(100_000, 10_000),
    myWorkRounds: quick ? 20 : 60,
  };
  if (!(sizes.soakSeconds > 0)) throw new Error('SOAK_SECONDS must be a positive number of seconds');
  const began = Date.now();
  const results: Results = { machine: await machine(), scale, startedAt: new Date().toISOString(), minutes: 0 };
  log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memory}; node ${results.machine.node}; PostgreSQL ${results.machine.postgresql}`);
  log(`scale ${scale}: ${JSON.stringify(sizes)}`);
  fs.mkdirSync(workDir, { recursive: true });

  if (only.has('verify') || only.has('transitions') || only.has('scheduler') || only.has('transparency')) {
    const main = await createDatabase('bench_main');
    const admin = adminToken();
    const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
    const nodeArgs = [...extra, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'prof')}`] : [])];
    // The service as it is deployed on PostgreSQL: a worker process per core (WORKERS, src/cluster.ts).
    const workers = os.availableParallelism();
    const svc = await startService({ DATABASE_URL: main.url, ADMIN_TOKEN: admin, WORKERS: String(workers) }, { how: profile || extra.length ? 'node' : 'tsx', nodeArgs, label: 'postgres' });
    // And as one process, measured in the same rounds for comparison.
    const one = only.has('transitions') && workers > 1 ? await startService({ DATABASE_URL: main.url, ADMIN_TOKEN: admin, WORKERS: '1' }, { how: 'tsx', label: 'postgres-one' }) : null;
    const cast = await createCast(svc.url, admin);
    const client = new pg.Client({ connectionString: main.url });
    client.on('error', () => {});
    await client.connect();
    // 5 audit events per case in `testing`: the first txCases are pgbench's (ids it can compute),
    // the next txCases the HTTP clients', the rest make up the audit benchmark's volume.
    const casesInTesting = Math.max(2 * sizes.txCases, Math.round(sizes.auditEvents / 5));
    const now = Date.now();
    const window = { startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) };
    let t0 = Date.now();
    await loadSandboxCases(client, cast, { count: sizes.txCases, state: 'testing', firstNumber: 1, ...window, id: (i) => pgbenchCaseId(i + 1) });
    const httpCases = await loadSandboxCases(client, cast, { count: sizes.txCases, state: 'testing', firstNumber: sizes.txCases + 1, ...window });
    await loadSandboxCases(client, cast, { count: casesInTesting - 2 * sizes.txCases, state: 'testing', firstNumber: 2 * sizes.txCases + 1, ...window });
    await client.query('vacuum analyze');
    log(`loaded ${casesInTesting} sandbox cases in testing (${casesInTesting * 5} audit events) in ${round((Date.now() - t0) / 1000, 1)} s`);
    // The loaded events wait in the log's queue (their rows were inserted behind the service, whose
    // sequencer takes some of them meanwhile): all are in the log, under a checkpoint, before
    // anything is measured on this database.
    const drain = await drainLog(main.url);
    log(`log: tree size ${drain.treeSize} (${drain.leaves} leaves integrated by the benchmark, the rest by the service), checkpoint signed`);
    if (only.has('transparency')) {
      log(`transparency: inclusion proofs at ${drain.treeSize} leaves, ${sizes.proofClients} clients, ${sizes.proofSeconds} s`);
      results.transparency = { proofs: await benchProofs(svc.url, drain.treeSize, { clients: sizes.proofClients, seconds: sizes.proofSeconds }) };
      const p = results.transparency.proofs!;
      log(`  ${p.requests} proofs, p50 ${round(p.p50)} ms, p95 ${round(p.p95)} ms, p99 ${round(p.p99)} ms, errors ${p.errors}`);
    }

    if (only.has('verify')) {
      log('benchmark 3: audit verification');
      results.verify = await benchVerify(main.url, sizes.verifyRounds);
    }
    if (only.has('transitions') || only.has('scheduler')) {
      log(`benchmark 1: transitions, ${sizes.clients} clients, ${sizes.txRounds} rounds of ${sizes.txSeconds} s each`);
      results.transitions = await benchTransitions({
        dbUrl: main.url,
        dbName: main.name,
        servicePid: svc.pid,
        serviceUrl: svc.url,
        workers,
        oneProcess: one ? { pid: one.pid, url: one.url } : undefined,
        token: cast.applicantToken,
        principalId: cast.applicantId,
        httpCases,
        pgbenchCases: sizes.txCases,
        clients: sizes.clients,
        seconds: sizes.txSeconds,
        rounds: sizes.txRounds,
      });
    }
    await svc.stop();
    await one?.stop();
    if (only.has('scheduler')) {
      t0 = Date.now();
      const due = { startAt: new Date(Date.now() - 3_600_000), endAt: new Date(Date.now() + 300 * 86_400_000), createdAt: new Date(Date.now() - 2 * 86_400_000) };
      await loadSandboxCases(client, cast, { count: sizes.due, state: 'admitted', firstNumber: casesInTesting + 1, ...due });
      await client.query('vacuum analyze');
      log(`loaded ${sizes.due} admitted cases with START_TESTING due in ${round((Date.now() - t0) / 1000, 1)} s`);
      log('benchmark 4: scheduler');
      const s = await benchScheduler(main.url, sizes.due);
      const transitionRate = results.transitions!.http.rate;
      results.scheduler = { ...s, transitionRate, ratio: s.rate / transitionRate };
      log(`  ${s.fired} fired in ${round(s.seconds, 1)} s: ${round(s.rate, 0)}/s = ${round(results.scheduler.ratio)} × the transition rate`);
      const left = await client.query(`select count(*)::int as n from deadlines where event_type = 'START_TESTING'`);
      if (left.rows[0].n !== 0) log(`  warning: ${left.rows[0].n} START_TESTING deadlines left`);
    }
    await client.end();
    await main.drop();
  }

  if (only.has('transparency')) {
    const db = await createDatabase('bench_tlog');
    const admin = adminToken();
    const setup = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, SEQUENCER_INTERVAL_MS: '0' }, { how: 'tsx', label: 'tlog-setup' });
    const cast = await createCast(setup.url, admin);
    await setup.stop();
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    const now = Date.now();
    const cases = await loadSandboxCases(client, cast, { count: sizes.tlogCases, state: 'testing', firstNumber: 1, startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
    await client.query('vacuum analyze');
    await client.end();
    log(`transparency: the sequencer on and off, ${sizes.tlogCases} cases, ${sizes.tlogRounds} rounds of ${sizes.txSeconds} s each`);
    const onOff = await benchSequencerOnOff({ dbUrl: db.url, admin, token: cast.applicantToken, cases, workers: os.availableParallelism(), clients: sizes.clients, seconds: sizes.txSeconds, rounds: sizes.tlogRounds });
    await db.drop();
    // The main section ran (it loads the log the proofs are measured on) and drained the backlog.
    const tl = (results.transparency ??= {});
    tl.onOff = onOff;
    tl.sequencerRatio = onOff.drain.rate / onOff.on.rate;
    log(`  on ÷ off ${round(onOff.ratio)} (${round(onOff.on.rate, 0)} vs ${round(onOff.off.rate, 0)} /s); sequencer ${round(tl.sequencerRatio)} × the transition rate; lag p95 ${onOff.lag.p95Queued} queued, ${round(onOff.lag.p95AgeMs, 0)} ms`);
  }

  if (only.has('credentials')) {
    log(`benchmark 9a: CERTIFY with the credential issuer on and off, ${sizes.vcRounds * 2} rounds of ${sizes.vcCasesPerRound}`);
    const iss = await benchIssuance({ casesPerRound: sizes.vcCasesPerRound, rounds: sizes.vcRounds, clients: sizes.clients });
    (results.credentials ??= {}).issuance = iss;
    log(`  on ÷ off ${round(iss.ratio)} (${round(iss.on.rate, 0)} vs ${round(iss.off.rate, 0)} CERTIFY/s); the issuer alone ${round(iss.issuer.rate, 0)} credentials/s`);
  }

  if (only.has('webhooks')) {
    log(`benchmark 10: webhooks, transitions with an endpoint subscribed to every event and without, ${sizes.whRounds} rounds of ${sizes.txSeconds} s each`);
    const wh = await benchWebhooks({ cases: sizes.whCases, clients: sizes.clients, seconds: sizes.txSeconds, rounds: sizes.whRounds });
    results.webhooks = wh;
    log(`  subscribed ÷ none ${round(wh.ratio)} (${round(wh.on.rate, 0)} vs ${round(wh.off.rate, 0)} /s; delivering as it goes ${round(wh.delivering.ratio)}); dispatcher ${round(wh.dispatcher.rate, 0)} deliveries/s = ${round(wh.dispatcher.ratio)} × the transition rate`);
  }

  if (only.has('growth')) {
    log(`growth: service CPU per event on cases with 0 and ${sizes.growthPrior} prior reports, ${sizes.growthCases} cases each, ${sizes.growthRounds} rounds`);
    results.growth = await benchGrowth({ cases: sizes.growthCases, prior: sizes.growthPrior, rounds: sizes.growthRounds, passes: sizes.growthPasses, clients: sizes.clients, warmupSeconds: sizes.growthWarmupSeconds });
  }

  if (only.has('soak')) {
    // Half the one-process maximum the transitions benchmark measured in this run (the soak runs
    // one process), or, run alone, half of a calibration burst of its own.
    const t = results.transitions;
    const max = t ? (t.oneProcess ?? t.http) : null;
    log(`soak: ${sizes.soakCases} cases, ${sizes.soakSeconds} s after a ${sizes.soakWarmupSeconds} s warm-up`);
    results.soak = await benchSoak({
      cases: sizes.soakCases,
      seconds: sizes.soakSeconds,
      windowSeconds: sizes.soakWindowSeconds,
      warmupSeconds: sizes.soakWarmupSeconds,
      calibrationClients: sizes.clients,
      rate: max ? max.rate / 2 : undefined,
      rateSource: max ? `half the transitions benchmark's ${t!.oneProcess ? 'one-process rate' : 'rate'} in this run (${round(max.rate, 0)}/s)` : undefined,
    });
  }

  if (only.has('search')) {
    const db = await createDatabase('bench_search');
    const admin = adminToken();
    const svc = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin }, { how: 'tsx', label: 'search' });
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    const t0 = Date.now();
    await loadCertificates(client, sizes.certificates);
    await client.end();
    log(`loaded ${sizes.certificates} certificates in ${round((Date.now() - t0) / 1000, 1)} s`);
    log(`benchmark 2: register search, ${sizes.searchRounds} rounds`);
    results.search = { ...(await benchSearch(db.url, svc.url, sizes.searchRounds)), certificates: sizes.certificates };
    log(`  HTTP p50 ${round(results.search.http.p50)} ms p95 ${round(results.search.http.p95)} ms; SQL p50 ${round(results.search.direct.p50)} ms p95 ${round(results.search.direct.p95)} ms`);
    if (only.has('credentials')) {
      log(`benchmark 9b: status lists at ${sizes.certificates} certificates`);
      const sl = await benchStatusLists(db.url, svc.url, { clients: sizes.proofClients, seconds: sizes.statusListSeconds });
      (results.credentials ??= {}).statusLists = sl;
      log(`  ${sl.lists} lists per purpose: p50 ${round(sl.p50)} ms p95 ${round(sl.p95)} ms (first request, signing: ${round(sl.firstSignMs)} ms); one bit changed: ${sl.changedLists.join(', ')}`);
    }
    await svc.stop();
    await db.drop();
  }

  if (only.has('my-work')) {
    const db = await createDatabase('bench_my_work');
    const admin = adminToken();
    const svc = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin }, { how: 'tsx', label: 'my-work' });
    const cast = await createCast(svc.url, admin);
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {});
    await client.connect();
    const t0 = Date.now();
    // Open cases a regulator may act on, in two states.
    const now = Date.now();
    const half = Math.round(sizes.myWorkCases / 2);
    await loadSandboxCases(client, cast, { count: half, state: 'testing', firstNumber: 1, startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
    await loadSandboxCases(client, cast, { count: sizes.myWorkCases - half, state: 'admitted', firstNumber: half + 1, startAt: new Date(now + 30 * 86_400_000), endAt: new Date(now + 400 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
    await client.query('vacuum analyze');
    await client.end();
    log(`loaded ${sizes.myWorkCases} open sandbox cases in ${round((Date.now() - t0) / 1000, 1)} s`);
    log(`benchmark 11: the workbench's My work for a regulator, ${sizes.myWorkRounds} rounds`);
    results.myWork = await benchMyWork({ dbUrl: db.url, serviceUrl: svc.url, regulatorToken: cast.regulatorToken, regulatorId: cast.regulatorId, cases: sizes.myWorkCases, rounds: sizes.myWorkRounds });
    log(`  page p95 ${round(results.myWork.http.p95)} ms = ${round(results.myWork.ratioP95)} × the SQL's p95 (${round(results.myWork.direct.p95)} ms)`);
    await svc.stop();
    await db.drop();
  }

  if (only.has('embedded')) {
    log('benchmark 5: embedded database');
    const e = await benchEmbedded({ cases: sizes.embeddedCases, clients: sizes.clients, seconds: sizes.embeddedSeconds });
    const pgRate = results.transitions?.http.rate ?? null;
    results.embedded = { ...e, postgresHttpRate: pgRate, ratio: pgRate ? e.rate / pgRate : null };
  }

  results.minutes = (Date.now() - began) / 60_000;
  const out = values.out ?? path.join(root, 'bench', 'RESULTS.md');
  fs.writeFileSync(out, writeResults(results));
  fs.writeFileSync(path.join(workDir, 'results.json'), JSON.stringify(results, (_k, v) => (v instanceof Float64Array ? undefined : v), 2));
  log(`wrote ${path.relative(process.cwd(), out)} (${round(results.minutes, 1)} min)`);
  process.stdout.write(`\n${summary(results)}\n`);
}

function summary(r: Results): string {
  const lines: string[] = [];
  const t = r.transitions;
  if (t) lines.push(`transitions: ${round(t.ratio)} × pgbench (${round(t.http.rate, 0)} vs ${round(t.pgbench.rate, 0)} /s), p50 ${round(t.http.p50)} ms, p99 ${round(t.http.p99)} ms = ${round(t.p99Ratio)} × pgbench's p99; last round ÷ first ${round(t.http.lastOverFirst)} (pgbench's ${round(t.pgbench.lastOverFirst)})`);
  if (r.search) lines.push(`register search: p50 ${round(r.search.http.p50)} ms, p95 ${round(r.search.http.p95)} ms = ${round(r.search.ratioP95)} × the SQL's p95 (${round(r.search.direct.p95)} ms)`);
  if (r.verify) lines.push(`audit verification: ${round(r.verify.ratioThreaded)} × the raw read rate in the same ${r.verify.threads} threads (${round(r.verify.verifyRate, 0)} vs ${round(r.verify.threadedReadRate, 0)} events/s); ${round(r.verify.ratio)} × one reader's (${round(r.verify.readRate, 0)}/s)`);
  if (r.scheduler) lines.push(`scheduler: ${round(r.scheduler.ratio)} × the transition rate (${round(r.scheduler.rate, 0)} vs ${round(r.scheduler.transitionRate, 0)} /s)`);
  if (r.embedded) lines.push(`embedded: ready ${round(r.embedded.freshStartMs / 1000)} s (first start after install, new DATA_DIR) / ${round(r.embedded.secondStartMs / 1000)} s (existing) / ${round(r.embedded.coldStartMs / 1000)} s (no initialised copy); ${round(r.embedded.rate, 0)} events/s${r.embedded.ratio ? ` = ${round(r.embedded.ratio)} × PostgreSQL's HTTP rate` : ''}`);
  const g = r.growth;
  if (g) lines.push(`growth: service CPU per event with ${g.sets[1].priorReports} prior reports ÷ with none ${round(g.ratio)} (${g.sets[1].cpuMsPerEvent.service} vs ${g.sets[0].cpuMsPerEvent.service} ms; PostgreSQL ${round(g.postgresRatio)}); records ${g.sets[1].recordBytesBefore} vs ${g.sets[0].recordBytesBefore} bytes`);
  const tl = r.transparency;
  if (tl) {
    if (tl.onOff) lines.push(`log: sequencer ${round(tl.onOff.drain.rate, 0)} leaves/s draining ${tl.onOff.drain.leaves} = ${round(tl.sequencerRatio!)} × the transition rate`);
    if (tl.proofs) lines.push(`log: inclusion proof p95 ${round(tl.proofs.p95)} ms at ${tl.proofs.treeSize} leaves`);
    if (tl.onOff) lines.push(`log: transitions with the sequencer ÷ without ${round(tl.onOff.ratio)} (${round(tl.onOff.on.rate, 0)} vs ${round(tl.onOff.off.rate, 0)} /s); lag p95 ${tl.onOff.lag.p95Queued} events, ${round(tl.onOff.lag.p95AgeMs, 0)} ms`);
  }
  const vc = r.credentials;
  if (vc?.issuance) lines.push(`credentials: CERTIFY with the issuer ÷ without ${round(vc.issuance.ratio)} (${round(vc.issuance.on.rate, 0)} vs ${round(vc.issuance.off.rate, 0)} /s); issuer alone ${round(vc.issuance.issuer.rate, 0)} credentials/s`);
  if (vc?.statusLists) lines.push(`credentials: status list p95 ${round(vc.statusLists.p95)} ms at ${vc.statusLists.certificates} certificates; one bit changed ${vc.statusLists.changedLists.length} list(s)`);
  const wh = r.webhooks;
  if (wh) lines.push(`webhooks: transitions with an endpoint for every event ÷ without ${round(wh.ratio)} (${round(wh.on.rate, 0)} vs ${round(wh.off.rate, 0)} /s); dispatcher ${round(wh.dispatcher.rate, 0)} deliveries/s = ${round(wh.dispatcher.ratio)} × the transition rate`);
  const mw = r.myWork;
  if (mw) lines.push(`workbench: My work p95 ${round(mw.http.p95)} ms = ${round(mw.ratioP95)} × the SQL's p95 (${round(mw.direct.p95)} ms) at ${mw.cases} open cases`);
  const so = r.soak;
  if (so) lines.push(`soak: last window ÷ first p50 ${round(so.p50Ratio)}, p99 ${round(so.p99Ratio)}; RSS end ÷ after warm-up ${round(so.rssRatio)} (${so.rss.end} vs ${so.rss.afterWarmup} MB); ${so.sent} sent at ${round(so.rate, 0)}/s, ${so.errors} not 200, audit ${so.verify.ok ? 'ok' : 'FAILED'}`);
  return lines.join('\n');
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await runCleanups();
  });

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void runCleanups().finally(() => process.exit(130));
  });
}
