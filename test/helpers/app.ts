import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import type { Logger } from 'pino';
import { creditCodeCheckChar, orgCodeCheckChar, CREDIT_CODE_CHARSET } from '../../src/registry/credit-code.js';
import { createPostgresTestDatabase, openEmbeddedTestDatabase } from './template.js';

type Tap = { teardown(fn: () => unknown): void };

/** A settable clock: tests move time instead of waiting for it. */
export class TestClock {
  constructor(public ms = Date.now()) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
  set(d: Date | string) {
    this.ms = new Date(d).getTime();
  }
}

export const testDatabaseUrl = () => process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || null;

/**
 * A database of its own, migrated and empty: a new PostgreSQL database on the server named by
 * TEST_DATABASE_URL/DATABASE_URL (dropped again on close), else a new embedded one (removed on
 * close); each a copy of a template migrated once (test/helpers/template.ts). Fresh per test file,
 * so a test that tampers with audit rows cannot disturb another's verify.
 */
export async function openTestDatabase(opts: { poolSize?: number } = {}): Promise<Database> {
  const url = testDatabaseUrl();
  if (!url) return openEmbeddedTestDatabase();
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const { adminUrl, dbUrl } = await createPostgresTestDatabase(url, name);
  const database = await openDatabase({ databaseUrl: dbUrl, dataDir: '', poolSize: opts.poolSize ?? 10 });
  return {
    ...database,
    close: async () => {
      await database.close();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A second handle on the same database (another "instance"); closing it leaves the database. */
export async function openSameDatabase(database: Database, opts: { poolSize?: number } = {}): Promise<Database> {
  const url = (database as Database & { url?: string }).url;
  if (!url) throw new Error('a second instance needs PostgreSQL (the embedded database is one connection)');
  return openDatabase({ databaseUrl: url, dataDir: '', poolSize: opts.poolSize ?? 10 });
}

let keyFile: string | null = null;
/**
 * A signing key file for the transparency log (SPEC §7), one per test process, removed at exit: the
 * service needs SIGNING_KEY_FILE with PostgreSQL, and a test must not write into ./data.
 */
export function testSigningKeyFile(): string {
  if (keyFile) return keyFile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-key-'));
  keyFile = path.join(dir, 'signing-key.pem');
  fs.writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return keyFile;
}

let secretsFile: string | null = null;
/**
 * A key file for webhook secrets (SPEC §9), one per test process, removed at exit: the service
 * needs SECRETS_KEY_FILE with PostgreSQL, and a test must not write into ./data.
 */
export function testSecretsKeyFile(): string {
  if (secretsFile) return secretsFile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-key-'));
  secretsFile = path.join(dir, 'secrets-key');
  fs.writeFileSync(secretsFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return secretsFile;
}

/** Tests send webhooks to loopback addresses only: no host name is ever resolved (a test that needs one builds its own dispatcher). */
const noNameLookup = async (host: string): Promise<never> => {
  throw new Error(`tests resolve no host names (${host})`);
};

export type TestApp = {
  app: FastifyInstance;
  database: Database;
  clock: TestClock;
  adminToken: string;
  config: Config;
  req(opts: InjectOptions & { token?: string | null }): Promise<Awaited<ReturnType<FastifyInstance['inject']>> & { body: string; json(): any }>;
};

/** A logger as the service makes it (redaction included) whose lines a test reads instead of stdout. */
export function captureLogs(level = 'trace'): { logger: Logger; lines: string[]; records(): Array<Record<string, any>> } {
  const lines: string[] = [];
  const logger = createLogger({ logLevel: level }, { write: (s: string) => void lines.push(s) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l)) };
}

/** The app on a database of its own (or the one given, left open); `logger` replaces the silent one (see captureLogs). */
export async function buildTestApp(
  t: Tap,
  opts: { env?: Record<string, string>; database?: Database; clock?: TestClock; logger?: Logger; /** Check every answer against its documented response schema (default on in tests). */ checkResponses?: boolean } = {},
): Promise<TestApp> {
  const adminToken = `admin_${randomBytes(24).toString('hex')}`;
  const config = loadConfig({
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'silent',
    SCHEDULER_INTERVAL_MS: '0',
    // The sequencer runs when a test says so (app.transparency.sequencer.runOnce()).
    SEQUENCER_INTERVAL_MS: '0',
    // Credentials are issued on request, or when a test runs app.credentials.issuer.runOnce().
    CREDENTIAL_ISSUER_INTERVAL_MS: '0',
    SIGNING_KEY_FILE: testSigningKeyFile(),
    SECRETS_KEY_FILE: testSecretsKeyFile(),
    // Webhooks are dispatched when a test says so (app.webhooks.dispatcher.dispatchOnce()).
    DISPATCH_INTERVAL_MS: '0',
    RATE_LIMIT_MAX: '1000000',
    ...opts.env,
  });
  const database = opts.database ?? (await openTestDatabase());
  const clock = opts.clock ?? new TestClock();
  const app = await buildApp({ config, database, now: clock.now, logger: opts.logger ?? createLogger(config), checkResponses: opts.checkResponses ?? true, webhookLookup: noNameLookup });
  t.teardown(async () => {
    await app.close();
    if (!opts.database) await database.close();
  });
  return {
    app,
    database,
    clock,
    adminToken,
    config,
    req: async ({ token, ...o }) => {
      const headers = { ...(o.headers ?? {}) } as Record<string, string>;
      if (token) headers.authorization = `Bearer ${token}`;
      return (await app.inject({ ...o, headers })) as never;
    },
  };
}

let seq = 0;
/** A syntactically valid unified social credit code, different on every call. */
export function makeCreditCode(n = ++seq + Math.floor(Math.random() * 1e6)): string {
  const body = String(10_000_000 + (n % 89_999_999)).slice(0, 8);
  const org = body + orgCodeCheckChar(body);
  const first17 = `91440300${org}`;
  void CREDIT_CODE_CHARSET;
  return first17 + creditCodeCheckChar(first17);
}

export const uniq = () => randomBytes(4).toString('hex');

/** Builds the usual cast: a regulator, an applicant organization with its principal and a product, and a lab. */
export async function fixtures(ta: TestApp) {
  const { req, adminToken } = ta;
  const created = async (r: Awaited<ReturnType<TestApp['req']>>) => {
    if (r.statusCode !== 201) throw new Error(`expected 201, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };
  const org = async (over: Record<string, unknown> = {}) =>
    created(
      await req({
        method: 'POST',
        url: '/v1/organizations',
        token: adminToken,
        payload: { name: `Org ${uniq()}`, kind: 'enterprise', region: 'guangdong', credit_code: makeCreditCode(), contact_email: 'contact@example.cn', ...over },
      }),
    );
  const principal = async (role: string, organization_id?: string) =>
    created(await req({ method: 'POST', url: '/v1/principals', token: adminToken, payload: { role, ...(organization_id ? { organization_id } : {}) } }));
  const product = async (token: string, over: Record<string, unknown> = {}) =>
    created(
      await req({
        method: 'POST',
        url: '/v1/products',
        token,
        payload: {
          name: `Product ${uniq()}`,
          version: '1.0',
          kind: 'ai_system',
          description: 'An AI system',
          intended_use: 'Testing',
          domains: ['healthcare'],
          risk_level: 'medium',
          ...over,
        },
      }),
    );
  const regulator = await principal('regulator');
  const applicantOrg = await org();
  const applicant = await principal('applicant', applicantOrg.id);
  const otherOrg = await org();
  const otherApplicant = await principal('applicant', otherOrg.id);
  return { org, principal, product, regulator, applicantOrg, applicant, otherOrg, otherApplicant };
}
