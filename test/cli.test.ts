import t from 'tap';
import { execFile } from 'node:child_process';
import { buildTestApp, testDatabaseUrl, testSigningKeyFile, testSecretsKeyFile } from './helpers/app.js';
import { sandboxCast } from './sandbox/helpers.js';

const run = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, SIGNING_KEY_FILE: testSigningKeyFile(), SECRETS_KEY_FILE: testSecretsKeyFile(), ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

t.test('the CLI', { skip: testDatabaseUrl() ? false : 'the CLI opens its own connection: needs PostgreSQL' }, async (t) => {
  const ta = await buildTestApp(t);
  const s = await sandboxCast(ta);
  const c = await s.caseIn('testing');
  const env = { DATABASE_URL: (ta.database as unknown as { url: string }).url, LOG_LEVEL: 'silent' };

  t.test('export writes every case with its audit events, and the registry chain, as JSON lines', async (t) => {
    const out = await run(['export', '--kind', 'sandbox-cases'], env);
    t.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const kase = lines.find((l) => l.type === 'case' && l.case.id === c.id);
    t.equal(kase.case.state, 'testing');
    const events = lines.filter((l) => l.type === 'audit_event' && l.case_id === c.id);
    t.same(events.map((e) => e.event.type), ['CASE_CREATED', 'SUBMIT', 'START_REVIEW', 'ADMIT', 'START_TESTING']);
    t.ok(lines.some((l) => l.type === 'registry_event' && l.event.type === 'PRODUCT_CREATED'));
  });

  t.test('create-principal prints a token once, which then authenticates', async (t) => {
    const out = await run(['create-principal', '--role', 'regulator', '--name', 'CLI regulator'], env);
    t.equal(out.code, 0, out.stderr);
    const p = JSON.parse(out.stdout);
    t.equal(p.role, 'regulator');
    const me = await ta.req({ method: 'GET', url: '/v1/me', token: p.token });
    t.equal(me.statusCode, 200);
    const bad = await run(['create-principal', '--role', 'wizard'], env);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /--role must be one of/);
  });

  t.test('fire sends a system event by hand; verify-audit is then ok', async (t) => {
    const out = await run(['fire', '--kind', 'sandbox-cases', '--case', c.id, '--event', 'PERIOD_ENDED'], env);
    t.equal(out.code, 0, out.stderr);
    t.equal(JSON.parse(out.stdout).case.state, 'exit_review');
    const v = await run(['verify-audit'], env);
    t.equal(v.code, 0);
    t.equal(JSON.parse(v.stdout).ok, true);
  });

  t.test('an unknown command is refused with the usage', async (t) => {
    const out = await run(['frobnicate'], env);
    t.equal(out.code, 2);
    t.match(out.stderr, /usage: npm run cli/);
  });
});
