import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestClock, buildTestApp, testSigningKeyFile, testSecretsKeyFile } from '../helpers/app.js';
import { DAY, iso, sandbox, storage } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

  async function cliSweep(env: Record<string, string>) {
    const { TEST_DATABASE_URL: _drop, ...inherited } = process.env;
    try {
      const { stdout, stderr } = await promisify(execFile)('npm', ['run', '--silent', 'cli', '--', 'sweep'], {
        cwd: root,
        env: { ...inherited, LOG_LEVEL: 'warn', SIGNING_KEY_FILE: testSigningKeyFile(), SECRETS_KEY_FILE: testSecretsKeyFile(), ...env },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  t.test('npm run cli -- sweep fires the due deadlines once and prints the counts', async (t) => {
    const db = await storage(t);
    // The CLI runs on the wall clock: the case is set up two days ago, its respond_by was yesterday.
    const clock = new TestClock(Date.now() - 2 * DAY);
    const setup = await buildTestApp({ teardown() {} }, { database: db.first, clock });
    const s = await sandbox(setup);
    const lapsing = await s.infoRequested(iso(clock.ms + DAY));
    const waiting = await s.infoRequested(iso(clock.ms + 30 * DAY));
    await setup.app.close();
    await db.closeFirst();

    const first = await cliSweep(db.env);
    t.equal(first.code, 0, first.stderr);
    t.match(JSON.parse(first.stdout), { fired: 1, skipped: 0, failed: 0, failing: 0, more: false });
    const again = await cliSweep(db.env);
    t.equal(again.code, 0, again.stderr);
    t.match(JSON.parse(again.stdout), { fired: 0 }, 'a second sweep finds nothing due');

    const after = await buildTestApp(t, { database: await db.reopen(), clock: new TestClock() });
    const s2 = await sandbox(after, s.f);
    t.equal((await s2.get(lapsing)).state, 'lapsed');
    t.match((await s2.history(lapsing)).at(-1), { type: 'INFO_LAPSED', actor: { principal_id: null, role: 'system' } });
    t.equal((await s2.get(waiting)).state, 'info_requested');
    t.equal((await s2.verify()).ok, true);
  });
});
