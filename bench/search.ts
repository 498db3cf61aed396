// Benchmark 2: latency of the public certificate search through HTTP against the very SQL the
// service sends, run directly, one request at a time, interleaved query by query. A search may
// send more than one statement (names first, then certificates): the direct run replays all of
// them, in order, with the parameters each was sent with.
import type { CompiledQuery } from 'kysely';
import { Kysely, PostgresDialect } from '../src/db/kysely.js';
import pg from 'pg';
import { Connection } from './lib/http-client.js';
import type { DB } from '../src/db/types.js';
import { certificateRegister } from '../src/register/certificates.js';
import { interleaved, log, pct, round, sortedOf } from './lib/common.js';

export const SEARCHES = [
  { label: 'one holder (Chinese name fragment)', q: '科技有限公司1234' },
  { label: 'holder, English', q: 'qianhai arm technology co 77' },
  { label: 'product name + number', q: 'robot 4321' },
  { label: 'certificate number prefix', q: 'GDAIC-2025-0123' },
  { label: 'whole certificate number', q: 'GDAIC-2024-012345' },
  { label: 'city + trade (~1/144 of holders)', q: '东莞机器人' },
  { label: 'common word (1/12 of certificates)', q: 'qianhai' },
  { label: 'city (1/12)', q: '深圳' },
  { label: 'no match', q: 'zzzz nothing' },
  { label: 'no q (first page)', q: null },
  { label: 'status=valid + scheme', q: null, extra: '&status=valid&scheme=robot-safety' },
];

export type SearchResult = {
  requests: number;
  http: { p50: number; p95: number; p99: number };
  direct: { p50: number; p95: number; p99: number };
  ratioP50: number;
  ratioP95: number;
  perQuery: Array<{ label: string; q: string | null; matches: number; statements: number; httpP50: number; directP50: number; httpP95: number; directP95: number }>;
};

export async function benchSearch(dbUrl: string, serviceUrl: string, rounds: number): Promise<SearchResult> {
  // The SQL and parameters of each search, captured from the service's own query builder.
  const captured: CompiledQuery[] = [];
  const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && captured.push(e.query)) });
  const queries: Array<{ label: string; q: string | null; path: string; statements: Array<{ sql: string; params: readonly unknown[] }>; matches: number }> = [];
  for (const s of SEARCHES) {
    captured.length = 0;
    const page = await certificateRegister(db, { q: s.q ?? undefined, limit: 50, ...parseExtra(s.extra) } as never, new Date());
    const statements = captured.map((c) => ({ sql: c.sql, params: c.parameters }));
    const path = `/v1/register/certificates?limit=50${s.q ? `&q=${encodeURIComponent(s.q)}` : ''}${s.extra ?? ''}`;
    queries.push({ label: s.label, q: s.q, path, statements, matches: page.items.length });
  }
  const client = await pool.connect();
  const http = new Connection(new URL(serviceUrl));
  const direct = async (i: number) => {
    // Dates as the service would send them: a fresh "now" for each search.
    const now = new Date();
    const statements = queries[i]!.statements.map((s) => ({ sql: s.sql, params: s.params.map((p) => (p instanceof Date ? now : p)) }));
    const t0 = performance.now();
    for (const s of statements) await client.query(s.sql, s.params as unknown[]);
    return performance.now() - t0;
  };
  const viaHttp = async (i: number) => {
    const t0 = performance.now();
    const r = await http.request('GET', queries[i]!.path, {});
    if (r.status !== 200) throw new Error(`search ${queries[i]!.path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
    return performance.now() - t0;
  };
  const times = await interleaved(queries.length, rounds, viaHttp, direct);
  client.release();
  http.close();
  await db.destroy();
  const all = (k: 'http' | 'direct') => sortedOf(times.flatMap((t) => t[k]));
  const h = all('http');
  const d = all('direct');
  const perQuery = queries.map((q, i) => {
    const th = sortedOf(times[i]!.http);
    const td = sortedOf(times[i]!.direct);
    return {
      label: q.label,
      q: q.q,
      matches: q.matches,
      statements: q.statements.length,
      httpP50: round(pct(th, 50)),
      directP50: round(pct(td, 50)),
      httpP95: round(pct(th, 95)),
      directP95: round(pct(td, 95)),
    };
  });
  for (const p of perQuery) log(`  ${p.label.padEnd(38)} HTTP p50 ${p.httpP50} ms p95 ${p.httpP95} ms · SQL (${p.statements} statement${p.statements === 1 ? '' : 's'}) p50 ${p.directP50} ms p95 ${p.directP95} ms`);
  return {
    requests: h.length,
    http: { p50: pct(h, 50), p95: pct(h, 95), p99: pct(h, 99) },
    direct: { p50: pct(d, 50), p95: pct(d, 95), p99: pct(d, 99) },
    ratioP50: pct(h, 50) / pct(d, 50),
    ratioP95: pct(h, 95) / pct(d, 95),
    perQuery,
  };
}

function parseExtra(extra: string | undefined): Record<string, string> {
  return extra ? Object.fromEntries(new URLSearchParams(extra.replace(/^&/, ''))) : {};
}
