import path from 'node:path';

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | null;
  dataDir: string;
  adminToken: string | null;
  logLevel: string;
  schedulerIntervalMs: number;
  bodyLimit: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  trustProxy: boolean;
  /** Worker processes serving the port (src/cluster.ts); more than one needs PostgreSQL. */
  workers: number;
  /** The address the public reaches the service at (SPEC §5), without a trailing slash: the OpenAPI `servers` entry. */
  publicUrl: string;
  /** The transparency log's signing keys (SPEC §7): a PKCS#8 PEM file; null on the embedded database (DATA_DIR/signing-key.pem). */
  signingKeyFile: string | null;
  /** The log's origin line (and its keys' name): LOG_ORIGIN, by default <host of PUBLIC_URL>/audit-log. */
  logOrigin: string;
  /** How often the sequencer gives queued audit events their log_index (0: not in this process). */
  sequencerIntervalMs: number;
  /** A checkpoint is signed when the log has grown, at most this often. */
  checkpointIntervalMs: number;
  /** The issuer of verifiable certificates (SPEC §8): ISSUER_URL, by default PUBLIC_URL; without a trailing slash. */
  issuerUrl: string;
  /** How long a status list may be cached (its `ttl`, and Cache-Control's max-age), in milliseconds. */
  statusListTtlMs: number;
  /** The key that encrypts webhook secrets (SPEC §9): 32 bytes, base64, in a file; null on the embedded database (DATA_DIR/secrets-key). */
  secretsKeyFile: string | null;
  /** Webhooks may call plain http and private, loopback and link-local addresses (tests, on-premise receivers). */
  webhookAllowPrivate: boolean;
  /** How often the webhook dispatcher looks for due deliveries and reminders (0: not in this process). */
  dispatchIntervalMs: number;
  /** How long a claimed delivery stays this instance's without renewal: after a crash, how soon another sends it. */
  dispatchLeaseMs: number;
  /** How often the issuer signs the queued certificates' credentials (0: not in this process; a request still issues one at once). */
  credentialIssuerIntervalMs: number;
};

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * PUBLIC_URL: an absolute http(s) URL with no credentials, query or fragment (a path prefix is
 * allowed), kept without its trailing slash; by default http://<HOST>:<PORT>.
 */
function publicUrlOf(raw: string | undefined, host: string, port: number, problems: string[]): string {
  if (raw === undefined || raw === '') return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return httpUrlOf('PUBLIC_URL', raw, problems);
}

/** An absolute http(s) URL with no credentials, query or fragment, without its trailing slash; `name` names it in a problem. */
function httpUrlOf(name: string, raw: string, problems: string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    problems.push(`${name} is not a valid URL (expected e.g. https://registry.example.gov.cn), got ${JSON.stringify(raw)}`);
    return raw;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`${name} must start with http:// or https://, got ${u.protocol}//`);
  else if (u.username || u.password || u.search || u.hash) problems.push(`${name} must not hold credentials, a query or a fragment`);
  return u.href.replace(/\/+$/, '');
}

