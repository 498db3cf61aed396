import { sql } from '../../src/db/kysely.js';
import { buildTestApp, testSigningKeyFile, testSecretsKeyFile } from '../helpers/app.js';
import { sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('the audit trail is append-only and verify finds tampering', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const R = s.regulator.token;
    const verify = async () => (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R })).json();

    const untouched = await s.caseIn('testing');
    const tampered = await s.caseIn('admitted');
    const replayed = await s.caseIn('under_review');
    t.equal((await verify()).ok, true);

    t.test('the database refuses UPDATE and DELETE of audit rows', async (t) => {
      await t.rejects(sql`update audit_events set payload = '{}'::jsonb where case_id = ${tampered.id}`.execute(ta.app.db), /append-only/);
      await t.rejects(sql`delete from audit_events where case_id = ${tampered.id}`.execute(ta.app.db), /append-only/);
      t.equal((await s.history(tampered.id)).length, 4);
    });

    t.test('a tampered payload breaks the chain of that case only', async (t) => {
      await ta.app.db.transaction().execute(async (trx) => {
        await sql`alter table audit_events disable trigger audit_events_append_only`.execute(trx);
        await sql`update audit_events set payload = jsonb_set(payload, '{conditions}', '["none at all"]') where case_id = ${tampered.id} and type = 'ADMIT'`.execute(trx);
        await sql`alter table audit_events enable trigger audit_events_append_only`.execute(trx);
      });
      const v = await verify();
      t.equal(v.ok, false);
      t.same(v.failures.map((f: any) => f.case_id), [tampered.id]);
      t.equal(v.failures[0].seq, 4);
      t.match(v.failures[0].reason, /hash/);
      t.ok(v.cases_checked >= 3);
      t.ok(v.events_checked >= 13);
      t.notOk(v.failures.some((f: any) => f.case_id === untouched.id));
    });

    t.test('a case row changed behind the engine fails the replay', async (t) => {
      await sql`update cases set state = 'admitted' where id = ${replayed.id}`.execute(ta.app.db);
      const v = await verify();
      const f = v.failures.find((x: any) => x.case_id === replayed.id);
      t.ok(f, 'reported');
      t.match(f.reason, /state|point/);
    });

    t.test('the CLI verify-audit exits 1 and names the cases', { skip: !process.env.DATABASE_URL && !process.env.TEST_DATABASE_URL ? 'the CLI needs a PostgreSQL database (the embedded one is in this process)' : false }, async (t) => {
      const { execFile } = await import('node:child_process');
      const url = (ta.database as any).url as string;
      const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'verify-audit'], { env: { ...process.env, DATABASE_URL: url, SIGNING_KEY_FILE: testSigningKeyFile(), SECRETS_KEY_FILE: testSecretsKeyFile() } }, (err, stdout) =>
          resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout }),
        );
      });
      t.equal(out.code, 1);
      const report = JSON.parse(out.stdout);
      t.equal(report.ok, false);
      t.ok(report.failures.some((f: any) => f.case_id === tampered.id));
    });
  });
});
