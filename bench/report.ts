// bench/RESULTS.md from one run's figures.
import type { Results } from './run.js';
import { round } from './lib/common.js';

const ok = (b: boolean) => (b ? '**met**' : '**not met**');
const ms = (x: number) => `${round(x, 1)} ms`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');

export function writeResults(r: Results): string {
  const out: string[] = [];
  out.push('# Benchmark results');
  out.push('');
  out.push(`Written by \`npm run bench\` (scale ${r.scale}${r.scale < 1 ? ', a reduced run' : ''}) on ${r.machine.date}, in ${round(r.minutes, 1)} minutes.`);
  out.push('Every figure is a ratio to a baseline measured in the same run on the same machine (interleaved where');
  out.push('possible); absolute numbers are for context only, the machine being shared and noisy. How each is');
  out.push('measured, and what bounds the figures that miss their target: [bench/README.md](README.md).');
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push('| benchmark | figure | target | |');
  out.push('|---|---|---|---|');
  const t = r.transitions;
  if (t) {
    // Issue 19's targets: the median at least pgbench's rate, p99 at most 1.1 × pgbench's own p99 in the same run.
    out.push(`| 1. transitions, ${t.clients} clients | **${round(t.ratio)} × pgbench**, p99 ${ms(t.http.p99)} (**${round(t.http.p99 / t.pgbench.p99)} × pgbench's** ${ms(t.pgbench.p99)}) | ≥ 1.0 × pgbench, p99 ≤ 1.1 × pgbench's | ${ok(t.ratio >= 1 && t.http.p99 <= 1.1 * t.pgbench.p99)} |`);
    if (t.http.lastOverFirst !== undefined) {
      // The machine's own drift shows in pgbench's last ÷ first, measured in the same rounds.
      const drift = t.pgbench.lastOverFirst < 0.95 && t.http.lastOverFirst >= t.pgbench.lastOverFirst ? ' (pgbench fell further in the same rounds: the machine slowed)' : '';
      out.push(`| 1. transitions, last round ÷ first | **${round(t.http.lastOverFirst)}** (${t.http.rounds.join(' → ')} events/s; pgbench's own ${round(t.pgbench.lastOverFirst)}) | ≥ 0.95 | ${ok(t.http.lastOverFirst >= 0.95)}${drift} |`);
    }
  }
  const s = r.search;
  if (s) out.push(`| 2. register search, ${int(s.certificates)} certificates | **p95 ${ms(s.http.p95)}**, p50 ${ms(s.http.p50)} (${round(s.ratioP95)} × the SQL's p95) | p95 ≤ 20 ms | ${ok(s.http.p95 <= 20)} |`);
  const v = r.verify;
  if (v) out.push(`| 3. audit verification, ${int(v.events)} events | **${round(v.ratioThreaded)} × the raw read rate** in the same ${v.threads} threads (${round(v.ratio)} × one reader's) | ≥ 0.5 × | ${ok(Math.min(v.ratio, v.ratioThreaded) >= 0.5)} |`);
  const sc = r.scheduler;
  if (sc) out.push(`| 4. scheduler, ${int(sc.due)} due | **${round(sc.ratio)} × the transition rate** | ≥ 0.5 × | ${ok(sc.ratio >= 0.5)} |`);
  const e = r.embedded;
  if (e) {
    out.push(`| 5. embedded, start to ready | **${round(e.freshStartMs / 1000)} s** first start after install (new DATA_DIR), ${round(e.secondStartMs / 1000)} s existing (${round(e.coldStartMs / 1000)} s with no initialised copy) | existing ≤ 2.5 s | ${ok(e.secondStartMs <= 2500)} |`);
    out.push(`| 5. embedded, transitions | ${int(e.rate)} events/s${e.ratio ? ` (**${round(e.ratio)} × the PostgreSQL service's rate**)` : ''}, p99 ${ms(e.p99)} | (reported) | |`);
  }
  const g = r.growth;
  if (g) out.push(`| 6. growth, CPU per event | **${round(g.ratio)}**: the service's CPU per event on cases with ${g.sets[1].priorReports} prior reports ÷ with none (${g.sets[1].cpuMsPerEvent.service} vs ${g.sets[0].cpuMsPerEvent.service} ms) | ≤ 1.1 | ${ok(g.ratio <= 1.1)} |`);
  const tl = r.transparency;
  if (tl?.onOff) out.push(`| 8. log: transitions with the sequencer running | **${round(tl.onOff.ratio)} × without it** (${int(tl.onOff.on.rate)} vs ${int(tl.onOff.off.rate)} events/s) | ≥ 0.95 × | ${ok(tl.onOff.ratio >= 0.95)} |`);
  if (tl?.sequencerRatio) out.push(`| 8. log: sequencer | **${round(tl.sequencerRatio)} × the transition rate** (${int(tl.onOff!.drain.rate)} leaves/s draining ${int(tl.onOff!.drain.leaves)}); lag p95 ${int(tl.onOff!.lag.p95Queued)} events, ${ms(tl.onOff!.lag.p95AgeMs)} (max ${int(tl.onOff!.lag.maxQueued)}, ${ms(tl.onOff!.lag.maxAgeMs)}) | ≥ 5 × | ${ok(tl.sequencerRatio >= 5)} |`);
  if (tl?.proofs) out.push(`| 8. log: inclusion proof, ${int(tl.proofs.treeSize)} leaves | **p95 ${ms(tl.proofs.p95)}**, p50 ${ms(tl.proofs.p50)} (HTTP, ${int(tl.proofs.requests)} proofs) | p95 ≤ 10 ms | ${ok(tl.proofs.p95 <= 10)} |`);
  const vc = r.credentials;
  if (vc?.issuance) {
    const i = vc.issuance;
    out.push(`| 9. credentials: CERTIFY with issuance | **${round(i.ratio)} × without it** (${int(i.on.rate)} vs ${int(i.off.rate)} CERTIFY/s; the issuer alone ${int(i.issuer.rate)} credentials/s) | ≥ 0.9 × (issuance ≤ 10 % of CERTIFY's cost) | ${ok(i.ratio >= 0.9)} |`);
  }
  if (vc?.statusLists) {
    const l = vc.statusLists;
    out.push(`| 9. credentials: status list, ${int(l.certificates)} certificates | **p95 ${ms(l.p95)}**, p50 ${ms(l.p50)} (${int(l.requests)} requests over ${l.lists} lists × 2 purposes) | p95 ≤ 10 ms | ${ok(l.p95 <= 10)} |`);
    out.push(`| 9. credentials: one bit changed | **${l.changedLists.length} list rewritten** (${l.changedLists.join(', ')}) of ${2 * l.lists} | only its own list | ${ok(l.changedLists.length === 1)} |`);
  }
  const wh = r.webhooks;
  if (wh) {
    out.push(`| 10. webhooks: transitions with an endpoint subscribed to every event (the outbox written, the dispatcher off) | **${round(wh.ratio)} × without** (${int(wh.on.rate)} vs ${int(wh.off.rate)} events/s) | ≥ 0.9 × | ${ok(wh.ratio >= 0.9)} |`);
    out.push(`| 10. webhooks: the same, delivering as it goes on the same cores | ${round(wh.delivering.ratio)} × without (${int(wh.delivering.on.rate)} vs ${int(wh.delivering.off.rate)} events/s; ${int(wh.delivering.delivered)} delivered) | (reported) | |`);
    out.push(`| 10. webhooks: dispatcher | **${round(wh.dispatcher.ratio)} × the transition rate** (${int(wh.dispatcher.rate)} deliveries/s over (a)'s outbox of ${int(wh.dispatcher.backlog)}, to a receiver on loopback) | ≥ 2 × | ${ok(wh.dispatcher.ratio >= 2)} |`);
  }
  const mw = r.myWork;
  if (mw) out.push(`| 11. workbench: My work, a regulator with ${int(mw.cases)} open cases | **p95 ${ms(mw.http.p95)} = ${round(mw.ratioP95)} × the SQL's p95** (${ms(mw.direct.p95)}; p50 ${ms(mw.http.p50)} vs ${ms(mw.direct.p50)}) | ≤ 2 × | ${ok(mw.ratioP95 <= 2)} |`);
  const so = r.soak;
  if (so) {
    out.push(`| 7. soak, latency | last window ÷ first: **p50 ${round(so.p50Ratio)}, p99 ${round(so.p99Ratio)}** (${int(so.rate)} events/s for ${round(so.seconds / 60, 1)} min) | ≤ 1.2 | ${ok(so.p50Ratio <= 1.2 && so.p99Ratio <= 1.2)} |`);
    out.push(`| 7. soak, memory | RSS at the end ÷ after the warm-up: **${round(so.rssRatio)}** (${so.rss.end} vs ${so.rss.afterWarmup} MB) | flat (≤ 1.1) | ${ok(so.rssRatio <= 1.1)} |`);
    out.push(`| 7. soak, answers | ${int(so.sent)} sent, **${so.errors} not 200**; audit verification ${so.verify.ok ? '**ok**' : '**failed**'} | all 200, ok | ${ok(so.ok)} |`);
  }
  out.push('');

  if (t) {
    out.push('## 1. Transitions');
    out.push('');
    out.push(`\`SUBMIT_REPORT\` (a ~300-byte payload) on random sandbox cases in \`testing\`, ${t.clients} keep-alive clients (bench/lib/http-client.ts),`);
    out.push(`through HTTP to the service started as \`npm start\` runs it with \`WORKERS=${t.workers}\` (a worker process per core, src/cluster.ts); against \`pgbench -M prepared -c ${t.clients}\` running`);
    out.push('BEGIN; SELECT … FOR UPDATE; UPDATE cases (state, version, chain head); INSERT audit_events (the same payload); COMMIT');
    out.push(`on its own cases in the same tables. ${t.rounds} rounds of ${t.seconds} s each, alternating which goes first; the ratio is the median of the rounds' ratios.`);
    out.push('');
    out.push('| | events/s (median) | rounds | p50 | p99 | samples |');
    out.push('|---|---|---|---|---|---|');
    // Each round's rate with its p99, where the run recorded them.
    const roundsCell = (f: { rounds: number[]; roundP99?: number[] }) => f.rounds.map((x, k) => (f.roundP99 ? `${x} (p99 ${f.roundP99[k]})` : String(x))).join(', ');
    out.push(`| service (HTTP) | ${int(t.http.rate)} | ${roundsCell(t.http)} | ${ms(t.http.p50)} | ${ms(t.http.p99)} | ${int(t.http.n)} (${t.http.errors} errors) |`);
    out.push(`| pgbench | ${int(t.pgbench.rate)} | ${t.pgbench.rounds.join(', ')} | ${ms(t.pgbench.p50)} | ${ms(t.pgbench.p99)} | ${int(t.pgbench.n)} |`);
    out.push(`| **ratio** | **${round(t.ratio)}** | last ÷ first: ${t.http.lastOverFirst !== undefined ? `${round(t.http.lastOverFirst)} (pgbench ${round(t.pgbench.lastOverFirst)})` : '—'} | ${round(t.http.p50 / t.pgbench.p50)} × | ${round(t.http.p99 / t.pgbench.p99)} × | |`);
    const o = t.oneProcess;
    if (o) out.push(`| for comparison: one process (\`WORKERS=1\`), same rounds | ${int(o.rate)} (**${round(o.ratio)} × pgbench**) | ${roundsCell(o)} | ${ms(o.p50)} | ${ms(o.p99)} | ${int(o.n)} (${o.errors} errors) |`);
    if (t.reportsPerCase?.length) {
      out.push('');
      const counts = `${t.reportsPerCase[0]} reports on average after the warm-up and ${t.reportsPerCase.at(-1)} after the last round (after each service round, in the order run: ${t.reportsPerCase.slice(1).join(', ')})`;
      const bytes = t.recordBytes?.length === 2 ? `; their records took ${int(t.recordBytes[0]!)} and ${int(t.recordBytes[1]!)} bytes on average (\`octet_length(record::text)\`)` : '';
      if (t.recordShape === 'tally')
        out.push(`Each event counts its report in its case's record (\`reports: {count, latest_at}\`); the report itself is an event in the case's history, so the record, which each event reads, rewrites and answers, stays the same size however many reports the case has: the HTTP cases counted ${counts}${bytes}. pgbench's cases keep their record as loaded.`);
      else
        out.push(`Every event appends its report to its case's record, which each event reads, rewrites and answers whole, so the work per event grows as the run goes on: the HTTP cases held ${counts}${bytes}. pgbench's cases keep their record as loaded.`);
    }
    out.push('');
    out.push('CPU milliseconds per event, from /proc (service = the Node process tree; PostgreSQL = the backends of the benchmark database;');
    out.push('client = the load generator, ours or pgbench). On 2 cores, 2000 ms of CPU per second is all there is.');
    out.push('');
    out.push('| | service | PostgreSQL | client | total |');
    out.push('|---|---|---|---|---|');
    const c = (x: typeof t.http.cpuMsPerEvent) => `${x.service} | ${x.postgres} | ${x.client} | ${x.total}`;
    out.push(`| service (HTTP, ${t.workers} workers) | ${c(t.http.cpuMsPerEvent)} |`);
    if (t.oneProcess) out.push(`| one process | ${c(t.oneProcess.cpuMsPerEvent)} |`);
    out.push(`| pgbench | ${c(t.pgbench.cpuMsPerEvent)} |`);
    out.push('');
  }
  if (s) {
    out.push('## 2. Register search');
    out.push('');
    out.push(`\`GET /v1/register/certificates?q=…&limit=50\` over ${int(s.certificates)} certificates, one request at a time, against the`);
    out.push('statements and parameters the service sends for each search (captured from its own query builder), every one in order, run directly on one');
    out.push('connection, query by query interleaved.');
    out.push('');
    out.push(`| | p50 | p95 | p99 |`);
    out.push('|---|---|---|---|');
    out.push(`| service (HTTP) | ${ms(s.http.p50)} | ${ms(s.http.p95)} | ${ms(s.http.p99)} |`);
    out.push(`| the same SQL | ${ms(s.direct.p50)} | ${ms(s.direct.p95)} | ${ms(s.direct.p99)} |`);
    out.push(`| **ratio** | **${round(s.ratioP50)}** | **${round(s.ratioP95)}** | |`);
    out.push('');
    out.push('| search | q | items | statements | HTTP p50 / p95 | SQL p50 / p95 |');
    out.push('|---|---|---|---|---|---|');
    for (const q of s.perQuery) out.push(`| ${q.label} | ${q.q === null ? '—' : `\`${q.q}\``} | ${q.matches} | ${q.statements} | ${q.httpP50} / ${q.httpP95} ms | ${q.directP50} / ${q.directP95} ms |`);
    out.push('');
  }
  if (v) {
    out.push('## 3. Audit verification');
    out.push('');
    out.push(`\`verifyAudit\` (every hash chain recomputed, every case replayed through its machine and compared with the stored row)`);
    out.push(`over ${int(v.events)} events in ${int(v.cases)} cases, in ${v.threads} worker threads that each read their batches of 500 cases on their own connections, against reading`);
    out.push('the same rows without verifying: in the same threads and batches (`readOnly`, the headline ratio), and as one reader on one connection');
    out.push('(`readCaseBatches`, the next batch read while this one is taken in). Each round runs the one-reader read, the verification, then the threaded read;');
    out.push('each verification is set against the threaded read after it and the mean of the one-reader reads either side of it.');
    out.push('');
    out.push('| | events/s (median) | seconds per run | verify ÷ this (median of rounds) |');
    out.push('|---|---|---|---|');
    out.push(`| verify, ${v.threads} threads | ${int(v.verifyRate)} | ${v.verifySeconds.join(', ')} | |`);
    out.push(`| read only, the same ${v.threads} threads | ${int(v.threadedReadRate)} | ${v.threadedReadSeconds.join(', ')} | **${round(v.ratioThreaded)}** |`);
    out.push(`| read only, one reader | ${int(v.readRate)} | ${v.readSeconds.join(', ')} | ${round(v.ratio)} |`);
    out.push('');
    out.push(`Verification found the loaded chains ${v.ok ? 'intact (ok: true)' : '**broken** (see the run log)'}.`);
    out.push('');
  }
  if (sc) {
    out.push('## 4. Scheduler');
    out.push('');
    out.push(`${int(sc.due)} sandbox cases \`admitted\` with \`START_TESTING\` due, fired by \`sweepOnce\` (the service's sweep, default`);
    out.push('options) called back to back until none is due; against benchmark 1\'s HTTP rate of this run.');
    out.push('');
    out.push('| fired | skipped | failed | sweeps | seconds | fired/s | transitions/s (bench 1) | **ratio** |');
    out.push('|---|---|---|---|---|---|---|---|');
    out.push(`| ${int(sc.fired)} | ${sc.skipped} | ${sc.failed} | ${sc.sweeps} | ${round(sc.seconds, 1)} | ${int(sc.rate)} | ${int(sc.transitionRate)} | **${round(sc.ratio)}** |`);
    out.push('');
  }
  if (e) {
    out.push('## 5. Embedded database');
    out.push('');
    out.push('`npm start` with no DATABASE_URL, timed from the spawn to the first 200 of `/health/ready`; then');
    out.push(`${e.cases} sandbox cases driven to \`testing\` through HTTP and ${e.clients} clients firing \`SUBMIT_REPORT\`.`);
    out.push('');
    out.push('A new DATA_DIR starts from an initialised, migrated copy in node_modules/.cache, which `npm install` makes (its postinstall step, scripts/prepare-embedded.ts; timed here as the install step). Without that copy (an install with --ignore-scripts, or a migration added since) a start runs PGlite\'s initdb and the migrations itself and keeps the copy for the next.');
    out.push('');
    out.push('| first start after install (new DATA_DIR) | existing DATA_DIR | install step | start with no copy | events/s | p50 | p99 | vs PostgreSQL service |');
    out.push('|---|---|---|---|---|---|---|---|');
    out.push(`| ${round(e.freshStartMs / 1000)} s | ${round(e.secondStartMs / 1000)} s | ${round(e.prepareMs / 1000)} s | ${round(e.coldStartMs / 1000)} s | ${int(e.rate)} | ${ms(e.p50)} | ${ms(e.p99)} | ${e.ratio ? `${round(e.ratio)} ×` : '—'} |`);
    out.push('');
  }
  if (g) {
    out.push('## 6. Growth: CPU per event against the case\'s history');
    out.push('');
    out.push(`\`SUBMIT_REPORT\` on two sets of ${int(g.cases)} sandbox cases in \`testing\`, loaded through the real machine with ${g.sets[0].priorReports} and ${g.sets[1].priorReports} reports each, sent by ${g.clients}`);
    out.push(`keep-alive clients to one service process (\`WORKERS=1\`, started as \`npm start\`). Rounds alternate ${g.order}; each round sends every case of its set one event, ${g.passes} times over (a new`);
    out.push('random order each time), so no case has two events in flight and the histories move little during the measurement. CPU from /proc: the');
    out.push('service\'s process tree and the benchmark database\'s PostgreSQL backends, summed over the set\'s rounds and divided by its events.');
    out.push('');
    out.push('| set | prior reports | reports counted before → after | record bytes before → after | events | events/s (median) | p50 | p99 | service CPU ms/event (rounds) | PostgreSQL | client |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const x of g.sets)
      out.push(`| ${x.label} | ${x.priorReports} | ${x.reportsBefore} → ${x.reportsAfter} | ${int(x.recordBytesBefore)} → ${int(x.recordBytesAfter)} | ${int(x.events)} (${x.errors} errors) | ${int(x.rate)} | ${ms(x.p50)} | ${ms(x.p99)} | **${x.cpuMsPerEvent.service}** (${x.roundServiceCpu.join(', ')}) | ${x.cpuMsPerEvent.postgres} | ${x.cpuMsPerEvent.client} |`);
    out.push(`| **B ÷ A** | | | ${round(g.sets[1].recordBytesBefore / g.sets[0].recordBytesBefore)} × | | ${round(g.sets[1].rate / g.sets[0].rate)} × | | | **${round(g.ratio)}** | ${round(g.postgresRatio)} | |`);
    out.push('');
    out.push(`The records hold reports as ${g.recordShape === 'tally' ? 'a tally (`{count, latest_at}`, bounded): the reports themselves are events in each case\'s history' : g.recordShape === 'list' ? 'a list of every report, which grows with the case' : g.recordShape}.`);
    out.push('');
  }
  if (so) {
    out.push('## 7. Soak: a steady rate for minutes');
    out.push('');
    out.push(`\`SUBMIT_REPORT\` at a constant ${int(so.rate)} events/s (${so.rateSource}) on ${so.cases} sandbox cases in \`testing\`, round robin, against one`);
    out.push('service process (`WORKERS=1`, started as `npm start`) on PostgreSQL. Open loop (bench/lib/open-loop.ts): each request leaves at its scheduled');
    out.push('time whether or not earlier ones were answered, and its latency counts from that time, so queueing in the service counts. A warm-up of');
    out.push(`${so.warmupSeconds} s, then ${so.windows.length} windows of ${round(so.windowSeconds, 1)} s. The service's resident memory (its process, from /proc/<pid>/statm) every ${so.rss.intervalSeconds} s; a window's RSS is the median of its samples.`);
    out.push('');
    out.push('| window | from (s) | sent | answered | not 200 | p50 | p99 | RSS (MB) | generator lag p99 |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    out.push(`| warm-up | ${-so.warmupSeconds} | ${int(so.warmup.sent)} | ${int(so.warmup.answered)} | ${so.warmup.errors} | ${ms(so.warmup.p50)} | ${ms(so.warmup.p99)} | | ${ms(so.warmup.sendLagP99)} |`);
    for (const [i, w] of so.windows.entries())
      out.push(`| ${i + 1} | ${round(w.from, 0)} | ${int(w.sent)} | ${int(w.answered)} | ${w.errors} | ${ms(w.p50)} | ${ms(w.p99)} | ${w.rssMb} | ${ms(w.sendLagP99)} |`);
    out.push(`| **last ÷ first** | | | | | **${round(so.p50Ratio)}** | **${round(so.p99Ratio)}** | **${round(so.rssRatio)}** | |`);
    out.push('');
    out.push(`RSS: ${so.rss.afterWarmup} MB after the warm-up, ${so.rss.end} MB at the end, ${so.rss.max} MB at most (${so.rss.samples} samples); the whole process tree (npm and tsx's launcher too) ${so.rss.treeAfterWarmup} → ${so.rss.treeEnd} MB.`);
    out.push(`Answers: ${Object.entries(so.statuses).map(([k, v]) => `${k}: ${int(v)}`).join(', ')}${so.firstError ? ` (first unexpected: ${so.firstError.slice(0, 200).replace(/\|/g, '\\|')})` : ''}; at most ${so.maxConnections} connections open at once.`);
    out.push(`The soak cases counted ${so.records.reportsBefore} reports on average before the warm-up and ${so.records.reportsAfter} at the end; their records took ${int(so.records.bytesBefore)} and ${int(so.records.bytesAfter)} bytes (${so.records.shape === 'tally' ? 'reports held as a tally, `{count, latest_at}`' : so.records.shape === 'list' ? 'reports held as a list' : so.records.shape}).`);
    out.push(`Audit verification at the end (\`verifyAudit\`: every chain recomputed, every case replayed): ${so.verify.ok ? `ok, ${int(so.verify.events)} events in ${int(so.verify.cases)} cases` : `**failed**: ${JSON.stringify(so.verify.failures)}`}.`);
    out.push('');
  }
  out.push('## Machine');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  for (const [k, val] of Object.entries(r.machine)) out.push(`| ${k} | ${val} |`);
  out.push('');
  return out.join('\n');
}