/** The host (and port) of a URL as given, or the text itself when it is not one. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Reads the environment into a typed config; every bad value is named, all at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    const n = Number(raw);
    if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    problems.push(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    return fallback;
  };

  const databaseUrl = env.DATABASE_URL && env.DATABASE_URL !== '' ? env.DATABASE_URL : null;
  if (databaseUrl !== null) {
    try {
      const u = new URL(databaseUrl);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
        problems.push(`DATABASE_URL must start with postgres:// or postgresql://, got ${u.protocol}//`);
      }
    } catch {
      problems.push('DATABASE_URL is not a valid URL (expected postgres://user@host:port/database)');
    }
  }
  const adminToken = env.ADMIN_TOKEN && env.ADMIN_TOKEN !== '' ? env.ADMIN_TOKEN : null;
  if (adminToken !== null && adminToken.length < 32) {
    problems.push('ADMIN_TOKEN must be at least 32 characters long');
  }
  const logLevel = env.LOG_LEVEL && env.LOG_LEVEL !== '' ? env.LOG_LEVEL : 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  const host = env.HOST && env.HOST !== '' ? env.HOST : '127.0.0.1';

  const port = int('PORT', 3000, 0, 65535);
  const publicUrl = publicUrlOf(env.PUBLIC_URL, host, port, problems);

  const signingKeyFile = env.SIGNING_KEY_FILE && env.SIGNING_KEY_FILE !== '' ? path.resolve(env.SIGNING_KEY_FILE) : null;
  // Named only once DATABASE_URL itself is good: one problem at a time for one setting.
  if (databaseUrl !== null && signingKeyFile === null && !problems.some((p) => p.startsWith('DATABASE_URL'))) {
    problems.push(
      'SIGNING_KEY_FILE is required with DATABASE_URL: the transparency log’s Ed25519 key (PKCS#8 PEM, e.g. `openssl genpkey -algorithm ed25519 -out log-key.pem`) is never kept in the database',
    );
  }
  const secretsKeyFile = env.SECRETS_KEY_FILE && env.SECRETS_KEY_FILE !== '' ? path.resolve(env.SECRETS_KEY_FILE) : null;
  if (databaseUrl !== null && secretsKeyFile === null && !problems.some((p) => p.startsWith('DATABASE_URL'))) {
    problems.push(
      'SECRETS_KEY_FILE is required with DATABASE_URL: the key that encrypts webhook secrets (32 random bytes in base64, e.g. `openssl rand -base64 32 > secrets.key`) is never kept in the database',
    );
  }
  const logOrigin = env.LOG_ORIGIN && env.LOG_ORIGIN !== '' ? env.LOG_ORIGIN : `${hostOf(publicUrl)}/audit-log`;
  if (!/^[\x21-\x7e]+$/.test(logOrigin) || logOrigin.includes('+')) {
    problems.push(`LOG_ORIGIN must be one word of printable ASCII without "+" (it names the log and its keys, e.g. registry.example.gov.cn/audit-log), got ${JSON.stringify(logOrigin)}`);
  }

  const config: Config = {
    port,
    host,
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './data'),
    adminToken,
    logLevel,
    schedulerIntervalMs: int('SCHEDULER_INTERVAL_MS', 10_000, 0, 86_400_000),
    bodyLimit: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    rateLimitMax: int('RATE_LIMIT_MAX', 600, 1, 10_000_000),
    rateLimitWindowMs: int('RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    trustProxy: bool('TRUST_PROXY', false),
    workers: int('WORKERS', 1, 1, 64),
    publicUrl,
    signingKeyFile,
    logOrigin,
    sequencerIntervalMs: int('SEQUENCER_INTERVAL_MS', 500, 0, 86_400_000),
    checkpointIntervalMs: int('CHECKPOINT_INTERVAL_MS', 10_000, 0, 86_400_000),
    // The issuer names the registry in every credential: a verifier compares it, so it should
    // outlive a move of the service (PUBLIC_URL) when the two differ.
    issuerUrl: env.ISSUER_URL && env.ISSUER_URL !== '' ? httpUrlOf('ISSUER_URL', env.ISSUER_URL, problems) : publicUrl,
    statusListTtlMs: int('STATUS_LIST_TTL_MS', 300_000, 1000, 31_536_000_000),
    secretsKeyFile,
    webhookAllowPrivate: bool('WEBHOOK_ALLOW_PRIVATE', false),
    dispatchIntervalMs: int('DISPATCH_INTERVAL_MS', 1000, 0, 86_400_000),
    dispatchLeaseMs: int('DISPATCH_LEASE_MS', 60_000, 1000, 86_400_000),
    credentialIssuerIntervalMs: int('CREDENTIAL_ISSUER_INTERVAL_MS', 1000, 0, 86_400_000),
  };
  if (config.workers > 1 && databaseUrl === null) {
    problems.push('WORKERS above 1 needs DATABASE_URL: the embedded database lives inside one process');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
