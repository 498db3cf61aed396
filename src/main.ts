import cluster from 'node:cluster';
import { joinSiblings, runPrimary } from './cluster.js';
import { openDatabase } from './db/index.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { forgetPrincipals, onPrincipalsChanged } from './services/principals.js';

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
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger, printBootstrapToken);
  // The database opens while the rest of the service loads: on the embedded database a new
  // directory's copy is written and PGlite compiles its WebAssembly meanwhile (~1 s of a start).
  const opening = openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  opening.catch(() => {}); // its error is thrown below, where it is awaited
  const { buildApp } = await import('./app.js');
  const database = await opening;
  const app = await buildApp({ config, logger, database, onBootstrapToken: printBootstrapToken });
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

main().catch((err) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
