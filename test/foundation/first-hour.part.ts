import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { openTestDatabase, testDatabaseUrl, testSigningKeyFile, testSecretsKeyFile } from '../helpers/app.js';
import { freePort, startServer } from '../helpers/server.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // A new user's first hour: the README's walkthrough, pasted as written, takes a sandbox application
  // from the admin token to the public register; and a start against a database that is missing or
  // unreachable says so in one line, not a stack trace.

  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

  const has = (cmd: string) => {
    try {
      execFileSync(cmd, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const missingTools = ['bash', 'curl'].filter((c) => !has(c));

  /** The shell block between the README's walkthrough markers. */
  function walkthrough(): string {
    const m = /<!-- walkthrough:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
    if (!m) throw new Error('README.md has no ```sh block between <!-- walkthrough:start --> and <!-- walkthrough:end -->');
    return m[1]!;
  }

  t.test("the README's walkthrough runs as written against a started service", { skip: missingTools.length ? `needs ${missingTools.join(' and ')}` : false }, async (t) => {
    const script = walkthrough();
    // It is preceded by the block that tells the reader to set the two variables it uses.
    const before = readme.slice(0, readme.indexOf('<!-- walkthrough:start'));
    t.match(before.slice(before.lastIndexOf('```sh')), /\nADMIN=.*\nBASE=http:\/\/127\.0\.0\.1:3000\n/, 'the reader is told to set ADMIN and BASE first');

    const adminToken = `admin_${randomBytes(24).toString('hex')}`;
    let env: Record<string, string>;
    let cleanup: () => Promise<void>;
    if (testDatabaseUrl()) {
      const database = await openTestDatabase({ poolSize: 1 });
      env = { DATABASE_URL: (database as typeof database & { url: string }).url };
      cleanup = () => database.close();
    } else {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'first-hour-'));
      env = { DATA_DIR: path.join(dir, 'data') };
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    }
    const server = await startServer({ ...env, ADMIN_TOKEN: adminToken }, { timeoutMs: 120_000 }).catch(async (err) => {
      await cleanup();
      throw err;
    });
    t.teardown(async () => {
      await server.kill('SIGKILL');
      await cleanup();
    });
    if (env.DATA_DIR) {
      // SPEC §7: on the embedded database the log's signing key is made on first start, in DATA_DIR.
      const key = path.join(env.DATA_DIR, 'signing-key.pem');
      t.ok(existsSync(key), 'the first start made the transparency log’s signing key in DATA_DIR');
      t.equal((statSync(key).mode & 0o777).toString(8), '600', 'readable by its owner only');
    }

    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // -e and pipefail: a step that fails stops the run here, where a reader would see its error.
      const child = spawn('bash', ['-eo', 'pipefail', '-c', script], {
        cwd: os.tmpdir(),
        env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`, ADMIN: adminToken, BASE: server.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    t.equal(run.code, 0, 'the walkthrough ends well', { stderr: run.stderr, stdout: run.stdout });
    t.equal(run.stderr, '', 'and prints no error');

    const number = /^(SBX-\d{4}-\d{6}): draft$/m.exec(run.stdout)?.[1];
    t.ok(number, 'it creates a draft and prints its number', { stdout: run.stdout });
    t.match(run.stdout, /\nsubmitted\nunder_review\nadmitted\n/, 'each event prints the state it leads to');
    t.match(run.stdout, `${server.url}/register/sandbox/${number}\n`, 'it ends with the web page of the participant');

    const register = (await (await fetch(`${server.url}/v1/register/sandbox`)).json()) as { items: Array<{ number: string; state: string; organization: { name: string } }> };
    const listed = register.items.find((i) => i.number === number);
    t.equal(listed?.state, 'admitted', 'the public register shows the admitted participant');
    t.equal(listed?.organization.name, '深圳示例机器人有限公司', 'under the name the admin registered');
    const page = await fetch(`${server.url}/register/sandbox/${number}`);
    t.equal(page.status, 200, 'and so does its page');
  });

  /** Starts `src/main.ts` as `npm start` does, with that DATABASE_URL; it is expected to stop. */
  function start(databaseUrl: string) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>(async (resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, SIGNING_KEY_FILE: testSigningKeyFile(), SECRETS_KEY_FILE: testSecretsKeyFile(), LOG_LEVEL: 'warn', PORT: String(await freePort()), SCHEDULER_INTERVAL_MS: '0' };
      delete env.WORKERS;
      delete env.ADMIN_TOKEN;
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const oneLine = (t: Test, out: { code: number | null; stdout: string; stderr: string }, secret: string) => {
    t.equal(out.code, 1, 'the start fails');
    const lines = out.stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, 'one line on stderr', { stderr: out.stderr });
    t.notMatch(out.stderr + out.stdout, /\n\s+at /, 'no stack trace');
    t.notMatch(out.stderr + out.stdout, secret, "the URL's password is not shown");
    return lines[0]!;
  };

  t.test('a PostgreSQL that refuses the connection stops the start with one line', async (t) => {
    const port = await freePort(); // nothing listens there
    const line = oneLine(t, await start(`postgres://registry:s3cret-pw@127.0.0.1:${port}/registry`), 's3cret-pw');
    t.equal(line, `failed to start: cannot connect to PostgreSQL at 127.0.0.1:${port} (connection refused: is it running, and is DATABASE_URL right?)`);
  });

  t.test('a database that does not exist stops the start with one line that says how to create it', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL' }, async (t) => {
    const url = new URL(testDatabaseUrl()!);
    const name = `does_not_exist_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    const host = url.hostname;
    const port = url.port || '5432';
    const user = decodeURIComponent(url.username);
    const line = oneLine(t, await start(url.toString()), url.password || `no-password-${name}`);
    t.equal(line, `failed to start: database "${name}" does not exist on ${host}:${port} (create it first: createdb -h ${host} -p ${port}${user ? ` -U ${user}` : ''} ${name})`);
  });
});
