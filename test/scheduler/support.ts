import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestClock, fixtures, openSameDatabase, openTestDatabase, testDatabaseUrl, type TestApp } from '../helpers/app.js';
import { openDatabase, type Database } from '../../src/db/index.js';

/** The wall clock, for tests of the real-time behaviour. */
export class RealClock extends TestClock {
  override now = () => new Date();
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const DAY = 86_400_000;

/** Polls until check() answers a truthy value or the time runs out (then answers the last value). */
export async function waitFor<T>(check: () => Promise<T>, timeoutMs: number, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() >= until) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const SANDBOX_APPLICATION = (productId: string) => ({
  product_id: productId,
  scenarios: ['hospital triage'],
  test_scope: { regions: ['Shenzhen'], max_users: 100, duration_months: 6 },
  risks: [{ description: 'misdiagnosis', level: 'high' }],
  safeguards: ['clinician review'],
  contact: { name: 'Li Lei', email: 'li@example.cn' },
});

export type Cast = Awaited<ReturnType<typeof fixtures>>;

/** Sandbox cases through HTTP, as the applicant and the regulator would drive them (`cast` may come from another app on the same database). */
export async function sandbox(ta: TestApp, cast?: Cast) {
  const f = cast ?? (await fixtures(ta));
  let product: { id: string } | null = null;
  const ok = async (r: Awaited<ReturnType<TestApp['req']>>, what: string) => {
    if (r.statusCode !== 200 && r.statusCode !== 201) throw new Error(`${what}: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  const api = {
    f,
    async underReview(): Promise<string> {
      product ??= await f.product(f.applicant.token);
      const c = await ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: f.applicant.token, payload: SANDBOX_APPLICATION(product!.id) }), 'create');
      await api.fire(c.id, f.applicant.token, 'SUBMIT');
      await api.fire(c.id, f.regulator.token, 'START_REVIEW');
      return c.id;
    },
    async fire(id: string, token: string, type: string, payload?: unknown) {
      return ok(
        await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } }),
        type,
      );
    },
    /** A case admitted now for a testing period [start, end]. */
    async admitted(start: string, end: string): Promise<string> {
      const id = await api.underReview();
      await api.fire(id, f.regulator.token, 'ADMIT', { conditions: ['weekly reports'], testing_period: { start, end } });
      return id;
    },
    async infoRequested(respondBy: string): Promise<string> {
      const id = await api.underReview();
      await api.fire(id, f.regulator.token, 'REQUEST_INFO', { questions: ['Which hospitals?'], respond_by: respondBy });
      return id;
    },
    async get(id: string) {
      return ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}`, token: f.regulator.token }), 'get');
    },
    async history(id: string): Promise<Array<{ seq: number; type: string; actor: { principal_id: string | null; role: string }; from_state: string; to_state: string; payload: unknown; at: string }>> {
      return (await ok(await ta.req({ method: 'GET', url: `/v1/sandbox-cases/${id}/events`, token: f.regulator.token }), 'history')).items;
    },
    async verify() {
      return ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token }), 'verify');
    },
  };
  return api;
}

/**
 * A database that outlives one "process": on PostgreSQL a new pool on the same database; on the
 * embedded database the files in a data directory, closed and opened again. `env` points another
 * process (the CLI) at it.
 */
export async function storage(t: { teardown(fn: () => unknown): void }) {
  if (testDatabaseUrl()) {
    const first = await openTestDatabase();
    t.teardown(() => first.close());
    const reopened: Database[] = [];
    t.teardown(async () => {
      for (const d of reopened) await d.close();
    });
    return {
      first,
      reopen: async () => {
        const d = await openSameDatabase(first);
        reopened.push(d);
        return d;
      },
      closeFirst: async () => {},
      env: { DATABASE_URL: (first as Database & { url: string }).url } as Record<string, string>,
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scheduler-restart-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await openDatabase({ databaseUrl: null, dataDir: dir });
  let second: Database | null = null;
  t.teardown(async () => {
    await second?.close();
  });
  return {
    first,
    reopen: async () => (second = await openDatabase({ databaseUrl: null, dataDir: dir })),
    closeFirst: () => first.close(),
    env: { DATA_DIR: dir, DATABASE_URL: '' } as Record<string, string>,
  };
}
