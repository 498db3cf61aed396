// The workbench's "My work" (issue 21, SPEC §6) for a regulator with many open cases: the page
// through HTTP (a signed-in session: cookie, session lookup, the query, the HTML) against the very
// SQL the page's query function sends, run directly, one request at a time, interleaved view by
// view (as benchmark 2 does for the register search). The SQL is captured from `myWork` itself, so
// the figure follows the query wherever it goes.
import type { CompiledQuery } from 'kysely';
import { Kysely, PostgresDialect } from '../src/db/kysely.js';
import pg from 'pg';
import type { DB } from '../src/db/types.js';
import { myWork, PAGE_SIZE } from '../src/workbench/my-work.js';
import { Connection } from './lib/http-client.js';
import { interleaved, log, pct, round, sortedOf } from './lib/common.js';

export type MyWorkResult = {
  cases: number;
  requests: number;
  http: { p50: number; p95: number };
  direct: { p50: number; p95: number };
  ratioP95: number;
  perView: Array<{ label: string; rows: number; httpP50: number; httpP95: number; directP50: number; directP95: number }>;
};

/** Signs a principal in to the workbench as a browser would (the sign-in form, its CSRF token), returning the Cookie header. */
export async function workbenchSession(serviceUrl: string, token: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (r: Response) => {
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const form = await fetch(`${serviceUrl}/workbench/sign-in`, { redirect: 'manual' });
  keep(form);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('no CSRF token on the sign-in page');
  const r = await fetch(`${serviceUrl}/workbench/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
    body: new URLSearchParams({ _csrf: csrf, token, next: '/workbench' }).toString(),
  });
  if (r.status !== 303) throw new Error(`workbench sign-in: ${r.status} ${(await r.text()).slice(0, 300)}`);
  keep(r);
  if (![...jar.keys()].includes('wb_session')) throw new Error('workbench sign-in set no session cookie');
  return cookie();
}

export async function benchMyWork(opts: { dbUrl: string; serviceUrl: string; regulatorToken: string; regulatorId: string; cases: number; rounds: number }): Promise<MyWorkResult> {
  const cookie = await workbenchSession(opts.serviceUrl, opts.regulatorToken);
  const captured: CompiledQuery[] = [];
  const pool = new pg.Pool({ connectionString: opts.dbUrl, max: 1 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && captured.push(e.query)) });
  const caller = { principal_id: opts.regulatorId, role: 'regulator' as const, organization_id: null };
  // The first page, the tenth (a cursor deep in the list), and one state of one kind.
  const first = await myWork(db, caller, { limit: PAGE_SIZE });
  let cursor = first.next_cursor;
  for (let i = 0; i < 8 && cursor; i++) cursor = (await myWork(db, caller, { limit: PAGE_SIZE, cursor })).next_cursor;
  const views: Array<{ label: string; query: { kind?: string; state?: string; cursor?: string }; path: string }> = [
    { label: 'first page', query: {}, path: '/workbench' },
    ...(cursor ? [{ label: 'tenth page (cursor)', query: { cursor }, path: `/workbench?cursor=${encodeURIComponent(cursor)}` }] : []),
    { label: 'sandbox cases in testing', query: { kind: 'sandbox-cases', state: 'testing' }, path: '/workbench?kind=sandbox-cases&state=testing' },
  ];
  const statements: Array<Array<{ sql: string; params: readonly unknown[] }>> = [];
  const rows: number[] = [];
  for (const v of views) {
    captured.length = 0;
    const page = await myWork(db, caller, { ...v.query, limit: PAGE_SIZE });
    statements.push(captured.map((c) => ({ sql: c.sql, params: c.parameters })));
    rows.push(page.items.length);
  }
  const client = await pool.connect();
  const http = new Connection(new URL(opts.serviceUrl));
  const direct = async (i: number) => {
    const t0 = performance.now();
    for (const s of statements[i]!) await client.query(s.sql, s.params as unknown[]);
    return performance.now() - t0;
  };
  const viaHttp = async (i: number) => {
    const t0 = performance.now();
    const r = await http.request('GET', views[i]!.path, { cookie });
    if (r.status !== 200) throw new Error(`${views[i]!.path}: ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
    return performance.now() - t0;
  };
  const times = await interleaved(views.length, opts.rounds, viaHttp, direct);
  client.release();
  http.close();
  await db.destroy();
  const h = sortedOf(times.flatMap((t) => t.http));
  const d = sortedOf(times.flatMap((t) => t.direct));
  const perView = views.map((v, i) => {
    const th = sortedOf(times[i]!.http);
    const td = sortedOf(times[i]!.direct);
    return { label: v.label, rows: rows[i]!, httpP50: round(pct(th, 50)), httpP95: round(pct(th, 95)), directP50: round(pct(td, 50)), directP95: round(pct(td, 95)) };
  });
  for (const p of perView) log(`  ${p.label.padEnd(26)} ${String(p.rows).padStart(3)} rows · page p50 ${p.httpP50} ms p95 ${p.httpP95} ms · SQL p50 ${p.directP50} ms p95 ${p.directP95} ms`);
  return {
    cases: opts.cases,
    requests: h.length,
    http: { p50: pct(h, 50), p95: pct(h, 95) },
    direct: { p50: pct(d, 50), p95: pct(d, 95) },
    ratioP95: pct(h, 95) / pct(d, 95),
    perView,
  };
}
