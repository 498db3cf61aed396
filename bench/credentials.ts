// Verifiable certificates' figures (issue 23, SPEC §8):
//  - CERTIFY with credential issuance (the issuer on, CREDENTIAL_ISSUER_INTERVAL_MS default) against
//    the same service with the issuer off, rounds alternating, the same run. A round of the issuer's
//    service ends when every CERTIFY is answered AND its issuer has emptied the queue, so the whole
//    cost of issuance falls inside its rounds;
//  - the issuer alone (issueQueued, as the service runs it, in this process) signing the off rounds'
//    queue, in credentials per second against the CERTIFY rate;
//  - status lists served at the register's full size (1,000,000 certificates at full scale, 1 %
//    suspended and 0.5 % revoked): p50/p95 of GET /v1/status-lists/:purpose/:n over every list,
//    signed once and then served from the instance's cache while the bits stay the same; and one
//    bit changed: which lists' ETags change (only the one holding the certificate should).
import os from 'node:os';
import pg from 'pg';
import { sql } from '../src/db/kysely.js';
import { openDatabase } from '../src/db/index.js';
import { issueQueued } from '../src/credentials/issuer.js';
import { issuerKeysOf } from '../src/credentials/keys.js';
import { loadLogKeys } from '../src/transparency/keys.js';
import { BENCH_LOG_ORIGIN, benchSigningKeyFile, createDatabase, http, httpLoad, log, median, pct, round, sendAll, sleep, startService, type LoadResult, roundsFigure, type RoundsFigure } from './lib/common.js';
import { adminToken } from './lib/cast.js';
import { encodeRequest } from './lib/http-client.js';

export type IssuanceResult = {
  casesPerRound: number;
  rounds: number;
  clients: number;
  on: RoundsFigure;
  off: RoundsFigure;
  /** Median of each on round's CERTIFY rate ÷ its neighbouring off round's. */
  ratio: number;
  /** The issuer alone signing the off rounds' queue (this process, PostgreSQL). */
  issuer: { credentials: number; seconds: number; rate: number };
};

type Actor = { token: string };

/** Runs `n` jobs, `parallel` at a time. */
async function pool<T>(n: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await job(i);
    }
  }));
  return out;
}

/** `count` certification cases carried to results_posted through the API, as a lab and a regulator would. */
async function casesReadyToCertify(url: string, admin: string, count: number): Promise<{ ids: string[]; regulator: Actor }> {
  const tag = Math.random().toString(36).slice(2, 8);
  const holder = await http(url, 'POST', '/v1/organizations', { name: `深圳湾机器人有限公司 ${tag}`, name_en: `Shenzhen Bay Robotics ${tag}`, kind: 'enterprise', region: 'hong_kong', registration_number: String(10_000_000 + Math.floor(Math.random() * 89_999_999)), contact_email: 'bench@example.hk' }, admin);
  const labOrg = await http(url, 'POST', '/v1/organizations', { name: `粤港人工智能检测实验室 ${tag}`, kind: 'lab', region: 'hong_kong', registration_number: String(10_000_000 + Math.floor(Math.random() * 89_999_999)), contact_email: 'lab@example.hk' }, admin);
  const regulator: Actor = await http(url, 'POST', '/v1/principals', { role: 'regulator', name: 'bench regulator' }, admin);
  const applicant: Actor = await http(url, 'POST', '/v1/principals', { role: 'applicant', organization_id: holder.id, name: 'bench applicant' }, admin);
  const lab: Actor = await http(url, 'POST', '/v1/principals', { role: 'lab', organization_id: labOrg.id, name: 'bench lab' }, admin);
  const validUntil = new Date(Date.now() + 365 * 86_400_000).toISOString();
  await http(url, 'PUT', `/v1/organizations/${labOrg.id}/accreditation`, { accreditation_number: `CNAS L${tag}`, schemes: ['robot-safety'], valid_until: validUntil }, regulator.token);
  const criteria: Array<{ id: string }> = (await http(url, 'GET', '/v1/schemes/robot-safety')).criteria;
  const results = () => ({
    results: criteria.map((c) => ({ criterion_id: c.id, verdict: 'pass', notes: `checked ${c.id}`, evidence_sha256: 'a'.repeat(64) })),
    summary: 'all criteria passed',
    report_sha256: 'b'.repeat(64),
    tested_at: new Date().toISOString(),
  });
  const fire = (token: string, id: string, type: string, payload?: unknown) => http(url, 'POST', `/v1/certification-cases/${id}/events`, payload === undefined ? { type } : { type, payload }, token);
  const ids = await pool(count, 16, async (i) => {
    const product = await http(url, 'POST', '/v1/products', { kind: 'robot', name: `协作机器人 Cobot ${tag}-${i}`, version: '2.1', description: 'A collaborative robot arm', intended_use: 'Assembly beside workers', risk_level: 'high', domains: ['industry'], robot: { payload_kg: 10, max_speed_mps: 1.5, operating_environment: 'factory cell shared with workers', human_collaboration: true } }, applicant.token);
    const c = await http(url, 'POST', '/v1/certification-cases', { product_id: product.id, scheme: 'robot-safety', standards: ['ISO 10218-1:2025'], declared_scope: 'The product as registered, version 2.x' }, applicant.token);
    await fire(applicant.token, c.id, 'SUBMIT');
    await fire(regulator.token, c.id, 'ASSIGN_LAB', { lab_id: labOrg.id });
    await fire(lab.token, c.id, 'ACCEPT_ASSIGNMENT');
    await fire(lab.token, c.id, 'POST_RESULTS', results());
    return c.id as string;
  });
  return { ids, regulator };
}

