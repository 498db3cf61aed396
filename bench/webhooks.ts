// Notifications' figures (issue 24, SPEC §9):
//  - transitions (SUBMIT_REPORT, as benchmark 1) to a service with a regulators' endpoint subscribed
//    to every event (`*`), its dispatcher delivering to a receiver on loopback as it goes, against
//    the same service on a database with no endpoint; each on a database of its own, rounds ABBA…;
//  - the dispatcher's throughput: a backlog of deliveries written by transitions to a service with
//    its dispatcher off (DISPATCH_INTERVAL_MS=0), then delivered by a service with it on (a worker
//    per core, each running one), timed from its start to the last delivery, against the transition
//    rate of the same run. Every delivery goes to 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE=true).
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createDatabase, httpLoad, log, median, pct, round, roundsFigure, sendAll, sleep, startService, type LoadResult, type RoundsFigure, type Service } from './lib/common.js';
import { adminToken, createCast, reportPayload, type HttpCast } from './lib/cast.js';
import { encodeRequest } from './lib/http-client.js';
import { loadSandboxCases } from './lib/load.js';

export type WebhooksResult = {
  cases: number;
  clients: number;
  seconds: number;
  rounds: number;
  on: RoundsFigure;
  off: RoundsFigure;
  /** Median of each subscribed round's rate ÷ its neighbouring unsubscribed round's. */
  ratio: number;
  /** Deliveries received during the subscribed rounds (each event once, or more on a retry). */
  deliveredDuringRounds: number;
  dispatcher: { backlog: number; seconds: number; rate: number; ratio: number; received: number };
};

