// Notifications' figures (issue 24, SPEC §9), each service a worker per core, each side on a
// database of its own:
//  (a) transitions (SUBMIT_REPORT, as benchmark 1) to a service with a regulators' endpoint
//      subscribed to every event (`*`), its dispatcher off, against the same service on a database
//      with no endpoint, rounds ABBA…: what the subscription costs a transition (the outbox rows its
//      statement writes);
//  (b) the dispatcher's throughput: the outbox (a) wrote, delivered by that service with its
//      dispatcher on, timed from the first delivery to the last, against (a)'s transition rate;
//  (c) for the record, (a) again with the dispatcher delivering as it goes, on the same cores.
// Every delivery goes to 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE=true).
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createDatabase, httpLoad, log, median, pct, round, roundsFigure, sleep, startService, type LoadResult, type RoundsFigure, type Service } from './lib/common.js';
import { adminToken, createCast, reportPayload, type HttpCast } from './lib/cast.js';
import { encodeRequest } from './lib/http-client.js';
import { cpuSampler } from './lib/cpu.js';
import { loadSandboxCases } from './lib/load.js';

export type WebhooksResult = {
  cases: number;
  clients: number;
  seconds: number;
  rounds: number;
  on: RoundsFigure;
  off: RoundsFigure;
  /** Median of each subscribed round's rate ÷ its neighbouring unsubscribed round's, the dispatcher off. */
  ratio: number;
  /** (c) The same with the subscribed service's dispatcher delivering as it goes; deliveries received in those rounds. */
  delivering: { on: RoundsFigure; off: RoundsFigure; ratio: number; delivered: number };
  dispatcher: { backlog: number; seconds: number; rate: number; ratio: number; received: number; cpuMsPerDelivery: { service: number; postgres: number; receiver: number } };
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

export async function prepare(label: string, admin: string, cases: number): Promise<{ db: Awaited<ReturnType<typeof createDatabase>>; cast: HttpCast; ids: string[] }> {
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

export async function benchWebhooks(opts: { cases: number; clients: number; seconds: number; rounds: number }): Promise<WebhooksResult> {
  const admin = adminToken();
  const workers = String(os.availableParallelism());
  const sink = await receiver();
  const a = await prepare('on', admin, opts.cases);
  const b = await prepare('off', admin, opts.cases);
  log(`  ${opts.cases} cases in testing loaded on each of two databases`);
  const env = (dbUrl: string, dispatch: boolean) => ({ DATABASE_URL: dbUrl, ADMIN_TOKEN: admin, WORKERS: workers, WEBHOOK_ALLOW_PRIVATE: 'true', ...(dispatch ? {} : { DISPATCH_INTERVAL_MS: '0' }) });
  const services: Service[] = [];
  const start = async (dbUrl: string, dispatch: boolean, label: string) => {
    const s = await startService(env(dbUrl, dispatch), { how: 'tsx', label });
    services.push(s);
    return s;
  };
  try {
    // (a) The cost of the subscription to a transition: the outbox rows its statement writes. The
    // dispatcher is off in these rounds, so that its work (signing, sending, the receiver, which share
    // the machine's cores) is not counted as the transitions' (it is measured in (b), and both
    // together in (c)).
    let on = await start(a.db.url, false, 'webhooks-outbox');
    const off = await start(b.db.url, false, 'webhooks-off');
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
    const rounds = async (n: number, what: string) => {
      const results = { on: [] as LoadResult[], off: [] as LoadResult[] };
      for (let k = 0; k < n; k++) {
        for (const which of k % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const h = await httpLoad((which === 'on' ? on : off).url, opts.clients, opts.seconds, next(which));
          results[which].push(h);
          log(`  ${what} round ${k + 1} ${which === 'on' ? 'subscribed' : 'no endpoint'}: ${round(h.rps, 0)} events/s (p99 ${round(pct(h.latencies, 99))} ms, errors ${h.errors})`);
        }
      }
      return results;
    };
    const outbox = await rounds(opts.rounds, '(a)');
    await on.stop();

    // (b) The dispatcher's throughput: the outbox (a) wrote (and the warm-up's), delivered by the
    // same service with its dispatcher on, timed from the first delivery to the last (the start left out).
    const backlog = await pending(a.db.url);
    const received0 = sink.count();
    on = await start(a.db.url, true, 'webhooks-dispatch');
    while (sink.count() === received0) await sleep(1);
    const t0 = performance.now();
    const first = sink.count();
    // Where the CPU goes while it drains: the service's workers, PostgreSQL's backends of this
    // database, and this process (the receiver).
    const cpu = cpuSampler({ dbUrl: a.db.url, dbName: a.db.name, servicePgrp: on.pid });
    // Watched at the receiver, not by counting the outbox over a new connection every few ms (that
    // polling took a share of the same two cores from the dispatcher); then checked once.
    while (sink.count() - received0 < backlog) await sleep(5);
    const split = await cpu.stop();
    while ((await pending(a.db.url)) > 0) await sleep(100);
    const seconds = (sink.last() - t0) / 1000;
    const received = sink.count() - received0;
    const timed = sink.count() - first;
    const perDelivery = (x: number) => round((x * 1000) / timed, 3);
    log(`  (b) a backlog of ${backlog} deliveries: ${timed} delivered in ${round(seconds, 2)} s after the first; CPU per delivery: service ${perDelivery(split.service)} ms, PostgreSQL ${perDelivery(split.postgres)} ms, receiver ${perDelivery(split.client)} ms (${round((split.service + split.postgres + split.client) / split.seconds, 2)} cores busy of ${os.availableParallelism()})`);

    // (c) Both at once, for the record: the subscribed service delivering to the receiver on the
    // same cores as it serves the transitions.
    const before = sink.count();
    const together = await rounds(Math.min(2, opts.rounds), '(c)');
    while ((await pending(a.db.url)) > 0) await sleep(100);
    const deliveredDuringRounds = sink.count() - before;

    const offFigure = roundsFigure(outbox.off);
    return {
      cases: opts.cases,
      clients: opts.clients,
      seconds: opts.seconds,
      rounds: opts.rounds,
      on: roundsFigure(outbox.on),
      off: offFigure,
      ratio: median(outbox.on.map((h, k) => h.rps / outbox.off[k]!.rps)),
      delivering: { on: roundsFigure(together.on), off: roundsFigure(together.off), ratio: median(together.on.map((h, k) => h.rps / together.off[k]!.rps)), delivered: deliveredDuringRounds },
      dispatcher: { backlog, seconds, rate: timed / seconds, ratio: timed / seconds / offFigure.rate, received, cpuMsPerDelivery: { service: perDelivery(split.service), postgres: perDelivery(split.postgres), receiver: perDelivery(split.client) } },
    };
  } finally {
    for (const s of services) await s.stop();
    await sink.close();
    await a.db.drop();
    await b.db.drop();
  }
}
