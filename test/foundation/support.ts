import { sql } from '../../src/db/kysely.js';
import type { Test } from 'tap';
import type { TestApp } from '../helpers/app.js';

type Res = Awaited<ReturnType<TestApp['req']>>;
type Assert = Pick<Test, 'equal' | 'match' | 'notMatch' | 'ok' | 'fail'>;

export type Problem = { type: string; title: string; status: number; detail: string; code: string; errors?: Array<{ path: string; message: string }> };

/**
 * Asserts an RFC 9457 answer: status, content type, every required member, the `code`, no stack
 * trace, and (when `path` is given) an `errors` entry naming that field.
 */
export function assertProblem(t: Assert, res: Res, status: number, code: string, path?: string): Problem {
  t.equal(res.statusCode, status, `status ${status} (${res.body.slice(0, 300)})`);
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, 'content-type is application/problem+json');
  let body: Problem;
  try {
    body = JSON.parse(res.body) as Problem;
  } catch {
    t.fail(`body is not JSON: ${res.body.slice(0, 200)}`);
    return {} as Problem;
  }
  t.equal(body.status, status, 'problem.status matches the HTTP status');
  t.equal(body.code, code, `problem.code is ${code}`);
  t.match(body.type, /^https?:\/\/\S+$/, 'problem.type is a URI');
  t.ok(typeof body.title === 'string' && body.title.length > 0, 'problem.title is given');
  t.ok(typeof body.detail === 'string' && body.detail.length > 0, 'problem.detail is given');
  t.notMatch(res.body, /\bat \S+ \(?\S+:\d+:\d+\)?/, 'no stack trace');
  if (path !== undefined) {
    t.ok(Array.isArray(body.errors) && body.errors.every((e) => typeof e.path === 'string' && typeof e.message === 'string'), 'errors is [{path, message}]');
    t.ok(body.errors?.some((e) => e.path === path), `errors names ${path} (got ${JSON.stringify(body.errors)})`);
  }
  return body;
}

/** Rows in a table, optionally filtered by one column: what was (or was not) stored. */
export async function countRows(ta: TestApp, table: string, where?: [string, unknown]): Promise<number> {
  const q = where
    ? sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)} where ${sql.ref(where[0])} = ${where[1]}`
    : sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`;
  const r = await q.execute(ta.database.db);
  return Number(r.rows[0]!.n);
}

/** Audit events of the registry chain with this type (principals, organizations, accreditation). */
export async function auditTypes(ta: TestApp, type: string): Promise<Array<{ payload: Record<string, unknown> }>> {
  const r = await sql<{ payload: Record<string, unknown> }>`select payload from audit_events where type = ${type} order by id`.execute(ta.database.db);
  return r.rows;
}

export const productBody = (over: Record<string, unknown> = {}) => ({
  name: 'Triage assistant',
  version: '1.0',
  kind: 'ai_system',
  description: 'Ranks emergency-room patients by urgency',
  intended_use: 'Decision support for triage nurses',
  domains: ['healthcare'],
  risk_level: 'high',
  ...over,
});

export const robotBlock = { payload_kg: 5, max_speed_mps: 1.5, operating_environment: 'hospital wards', human_collaboration: true };
export const genaiBlock = { foundation_model: 'Qwen2.5-72B', filing_number: 'Guangdong-ChatX-20240101' };

export const json = (body: string) => ({ payload: body, headers: { 'content-type': 'application/json' } });
