// The PostgreSQL driver: a pool of pg clients whose recurring statements are prepared once per
// connection. Loaded only when a DATABASE_URL is given (src/db/index.ts).
import { Kysely, PostgresDialect } from './kysely.js';
import pg from 'pg';
import type { Database, DB } from './types.js';

const INT8_OID = 20;

/**
 * Names the statements that recur, so each connection parses and plans them once (PostgreSQL's
 * prepared statements) instead of on every call: the hot statements of an event (the case read,
 * the write) are the same text every time. A text is named on its second use, and at most MAX_NAMED texts are,
 * so that one-off texts (e.g. `in (…)` lists of every length) cost nothing on the server.
 */
const PARAMETER_SENSITIVE = /\b(?:order\s+by|i?like)\b/i;

class StatementNames {
  private static readonly MAX_NAMED = 500;
  private static readonly MAX_SEEN = 10_000;
  private readonly seen = new Map<string, string | null>();
  private readonly refused = new Set<string>();
  private named = 0;
  nameFor(text: string): string | undefined {
    // After five runs PostgreSQL may settle on one generic plan for a named statement; a search or
    // a sorted list (LIKE, ORDER BY) wants a plan made for its parameters, so it stays unnamed.
    if (PARAMETER_SENSITIVE.test(text)) return undefined;
    const v = this.seen.get(text);
    if (typeof v === 'string') return this.refused.has(text) ? undefined : v;
    if (v === undefined) {
      if (this.seen.size < StatementNames.MAX_SEEN) this.seen.set(text, null);
      return undefined;
    }
    if (this.named >= StatementNames.MAX_NAMED) return undefined;
    const name = `kysely_${(this.named++).toString(36)}`;
    this.seen.set(text, name);
    return name;
  }
  refuse(text: string) {
    this.refused.add(text);
  }
}

// PostgreSQL refuses a prepared statement whose result columns changed (a migration altered a table
// it reads, e.g. from another instance): that text is then sent unnamed from here on.
const CACHED_PLAN_CHANGED = '0A000';

function preparing(client: pg.PoolClient, statements: StatementNames) {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined) {
      const name = statements.nameFor(config);
      if (name) {
        return (query({ name, text: config, values }) as Promise<unknown>).catch((err: { code?: string }) => {
          if (err?.code !== CACHED_PLAN_CHANGED) throw err;
          statements.refuse(config);
          return query(config, values);
        });
      }
    }
    return query(config, values, callback);
  };
}

export function openPostgres(url: string, poolSize = 20): Database {
  // bigint and numeric come back as strings, exactly as the pg driver returns them.
  pg.types.setTypeParser(INT8_OID, (v: string) => v);
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const statements = new StatementNames();
  pool.on('connect', (client) => {
    preparing(client, statements);
    // Nor a checked-out client's (the pool listens only to idle ones): its query fails with the
    // error, and the pool drops the client when it is released.
    client.on('error', () => {});
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, embedded: false, url, close: () => db.destroy() };
}