/**
 * Two services, each on a database of its own (sharing one, the issuer's service would sign the
 * other's certificates during the other's rounds), each a worker per core, the same but for the
 * issuer; rounds of CERTIFY on prepared cases in the order ABBA…
 */
export async function benchIssuance(opts: { casesPerRound: number; rounds: number; clients: number }): Promise<IssuanceResult> {
  const admin = adminToken();
  const workers = String(os.availableParallelism());
  const dbOn = await createDatabase('bench_vc_on');
  const dbOff = await createDatabase('bench_vc_off');
  const on = await startService({ DATABASE_URL: dbOn.url, ADMIN_TOKEN: admin, WORKERS: workers }, { how: 'tsx', label: 'issuer-on' });
  const off = await startService({ DATABASE_URL: dbOff.url, ADMIN_TOKEN: admin, WORKERS: workers, CREDENTIAL_ISSUER_INTERVAL_MS: '0' }, { how: 'tsx', label: 'issuer-off' });
  const onDb = await openDatabase({ databaseUrl: dbOn.url, dataDir: '', poolSize: 2 });
  const offDb = await openDatabase({ databaseUrl: dbOff.url, dataDir: '', poolSize: 2 });
  const key = (await issuerKeysOf(loadLogKeys(benchSigningKeyFile(), BENCH_LOG_ORIGIN))).signer;
  const issueOptions = { issuerUrl: 'https://bench.registry.test', publicUrl: 'https://bench.registry.test', key, now: () => new Date() };
  const queued = async () => (await sql<{ n: number }>`select count(*)::int as n from credential_queue`.execute(onDb.db)).rows[0]!.n;
  try {
    const perService = opts.casesPerRound * opts.rounds + 100;
    const t0 = performance.now();
    const [a, b] = await Promise.all([casesReadyToCertify(on.url, admin, perService), casesReadyToCertify(off.url, admin, perService)]);
    log(`  ${2 * perService} certification cases carried to results_posted through the API in ${round((performance.now() - t0) / 1000, 1)} s`);
    const certify = (regulator: Actor) => (id: string) => encodeRequest('POST', `/v1/certification-cases/${id}/events`, { authorization: `Bearer ${regulator.token}`, 'content-type': 'application/json' }, JSON.stringify({ type: 'CERTIFY' }));
    const svc = { on: { url: on.url, ids: a.ids.map(certify(a.regulator)), next: 0 }, off: { url: off.url, ids: b.ids.map(certify(b.regulator)), next: 0 } };
    // Warm-up: 100 CERTIFY each; the on service's credentials issued by its issuer.
    for (const which of ['on', 'off'] as const) {
      await sendAll(svc[which].url, opts.clients, svc[which].ids.slice(0, 100));
      svc[which].next = 100;
    }
    while ((await queued()) > 0) await sleep(20);
    const results = { on: [] as LoadResult[], off: [] as LoadResult[] };
    for (let r = 0; r < opts.rounds * 2; r++) {
      const which = r % 4 === 0 || r % 4 === 3 ? 'on' : 'off';
      const x = svc[which];
      const batch = x.ids.slice(x.next, x.next + opts.casesPerRound);
      x.next += opts.casesPerRound;
      const s = performance.now();
      const h = await sendAll(x.url, opts.clients, batch);
      // The issuer's round ends when its queue is empty too: issuance is part of what CERTIFY costs it.
      if (which === 'on') while ((await queued()) > 0) await sleep(5);
      const seconds = (performance.now() - s) / 1000;
      const result = { ...h, seconds, rps: h.requests / seconds };
      results[which].push(result);
      log(`  round ${r + 1} issuer ${which}: ${round(result.rps, 0)} CERTIFY/s (${h.requests} in ${round(seconds, 2)} s, errors ${h.errors})`);
    }
    // The off service's certificates, signed by the issuer's own function in this process, alone.
    await on.stop();
    await off.stop();
    const s = performance.now();
    let credentials = 0;
    for (;;) {
      const r = await issueQueued(offDb.db, issueOptions, 500);
      credentials += r.issued;
      if (r.taken === 0) break;
    }
    const seconds = (performance.now() - s) / 1000;
    return {
      casesPerRound: opts.casesPerRound,
      rounds: opts.rounds,
      clients: opts.clients,
      on: roundsFigure(results.on),
      off: roundsFigure(results.off),
      ratio: median(results.on.map((h, k) => h.rps / results.off[k]!.rps)),
      issuer: { credentials, seconds, rate: credentials / seconds },
    };
  } finally {
    await onDb.close();
    await offDb.close();
    await on.stop();
    await off.stop();
    await dbOn.drop();
    await dbOff.drop();
  }
}

