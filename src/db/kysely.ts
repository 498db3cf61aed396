// Kysely's run-time values, from its CommonJS build. Node 20 runs ES-module loader hooks (tsx's; in
// tests also tap's) on a thread of their own, and every module imported while they are registered
// is a round trip to it: Kysely's ES-module build is 263 modules, about 0.6 s of CPU at the start of
// every process and thread that loads it (the service, a CLI command, an audit verification thread,
// each test file). Its CommonJS build is loaded by require on the calling thread, in about 0.15 s.
// The same classes, the same API: only how Node loads them differs.
//
// Import Kysely's values (sql, Kysely, …) from here and its types from 'kysely' (`import type`):
// one value import of 'kysely' anywhere loads the 263 modules again. test/foundation/dependencies.part.ts
// holds every file to that.
import { createRequire } from 'node:module';
import type * as K from 'kysely';

const kysely = createRequire(import.meta.url)('kysely') as typeof K;

export const sql: typeof K.sql = kysely.sql;
export const Kysely: typeof K.Kysely = kysely.Kysely;
export type Kysely<DB> = K.Kysely<DB>;
export const PostgresDialect: typeof K.PostgresDialect = kysely.PostgresDialect;
export type PostgresDialect = K.PostgresDialect;
export const Migrator: typeof K.Migrator = kysely.Migrator;
export type Migrator = K.Migrator;
export const CompiledQuery: typeof K.CompiledQuery = kysely.CompiledQuery;
export type CompiledQuery<R = unknown> = K.CompiledQuery<R>;
