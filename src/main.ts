import cluster from 'node:cluster';
import { joinSiblings, runPrimary } from './cluster.js';
import { openDatabase } from './db/index.js';
import { ConfigError, loadConfig } from './config.js';
import { loadLogKeys, SigningKeyError } from './transparency/keys.js';
import { SecretsKeyError } from './webhooks/secrets.js';
import { createLogger } from './logger.js';
import { forgetPrincipals, onPrincipalsChanged } from './registry/principals.js';

// Shown once: only its hash is stored.
const printBootstrapToken = (token: string) =>
  process.stdout.write(`\nNo principals yet: created an admin. Its token (shown once, keep it safe):\n\n  ${token}\n\n`);

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config);
  // A key file that is missing or not an Ed25519 key stops the start before the database opens.
  const keys = config.signingKeyFile ? loadLogKeys(config.signingKeyFile, config.logOrigin) : undefined;
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger, printBootstrapToken);
  // The database opens while the rest of the service loads: on the embedded database a new
  // directory's copy is written and PGlite compiles its WebAssembly meanwhile (~1 s of a start).
  const opening = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  opening.catch(() => {}); // its error is thrown below, where it is awaited
  const { buildApp } = await import('./app.js');
  const database = await opening;
  const app = await buildApp({ config, logger, database, keys, onBootstrapToken: printBootstrapToken });
  joinSiblings(() => forgetPrincipals(app.db, { relayed: true }), onPrincipalsChanged);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    await app.close(); // the scheduler stops first
    await database.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ database: app.database.embedded ? `embedded (${config.dataDir})` : 'postgresql' }, 'ready');
}

// A PostgreSQL that cannot be reached, or a database not yet created, is the operator's to fix and
// not a fault of the service: one line that says what to do, no stack. Anything else keeps its stack.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  // Connecting to a name with several addresses fails with an AggregateError of one error each.
  if (Array.isArray(e?.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  return e?.cause ? errorCode(e.cause) : undefined;
}

function startupFailure(err: unknown): string {
  // A missing or unreadable key file (the log's, the webhook secrets') is the operator's to fix: its message says which and how.
  if (err instanceof SigningKeyError || err instanceof SecretsKeyError) return err.message;
  const code = errorCode(err);
  const url = process.env.DATABASE_URL;
  if (url && code) {
    let target: URL | null = null;
    try {
      target = new URL(url);
    } catch {
      /* the config check already refused a bad URL */
    }
    if (target) {
      // Host, port, user and database only: the URL's password stays out of the message.
      const host = target.hostname || 'localhost';
      const port = target.port || '5432';
      const user = decodeURIComponent(target.username);
      const database = decodeURIComponent(target.pathname.slice(1)) || user;
      const at = `${host}:${port}`;
      if (code === '3D000') return `database "${database}" does not exist on ${at} (create it first: createdb -h ${host} -p ${port}${user ? ` -U ${user}` : ''} ${database})`;
      if (UNREACHABLE.has(code)) return `cannot connect to PostgreSQL at ${at} (${code === 'ECONNREFUSED' ? 'connection refused: is it running, and is DATABASE_URL right?' : `${code}: is DATABASE_URL right?`})`;
      // Class 08 connection exceptions, 28 authorization (wrong user or password), 57P03 not accepting connections.
      if (/^(08|28|57P03)/.test(code)) return `PostgreSQL at ${at} refused the connection: ${(err as Error).message}`;
    }
  }
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

main().catch((err) => {
  process.stderr.write(`failed to start: ${startupFailure(err)}\n`);
  process.exit(1);
});
