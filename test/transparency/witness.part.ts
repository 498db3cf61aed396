// The witness (SPEC §7) against the public routes, and the signing key's rotation: normal growth
// passes; a log rebuilt with another history and re-signed with the real key fails, so does a log
// that shrank; after a rotation the old checkpoints still verify and a witness is told what to do.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTestApp, testSigningKeyFile, type TestApp } from '../helpers/app.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { runWitness } from '../../src/transparency/witness.js';
import { rotateSigningKey } from '../../src/transparency/keys.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'witness-'));

  /** The witness's HTTP, served by the app in process. */
  const through = (ta: TestApp) => async (url: string) => {
    const u = new URL(url);
    const r = await ta.app.inject({ method: 'GET', url: u.pathname + u.search });
    return { ok: r.statusCode < 300, status: r.statusCode, text: async () => r.body };
  };
  const BASE = 'http://registry.test';

  /** Grows the log by a case's worth of events, sequenced and under a new checkpoint. */
  async function grow(ta: TestApp, s: Awaited<ReturnType<typeof sandboxCast>>, state = 'testing') {
    await s.caseIn(state);
    ta.clock.advance(ta.config.checkpointIntervalMs);
    await ta.app.transparency.sequencer.runOnce();
  }

  t.test('a witness follows a growing log, and refuses one that shrank or was rebuilt', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    await grow(ta, s);
    const dir = tmp();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, 'state.json');
    const witness = (app: TestApp, vkeys?: string[]) => runWitness({ url: BASE, stateFile, fetch: through(app), vkeys });

    const first = await witness(ta);
    t.ok(first.ok, first.message);
    t.match(first.message, /first checkpoint kept: \d+ leaves.*trusting the log’s keys/);
    const firstSize = first.state!.size;

    t.match((await witness(ta)).message, new RegExp(`unchanged at ${firstSize} leaves`), 'nothing new');
    await grow(ta, s);
    const grown = await witness(ta);
    t.ok(grown.ok, grown.message);
    t.match(grown.message, new RegExp(`grew from ${firstSize} to \\d+ leaves, consistently`));
    const seen = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    t.equal(seen.size, grown.state!.size, 'the state file keeps the checkpoint');

    // Another database, the same key and origin: a log rebuilt from scratch with another history.
    t.test('a rebuilt log, re-signed with the real key, longer than what was seen', async (t) => {
      const forged = await buildTestApp(t);
      const fs2 = await sandboxCast(forged);
      for (let i = 0; i < 4; i++) await grow(forged, fs2, 'admitted');
      const before = fs.readFileSync(stateFile, 'utf8');
      const r = await witness(forged);
      t.notOk(r.ok);
      t.match(r.message, /history was rewritten: its checkpoint of \d+ leaves is not consistent with the \d+ leaves seen/);
      t.equal(fs.readFileSync(stateFile, 'utf8'), before, 'the state is kept as it was');
    });

    t.test('a log that shrank', async (t) => {
      const small = await buildTestApp(t);
      await small.app.transparency.sequencer.runOnce();
      const r = await witness(small);
      t.notOk(r.ok);
      t.match(r.message, new RegExp(`the log shrank: it showed ${seen.size} leaves .* now says \\d+`));
    });

    t.test('a log signed by another key', async (t) => {
      const dir2 = tmp();
      t.teardown(() => fs.rmSync(dir2, { recursive: true, force: true }));
      const keyFile = path.join(dir2, 'key.pem');
      fs.copyFileSync(testSigningKeyFile(), keyFile);
      rotateSigningKey(keyFile);
      // Only the new key: the file's second block.
      const blocks = fs.readFileSync(keyFile, 'utf8').match(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----\n/g)!;
      fs.writeFileSync(keyFile, blocks[1]!);
      const other = await buildTestApp(t, { env: { SIGNING_KEY_FILE: keyFile } });
      await other.app.transparency.sequencer.runOnce();
      const r = await witness(other);
      t.notOk(r.ok);
      t.match(r.message, /does not verify with the keys this witness trusts: no signature by a known key \(if the log rotated its key, give the new one with --vkey\)/);
    });
  });

  t.test('rotating the signing key: old checkpoints still verify, the new key signs, witnesses are told', async (t) => {
    const dir = tmp();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'signing-key.pem');
    fs.copyFileSync(testSigningKeyFile(), keyFile);
    const ta = await buildTestApp(t, { env: { SIGNING_KEY_FILE: keyFile } });
    const s = await sandboxCast(ta);
    await grow(ta, s);
    const stateFile = path.join(dir, 'state.json');
    t.ok((await runWitness({ url: BASE, stateFile, fetch: through(ta) })).ok, 'the witness trusts the first key');
    const oldKey = (await ta.req({ method: 'GET', url: '/v1/transparency/key' })).body.trim();

    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-signing-key'], { cwd: root, env: { ...process.env, SIGNING_KEY_FILE: keyFile, DATABASE_URL: '' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    t.equal(out.code, 0, out.stderr);
    t.match(out.stdout, /2 keys; the new one signs from the next start/);
    t.equal((fs.statSync(keyFile).mode & 0o777).toString(8), '600', 'the key file stays readable by its owner only');

    // The next start: the same database, the rotated file.
    const next = await buildTestApp(t, { env: { SIGNING_KEY_FILE: keyFile }, database: ta.database, clock: ta.clock });
    const keys = (await next.req({ method: 'GET', url: '/v1/transparency/key' })).body.trim().split('\n');
    t.equal(keys.length, 2, 'both keys published');
    t.equal(keys[1], oldKey, 'the old one after the new one');
    await grow(next, s);
    const note = (await next.req({ method: 'GET', url: '/v1/transparency/checkpoint' })).body;
    t.equal(note.trim().split('\n').filter((l) => l.startsWith('— ')).length, 1, 'one signature');
    const verify = (await next.req({ method: 'GET', url: '/v1/audit/verify', token: s.regulator.token })).json();
    t.same([verify.ok, verify.failures], [true, []], 'checkpoints signed by either key verify');

    const refused = await runWitness({ url: BASE, stateFile, fetch: through(next) });
    t.notOk(refused.ok, 'a witness that knows only the old key refuses the new signature');
    t.match(refused.message, /give the new one with --vkey/);
    const accepted = await runWitness({ url: BASE, stateFile, fetch: through(next), vkeys: [keys[0]!] });
    t.ok(accepted.ok, accepted.message);
    t.same(accepted.state!.vkeys.sort(), [...keys].sort(), 'and then trusts both');
  });

  t.test('npm run cli -- witness against a listening service', async (t) => {
    const ta = await buildTestApp(t);
    await ta.app.transparency.sequencer.runOnce();
    await ta.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = ta.app.server.address() as { port: number };
    const dir = tmp();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'witness', ...args], { cwd: root, env: { PATH: process.env.PATH } });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const state = path.join(dir, 'w.json');
    const ok = await run(['--url', `http://127.0.0.1:${addr.port}`, '--state', state]);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, /^ok: first checkpoint kept/);
    const bad = await run(['--url', `http://127.0.0.1:${addr.port}`]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /witness needs --url .* and --state/);
  });
});
