import { execFile } from 'node:child_process';
import { buildTestApp, testDatabaseUrl, testSecretsKeyFile, testSigningKeyFile } from '../helpers/app.js';
import { receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('npm run cli -- dispatch sends what is due now and prints the counts', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: the CLI is another process' }, async (t) => {
    const ta = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    const w = await webhookApp(t, { ta });
    const r = await receiver(t);
    const hook = await w.hook(w.applicant.token, { url: r.url, events: ['sandbox-cases.*'] });
    r.state.secret = () => hook.secret;
    const c = await w.sandboxCase();
    await w.fire(w.applicant.token, c.id, 'SUBMIT');
    const env = { ...process.env, DATABASE_URL: (ta.database as any).url as string, SIGNING_KEY_FILE: testSigningKeyFile(), SECRETS_KEY_FILE: testSecretsKeyFile(), WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn' };
    const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'dispatch'], { env }, (err, stdout) => resolve({ code: err ? ((err as any).code as number) : 0, stdout })),
    );
    t.equal(out.code, 0);
    t.match(JSON.parse(out.stdout), { claimed: 2, delivered: 2, failed: 0 });
    t.same(r.got.map((g) => g.json.data.event), ['CASE_CREATED', 'SUBMIT']);
    t.same(r.invalid, []);
  });
});
