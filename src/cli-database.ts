// The CLI's commands that open the database (src/cli.ts reads the arguments and runs the offline
// ones itself, without loading these modules).
import path from 'node:path';
import pino from 'pino';
import type { CliValues } from './cli.js';
import type { Config } from './config.js';
import { migrateToLatest, openDatabase } from './db/index.js';
import { Schemas } from './schemas.js';
import { createLogger } from './logger.js';
import { createPrincipal, ROLES, type Role } from './registry/principals.js';
import { verifyAudit } from './audit/verify.js';
import { SYSTEM_CALLER } from './engine/caller.js';
import { auditEventView, caseView } from './engine/case.js';
import { fireEvent } from './cases/fire.js';
import { workflowByKind } from '../workflows/index.js';

/** Runs one command on the configured database; answers the exit code (2: unknown command, after `usage`). */
export async function runDatabaseCommand(command: string, values: CliValues, config: Config, usage: string): Promise<number> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
  try {
    await migrateToLatest(database.db);
    switch (command) {
      case 'migrate':
        process.stdout.write('database schema is up to date\n');
        return 0;
      case 'create-principal': {
        const role = values.role as Role;
        if (!ROLES.includes(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
        const p = await createPrincipal(database.db, { role, organization_id: values['organization-id'] ?? null, name: values.name ?? null }, { principal_id: null, role: 'system' });
        process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
        return 0;
      }
      case 'verify-audit': {
        const { EMBEDDED_KEY_FILE, loadLogKeys } = await import('./transparency/keys.js');
        const keys = loadLogKeys(config.signingKeyFile ?? path.join(config.dataDir, EMBEDDED_KEY_FILE), config.logOrigin);
        const report = await verifyAudit(database.db, { databaseUrl: database.url, log: { verifiers: keys.verifiers, origin: config.logOrigin } });
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return report.ok ? 0 : 1;
      }
      case 'fire': {
        const wf = workflowByKind.get(values.kind ?? '');
        if (!wf || !values.case || !values.event) throw new Error('fire needs --kind, --case and --event');
        const { handFiredEvent } = await import('./scheduler/scheduler.js');
        const out = await fireEvent({ db: database.db, schemas: new Schemas(), now: () => new Date() }, wf, SYSTEM_CALLER, values.case, await handFiredEvent(database.db, wf, values.case, values.event));
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return 0;
      }
      case 'sweep': {
        const { sweepOnce } = await import('./scheduler/scheduler.js');
        // Logs go to stderr, so stdout holds only the JSON result.
        const log = createLogger(config, pino.destination({ dest: 2, sync: true }));
        const result = await sweepOnce({ db: database.db, schemas: new Schemas(), now: () => new Date() }, { log });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return result.failed > 0 ? 1 : 0;
      }
      case 'dispatch': {
        const { Dispatcher } = await import('./webhooks/dispatcher.js');
        const { lazySecretBox } = await import('./webhooks/secrets.js');
        const box = lazySecretBox({ secretsKeyFile: config.secretsKeyFile, dataDir: config.dataDir, embedded: database.embedded });
        const log = createLogger(config, pino.destination({ dest: 2, sync: true }));
        const dispatcher = new Dispatcher({ db: database.db, now: () => new Date(), box, allowPrivate: config.webhookAllowPrivate, log }, { intervalMs: 0, leaseMs: config.dispatchLeaseMs });
        const total = { rounds: 0, claimed: 0, delivered: 0, failed: 0, released: 0, reminders: 0, disabled: 0 };
        // Until nothing due is left (a failed delivery waits for its retry), at most 100 rounds.
        for (; total.rounds < 100; total.rounds++) {
          const r = await dispatcher.dispatchOnce();
          for (const k of ['claimed', 'delivered', 'failed', 'released', 'reminders', 'disabled'] as const) total[k] += r[k];
          if (r.claimed === 0) break;
        }
        process.stdout.write(`${JSON.stringify(total, null, 2)}\n`);
        return total.failed > 0 ? 1 : 0;
      }
      case 'export': {
        // One JSON object a line: every case (optionally of one kind) followed by its audit events,
        // then the registry chain; read in batches so a large registry streams.
        const write = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
        let after: string | null = null;
        for (;;) {
          let q = database.db.selectFrom('cases').selectAll().orderBy('id').limit(500);
          if (values.kind) q = q.where('kind', '=', values.kind);
          if (after) q = q.where('id', '>', after);
          const rows = await q.execute();
          if (rows.length === 0) break;
          after = rows.at(-1)!.id;
          const events = await database.db.selectFrom('audit_events').selectAll().where('chain_id', 'in', rows.map((r) => r.id)).orderBy('chain_id').orderBy('seq').execute();
          for (const r of rows) {
            write({ type: 'case', case: caseView(r as never) });
            for (const e of events.filter((x) => x.chain_id === r.id)) write({ type: 'audit_event', case_id: r.id, event: { ...auditEventView(e), facts: e.facts } });
          }
        }
        for (const e of await database.db.selectFrom('audit_events').selectAll().where('chain_id', '=', 'registry').orderBy('seq').execute()) {
          write({ type: 'registry_event', event: { ...auditEventView(e), kind: e.kind } });
        }
        return 0;
      }
      default:
        process.stderr.write(`unknown command ${command}\n${usage}\n`);
        return 2;
    }
  } finally {
    await database.close();
  }
}