export type StatusListResult = { certificates: number; lists: number; suspended: number; revoked: number; requests: number; errors: number; p50: number; p95: number; p99: number; firstSignMs: number; changedLists: string[] };

/**
 * The status lists of a loaded register (src/credentials/status-list.ts), through HTTP: every list
 * of both purposes requested at random by `clients` clients for `seconds`, after one request each
 * (which signs it). Then one certificate's status changes, as SUSPEND changes it, and every list is
 * asked for again: the ETags that changed name the lists that were rewritten.
 */
export async function benchStatusLists(dbUrl: string, serviceUrl: string, opts: { clients: number; seconds: number }): Promise<StatusListResult> {
  const client = new pg.Client({ connectionString: dbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    // 1 % suspended, 0.5 % revoked, spread over every list.
    await client.query(`update certificates set status = 'suspended' where status_index % 100 = 7`);
    await client.query(`update certificates set status = 'revoked' where status_index % 200 = 11`);
    await client.query('vacuum analyze certificates');
    const counts = (await client.query<{ n: number; s: number; r: number; m: string }>(
      `select count(*)::int as n, count(*) filter (where status = 'suspended')::int as s, count(*) filter (where status = 'revoked')::int as r, max(status_index)::text as m from certificates`,
    )).rows[0]!;
    const lists = Math.floor(Number(counts.m) / 131_072) + 1;
    const paths = ['revocation', 'suspension'].flatMap((p) => Array.from({ length: lists }, (_, n) => `/v1/status-lists/${p}/${n}`));
    const etags = async () => {
      const out = new Map<string, string>();
      for (const p of paths) {
        const r = await fetch(`${serviceUrl}${p}`);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
        out.set(p, r.headers.get('etag') ?? '');
      }
      return out;
    };
    const s = performance.now();
    const before = await etags(); // signs each list once
    const firstSignMs = (performance.now() - s) / paths.length;
    const h = await httpLoad(serviceUrl, opts.clients, opts.seconds, () => ({ method: 'GET', path: paths[Math.floor(Math.random() * paths.length)]! }), { warmupSeconds: 2 });
    // One bit: the certificate at index 200,000 (list 1 at full size) suspended.
    const target = Math.min(200_000, Number(counts.m));
    await client.query(`update certificates set status = 'suspended' where status_index = $1 and status = 'valid'`, [target]);
    const after = await etags();
    const changedLists = paths.filter((p) => before.get(p) !== after.get(p));
    return { certificates: counts.n, lists, suspended: counts.s, revoked: counts.r, requests: h.requests, errors: h.errors, p50: pct(h.latencies, 50), p95: pct(h.latencies, 95), p99: pct(h.latencies, 99), firstSignMs, changedLists };
  } finally {
    await client.end();
  }
}
