import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

  function problemsOf(env: Record<string, string>): string[] {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  }

  t.test('an empty environment gives the documented defaults', async (t) => {
    const c = loadConfig({});
    t.equal(c.port, 3000);
    t.equal(c.host, '127.0.0.1');
    t.equal(c.databaseUrl, null);
    t.equal(c.dataDir, path.resolve('./data'));
    t.equal(c.adminToken, null);
    t.equal(c.logLevel, 'info');
    t.equal(c.schedulerIntervalMs, 10_000);
    t.equal(c.bodyLimit, 1024 * 1024, 'body limit 1 MiB');
    t.equal(c.workers, 1, 'one process');
    t.equal(c.publicUrl, 'http://127.0.0.1:3000', 'PUBLIC_URL defaults to http://<HOST>:<PORT>');
    t.equal(c.signingKeyFile, null, 'no key file: the embedded database keeps one in DATA_DIR');
    t.equal(c.logOrigin, '127.0.0.1:3000/audit-log', 'LOG_ORIGIN defaults to <host>/audit-log');
    t.equal(c.sequencerIntervalMs, 500);
    t.equal(c.checkpointIntervalMs, 10_000, 'CHECKPOINT_INTERVAL_MS defaults to 10 s (SPEC §7)');
  });

  t.test('the transparency log: SIGNING_KEY_FILE is required with DATABASE_URL; LOG_ORIGIN is one word', async (t) => {
    t.match(problemsOf({ DATABASE_URL: 'postgres://u@db/registry' }), [/SIGNING_KEY_FILE is required with DATABASE_URL.*never kept in the database/]);
    t.equal(loadConfig({ PUBLIC_URL: 'https://registry.example.gov.cn/base' }).logOrigin, 'registry.example.gov.cn/audit-log', 'the host of PUBLIC_URL');
    t.match(problemsOf({ LOG_ORIGIN: 'my log' }), [/LOG_ORIGIN must be one word/]);
    t.match(problemsOf({ LOG_ORIGIN: 'a+b' }), [/LOG_ORIGIN.*without "\+"/]);
    t.match(problemsOf({ CHECKPOINT_INTERVAL_MS: 'often' }), [/CHECKPOINT_INTERVAL_MS/]);
    t.match(problemsOf({ SEQUENCER_INTERVAL_MS: '-5' }), [/SEQUENCER_INTERVAL_MS/]);
  });

  t.test('webhooks: SECRETS_KEY_FILE is required with DATABASE_URL; WEBHOOK_ALLOW_PRIVATE and the dispatcher', async (t) => {
    t.match(problemsOf({ DATABASE_URL: 'postgres://u@db/registry', SIGNING_KEY_FILE: 'k.pem' }), [/SECRETS_KEY_FILE is required with DATABASE_URL.*never kept in the database/]);
    t.same(problemsOf({ DATABASE_URL: 'postgres://u@db/registry', SIGNING_KEY_FILE: 'k.pem', SECRETS_KEY_FILE: 's.key' }), []);
    t.equal(loadConfig({}).secretsKeyFile, null, 'the embedded database makes its own in DATA_DIR');
    t.equal(loadConfig({ SECRETS_KEY_FILE: 'rel/s.key' }).secretsKeyFile, path.resolve('rel/s.key'));
    t.equal(loadConfig({}).webhookAllowPrivate, false, 'https to public addresses only, by default');
    t.equal(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'true' }).webhookAllowPrivate, true);
    t.match(problemsOf({ WEBHOOK_ALLOW_PRIVATE: 'maybe' }), [/WEBHOOK_ALLOW_PRIVATE must be true or false, got "maybe"/]);
    t.match(loadConfig({}), { dispatchIntervalMs: 1000, dispatchLeaseMs: 60_000 });
    t.equal(loadConfig({ DISPATCH_INTERVAL_MS: '0' }).dispatchIntervalMs, 0, '0: no dispatcher in this process');
    t.match(problemsOf({ DISPATCH_INTERVAL_MS: 'soon' }), [/DISPATCH_INTERVAL_MS must be an integer/]);
    t.match(problemsOf({ DISPATCH_LEASE_MS: '10' }), [/DISPATCH_LEASE_MS must be between 1000 and/]);
  });

  t.test('PUBLIC_URL: the address the public reaches the service at', async (t) => {
    t.equal(loadConfig({ PUBLIC_URL: 'https://registry.example.gov.cn/' }).publicUrl, 'https://registry.example.gov.cn', 'without its trailing slash');
    t.equal(loadConfig({ PUBLIC_URL: 'https://gd.example.cn/ai-registry' }).publicUrl, 'https://gd.example.cn/ai-registry', 'a path prefix is kept');
    t.equal(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).publicUrl, 'http://0.0.0.0:8080');
    t.equal(loadConfig({ HOST: '::1' }).publicUrl, 'http://[::1]:3000', 'an IPv6 host in brackets');
    t.match(problemsOf({ PUBLIC_URL: 'registry.example.cn' }), [/PUBLIC_URL is not a valid URL/]);
    t.match(problemsOf({ PUBLIC_URL: 'ftp://registry.example.cn' }), [/PUBLIC_URL must start with http/]);
    t.match(problemsOf({ PUBLIC_URL: 'https://u:p@registry.example.cn' }), [/PUBLIC_URL must not hold credentials/]);
    t.match(problemsOf({ PUBLIC_URL: 'https://registry.example.cn/?a=1' }), [/query/]);
  });

  t.test('ISSUER_URL: the issuer of verifiable certificates, PUBLIC_URL unless set', async (t) => {
    t.equal(loadConfig({ PUBLIC_URL: 'https://registry.example.gov.cn/' }).issuerUrl, 'https://registry.example.gov.cn', 'PUBLIC_URL by default');
    t.equal(loadConfig({}).issuerUrl, 'http://127.0.0.1:3000', 'and so http://<HOST>:<PORT> when neither is set');
    t.equal(loadConfig({ PUBLIC_URL: 'https://a.example.cn', ISSUER_URL: 'https://issuer.example.gov.cn/' }).issuerUrl, 'https://issuer.example.gov.cn', 'its own, without a trailing slash');
    t.match(problemsOf({ ISSUER_URL: 'issuer.example.cn' }), [/ISSUER_URL is not a valid URL/]);
    t.match(problemsOf({ ISSUER_URL: 'did:web:issuer.example.cn' }), [/ISSUER_URL must start with http/]);
    t.match(problemsOf({ ISSUER_URL: 'https://issuer.example.cn/#k' }), [/ISSUER_URL must not hold credentials, a query or a fragment/]);
  });

  t.test('STATUS_LIST_TTL_MS: how long a status list may be cached', async (t) => {
    t.equal(loadConfig({}).statusListTtlMs, 300_000, 'five minutes by default');
    t.equal(loadConfig({ STATUS_LIST_TTL_MS: '60000' }).statusListTtlMs, 60_000);
    t.match(problemsOf({ STATUS_LIST_TTL_MS: '10' }), [/STATUS_LIST_TTL_MS must be between 1000 and/]);
    t.match(problemsOf({ STATUS_LIST_TTL_MS: 'soon' }), [/STATUS_LIST_TTL_MS must be an integer/]);
  });

  t.test('CREDENTIAL_ISSUER_INTERVAL_MS: how often queued credentials are signed', async (t) => {
    t.equal(loadConfig({}).credentialIssuerIntervalMs, 1000, 'every second by default');
    t.equal(loadConfig({ CREDENTIAL_ISSUER_INTERVAL_MS: '0' }).credentialIssuerIntervalMs, 0, '0: not in this process');
    t.match(problemsOf({ CREDENTIAL_ISSUER_INTERVAL_MS: '-1' }), [/CREDENTIAL_ISSUER_INTERVAL_MS must be an integer between 0 and/]);
  });

  t.test('WORKERS: worker processes, only with PostgreSQL', async (t) => {
    t.equal(loadConfig({ WORKERS: '4', DATABASE_URL: 'postgres://u@db/registry', SIGNING_KEY_FILE: 'log-key.pem', SECRETS_KEY_FILE: 'secrets.key' }).workers, 4);
    t.match(problemsOf({ WORKERS: '2' }), [/WORKERS above 1 needs DATABASE_URL/], 'the embedded database lives in one process');
    t.match(problemsOf({ WORKERS: '0', DATABASE_URL: 'postgres://u@db/registry', SIGNING_KEY_FILE: 'k.pem', SECRETS_KEY_FILE: 's.key' }), [/WORKERS must be between 1 and 64/]);
    t.match(problemsOf({ WORKERS: 'two', DATABASE_URL: 'postgres://u@db/registry', SIGNING_KEY_FILE: 'k.pem', SECRETS_KEY_FILE: 's.key' }), [/WORKERS must be an integer/]);
  });

  t.test('good values are read', async (t) => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u:p@db:5432/registry',
      DATA_DIR: '/tmp/registry-data',
      ADMIN_TOKEN: 'a'.repeat(32),
      LOG_LEVEL: 'warn',
      SCHEDULER_INTERVAL_MS: '0',
      TRUST_PROXY: 'true',
      SIGNING_KEY_FILE: '/etc/registry/log-key.pem',
      SECRETS_KEY_FILE: '/etc/registry/secrets.key',
      LOG_ORIGIN: 'registry.example.gov.cn/audit-log',
      SEQUENCER_INTERVAL_MS: '250',
      CHECKPOINT_INTERVAL_MS: '60000',
    });
    t.match(c, { signingKeyFile: '/etc/registry/log-key.pem', logOrigin: 'registry.example.gov.cn/audit-log', sequencerIntervalMs: 250, checkpointIntervalMs: 60_000 });
    t.match(c, { port: 8080, host: '0.0.0.0', databaseUrl: 'postgresql://u:p@db:5432/registry', dataDir: '/tmp/registry-data', adminToken: 'a'.repeat(32), logLevel: 'warn', schedulerIntervalMs: 0, trustProxy: true });
  });

  const BAD: Array<[string, string, RegExp]> = [
    ['PORT', 'abc', /PORT.*integer.*"abc"/],
    ['PORT', '70000', /PORT.*between 0 and 65535.*70000/],
    ['PORT', '-1', /PORT.*"-1"/],
    ['PORT', '80.5', /PORT.*"80\.5"/],
    ['DATABASE_URL', 'mysql://root@localhost/db', /DATABASE_URL.*postgres/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL.*not a valid URL/],
    ['ADMIN_TOKEN', 'short', /ADMIN_TOKEN.*32/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL.*"loud"/],
    ['SCHEDULER_INTERVAL_MS', 'soon', /SCHEDULER_INTERVAL_MS.*"soon"/],
    ['SCHEDULER_INTERVAL_MS', '86400001', /SCHEDULER_INTERVAL_MS.*86400001/],
    ['BODY_LIMIT_BYTES', '10', /BODY_LIMIT_BYTES.*10/],
    ['RATE_LIMIT_MAX', '0', /RATE_LIMIT_MAX.*0/],
    ['RATE_LIMIT_WINDOW_MS', '1e3', /RATE_LIMIT_WINDOW_MS.*"1e3"/],
    ['TRUST_PROXY', 'maybe', /TRUST_PROXY.*"maybe"/],
  ];

  for (const [name, value, expected] of BAD) {
    t.test(`${name}=${JSON.stringify(value)} is refused, naming ${name}`, async (t) => {
      const problems = problemsOf({ [name]: value });
      t.equal(problems.length, 1, JSON.stringify(problems));
      t.match(problems[0], expected);
    });
  }

  t.test('ConfigError lists every bad value at once, and its message names each', async (t) => {
    const env = { PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', ADMIN_TOKEN: 'short', TRUST_PROXY: 'maybe', RATE_LIMIT_MAX: '0' };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    t.ok(error instanceof ConfigError, 'throws ConfigError');
    const e = error as ConfigError;
    t.equal(e.problems.length, Object.keys(env).length, e.message);
    for (const name of Object.keys(env)) {
      t.ok(e.problems.some((p) => p.startsWith(name)), `problems name ${name}`);
      t.match(e.message, name, `message names ${name}`);
    }
  });

  t.test('a secret is never echoed back in a problem', async (t) => {
    const problems = problemsOf({ ADMIN_TOKEN: 'hunter2-secret', DATABASE_URL: 'mysql://root:s3cr3t-pw@db/x' });
    t.equal(problems.length, 2);
    t.notMatch(problems.join('\n'), /hunter2-secret|s3cr3t-pw/);
  });

  function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: path.join(root, '.data-config-test-never-created'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, stdout });
      });
    });
  }

  t.test('the service refuses to start with a bad PORT: non-zero exit, the message names PORT', async (t) => {
    const r = await run({ PORT: 'not-a-port', LOG_LEVEL: 'loud' });
    t.not(r.code, 0, 'exit code is not 0');
    t.equal(r.code, 2, 'exits with 2, the configuration error code');
    t.match(r.stderr, /invalid configuration/);
    t.match(r.stderr, /PORT must be an integer between 0 and 65535, got "not-a-port"/);
    t.match(r.stderr, /LOG_LEVEL/, 'every bad value is named, not only the first');
    t.notMatch(r.stderr, /\bat \S+:\d+:\d+/, 'a message, not a stack trace');
    t.notMatch(r.stdout, /listening|ready/i, 'it never started');
  });

  t.test('the service does not start without a usable log signing key on PostgreSQL', async (t) => {
    const noKey = await run({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    t.equal(noKey.code, 2, 'a configuration error');
    t.match(noKey.stderr, /SIGNING_KEY_FILE is required with DATABASE_URL/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'key-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const rsa = path.join(dir, 'rsa.pem');
    fs.writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    for (const [file, expected] of [
      [path.join(dir, 'absent.pem'), /failed to start: cannot read the signing key file .*absent\.pem: ENOENT/],
      [rsa, /failed to start: .*rsa\.pem: key 1 is rsa, the log signs with Ed25519/],
    ] as const) {
      const r = await run({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', SIGNING_KEY_FILE: file, SECRETS_KEY_FILE: path.join(dir, 'secrets.key') });
      t.equal(r.code, 1);
      t.match(r.stderr, expected, 'named before the database is tried');
      t.notMatch(r.stderr, /\bat \S+:\d+:\d+/, 'a message, not a stack trace');
    }
  });
});
