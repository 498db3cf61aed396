import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';

const USAGE = `usage: npm run cli -- <command> [options]

  migrate                                   bring the database schema up to date
  create-principal --role R [--organization-id ID] [--name N]
                                            create a principal and print its token once
  verify-audit                              check every hash chain and replay every case (exit 1 on failure)
  fire --kind K --case ID --event E         fire a system event by hand (e.g. INFO_LAPSED, EXPIRE)
  sweep                                     fire every due deadline now, print the counts (exit 1 if one failed)
  dispatch                                  send every due webhook delivery and reminder now, print the counts
                                            (exit 1 if an attempt failed; it is retried as usual)
  export [--kind K]                         write cases and their audit events as JSON lines to stdout
  rotate-signing-key                        add a new transparency-log signing key to the key file (it signs
                                            from the next start; the old keys stay published)
  witness --url BASE --state FILE [--vkey K]…
                                            check the log's latest checkpoint against the one FILE holds
                                            (exit 1 if the log shrank, forked or was rewritten); needs no database
  verify-credential <jwt|file|pdf> --jwks FILE [--status-list FILE]… [--issuer URL]
                                            check a certificate's credential (or the one in a printed
                                            certificate's QR code) offline: prints valid, suspended,
                                            revoked, expired or what is wrong (exit codes in the README); needs no database

The database comes from DATABASE_URL (PostgreSQL) or DATA_DIR (embedded), as for the service; the
signing key from SIGNING_KEY_FILE (or DATA_DIR/signing-key.pem on the embedded database), the key of
webhook secrets from SECRETS_KEY_FILE (or DATA_DIR/secrets-key).`;

const OPTIONS = {
  role: { type: 'string' },
  'organization-id': { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  case: { type: 'string' },
  event: { type: 'string' },
  url: { type: 'string' },
  state: { type: 'string' },
  vkey: { type: 'string', multiple: true },
} as const;
/** The options a command was given (src/cli-database.ts reads them too). */
export type CliValues = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: false }>>['values'];

async function main(argv: string[]) {
  const [command, ...rest] = argv;
  if (command === 'verify-credential') {
    // Offline: the credential, the issuer's JWKS and status lists from files; no database, no config.
    const { verifyCredentialCommand } = await import('./credentials/verify-offline.js');
    return verifyCredentialCommand(rest);
  }
  const { values } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: false });
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'witness') {
    // Anyone may run a witness: it reads the public routes and its state file, nothing else.
    if (!values.url || !values.state) throw new Error('witness needs --url (the service’s address) and --state (a file to keep the last checkpoint in)');
    const { runWitness } = await import('./transparency/witness.js');
    const r = await runWitness({ url: values.url, stateFile: values.state, vkeys: values.vkey });
    (r.ok ? process.stdout : process.stderr).write(`${r.ok ? 'ok' : 'FAILED'}: ${r.message}\n`);
    return r.ok ? 0 : 1;
  }
  const config = loadConfig();
  if (command === 'rotate-signing-key') {
    const { EMBEDDED_KEY_FILE, loadLogKeys, rotateSigningKey } = await import('./transparency/keys.js');
    const file = config.signingKeyFile ?? path.join(config.dataDir, EMBEDDED_KEY_FILE);
    rotateSigningKey(file);
    const keys = loadLogKeys(file, config.logOrigin);
    process.stdout.write(`${file}: ${keys.signers.length} keys; the new one signs from the next start:\n  ${keys.vkeys[0]}\n`);
    return 0;
  }
  // The commands that open the database load its modules; the offline ones above start without them.
  const { runDatabaseCommand } = await import('./cli-database.js');
  return runDatabaseCommand(command, values, config, USAGE);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