/** A receiver on loopback that answers 204 to every POST and counts what it got. */
async function receiver(): Promise<{ url: string; count: () => number; ids: Set<string>; last: () => number; close: () => Promise<void> }> {
  let n = 0;
  let last = 0;
  const ids = new Set<string>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      last = performance.now();
      const id = req.headers['webhook-id'];
      if (typeof id === 'string') ids.add(id);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/registry`, count: () => n, ids, last: () => last, close: () => new Promise((r) => server.close(() => r())) };
}

async function prepare(label: string, admin: string, cases: number): Promise<{ db: Awaited<ReturnType<typeof createDatabase>>; cast: HttpCast; ids: string[] }> {
  const db = await createDatabase(`bench_wh_${label}`);
  const setup = await startService({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, SEQUENCER_INTERVAL_MS: '0' }, { how: 'tsx', label: `wh-setup-${label}` });
  const cast = await createCast(setup.url, admin);
  await setup.stop();
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  const now = Date.now();
  const ids = await loadSandboxCases(client, cast, { count: cases, state: 'testing', firstNumber: 1, startAt: new Date(now - 5 * 86_400_000), endAt: new Date(now + 300 * 86_400_000), createdAt: new Date(now - 10 * 86_400_000) });
  await client.query('vacuum analyze');
  await client.end();
  return { db, cast, ids };
}

const pending = async (dbUrl: string) => {
  const client = new pg.Client({ connectionString: dbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<{ n: number }>(`select count(*)::int as n from webhook_deliveries where status = 'pending'`)).rows[0]!.n;
  } finally {
    await client.end();
  }
};

export async function benchWebhooks(opts: { cases: number; clients: number; seconds: number; rounds: number; backlog: number }): Promise<WebhooksResult> {
  const admin = adminToken();
  const workers = String(os.availableParallelism());
  const sink = await receiver();
  const a = await prepare('on', admin, opts.cases);
  const b = await prepare('off', admin, opts.cases);
  log(`  ${opts.cases} cases in testing loaded on each of two databases`);
  const env = (dbUrl: string) => ({ DATABASE_URL: dbUrl, ADMIN_TOKEN: admin, WORKERS: workers, WEBHOOK_ALLOW_PRIVATE: 'true' });
  const services: Service[] = [];
  try {
    const on = await startService(env(a.db.url), { how: 'tsx', label: 'webhooks-on' });
    services.push(on);
    const off = await startService(env(b.db.url), { how: 'tsx', label: 'webhooks-off' });
    services.push(off);
    const r = await fetch(`${on.url}/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${a.cast.regulatorToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: sink.url, events: ['*'], description: 'benchmark receiver' }) });
    if (r.status !== 201) throw new Error(`POST /v1/webhooks: ${r.status} ${await r.text()}`);
    const requestsFor = (x: { cast: HttpCast; ids: string[] }) =>
      Array.from({ length: 16_384 }, (_, i) =>
        encodeRequest('POST', `/v1/sandbox-cases/${x.ids[Math.floor(Math.random() * x.ids.length)]!}/events`, { authorization: `Bearer ${x.cast.applicantToken}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'SUBMIT_REPORT', payload: reportPayload(i) })),
      );
    const reqs = { on: requestsFor(a), off: requestsFor(b) };
    const cursor = { on: 0, off: 0 };
    const next = (which: 'on' | 'off') => () => ({ raw: reqs[which][cursor[which]++ % reqs[which].length]! });
    log('  warm-up: 5 s each');
    await httpLoad(on.url, opts.clients, 5, next('on'));
    await httpLoad(off.url, opts.clients, 5, next('off'));
    while ((await pending(a.db.url)) > 0) await sleep(100);
    const before = sink.count();
    const results = { on: [] as LoadResult[], off: [] as LoadResult[] };
    for (let k = 0; k < opts.rounds; k++) {
      for (const which of k % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const h = await httpLoad((which === 'on' ? on : off).url, opts.clients, opts.seconds, next(which));
        results[which].push(h);
        log(`  round ${k + 1} ${which === 'on' ? 'subscribed' : 'no endpoint'}: ${round(h.rps, 0)} events/s (p99 ${round(pct(h.latencies, 99))} ms, errors ${h.errors})`);
      }
    }
    // What the subscribed rounds sent, delivered (untimed).
    while ((await pending(a.db.url)) > 0) await sleep(100);
    const deliveredDuringRounds = sink.count() - before;
    await on.stop();
    await off.stop();

    // The dispatcher's throughput: a backlog written with no dispatcher running, then delivered.
    const writer = await startService({ ...env(a.db.url), DISPATCH_INTERVAL_MS: '0' }, { how: 'tsx', label: 'webhooks-backlog' });
    services.push(writer);
    const backlogRequests = Array.from({ length: opts.backlog }, () => next('on')().raw);
    const w = await sendAll(writer.url, opts.clients, backlogRequests);
    await writer.stop();
    const backlog = await pending(a.db.url);
    const received0 = sink.count();
    const dispatcher = await startService(env(a.db.url), { how: 'tsx', label: 'webhooks-dispatch' });
    services.push(dispatcher);
    // Timed from the first delivery to the last, the service's start left out.
    while (sink.count() === received0) await sleep(1);
    const t0 = performance.now();
    const first = sink.count();
    while ((await pending(a.db.url)) > 0) await sleep(20);
    const seconds = (sink.last() - t0) / 1000;
    const received = sink.count() - received0;
    const timed = sink.count() - first;
    await dispatcher.stop();
    log(`  backlog of ${backlog} deliveries (written at ${round(w.rps, 0)} events/s): ${timed} delivered in ${round(seconds, 2)} s after the first`);
    const offFigure = roundsFigure(results.off);
    return {
      cases: opts.cases,
      clients: opts.clients,
      seconds: opts.seconds,
      rounds: opts.rounds,
      on: roundsFigure(results.on),
      off: offFigure,
      ratio: median(results.on.map((h, k) => h.rps / results.off[k]!.rps)),
      deliveredDuringRounds,
      dispatcher: { backlog, seconds, rate: timed / seconds, ratio: timed / seconds / offFigure.rate, received },
    };
  } finally {
    for (const s of services) await s.stop();
    await sink.close();
    await a.db.drop();
    await b.db.drop();
  }
}
