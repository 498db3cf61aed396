import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp, testDatabaseUrl } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { hashToken } from '../../src/registry/principals.js';
import { verifyAudit, type VerifyFailure, type VerifyReport } from '../../src/audit/verify.js';

// SPEC §4: verify vouches for every projection the service decides from, not only the case chains.
// Each tampering is done through SQL behind the service, verify must name it (the subject or the
// case, and why), and once it is undone the registry verifies again. Deleted audit rows are also
// the transparency log's to report; only what the tables themselves show is asserted of them here. The tamperings that need the
// transparency log (a chain's tail cut with its case row rolled back, a case deleted with its whole
// chain) are not here: nothing left in the tables contradicts them.
const onPostgres = Boolean(testDatabaseUrl());

t.test('verify names each projection changed behind the engine', async (t) => {
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const s = await sandboxCast(ta);
  const R = c.regulator.token;
  const db = ta.app.db as unknown as Kysely<any>;
  const run = (q: string) => sql.raw(q).execute(db);
  const one = async (q: string) => (await sql.raw<any>(q).execute(db)).rows[0];

  const route = async (): Promise<VerifyReport> => {
    const r = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R });
    if (r.statusCode !== 200) throw new Error(`verify: ${r.statusCode} ${r.body}`);
    return r.json();
  };
  // Small batches in a worker thread: the per-case checks run there, on rows read in their batch.
  // One thread (each costs ~2 s of CPU to start); test/sandbox/verify-threads.part.ts proves that
  // several report what one does, in the same order.
  const threaded = () => verifyAudit(ta.app.db, { batchSize: 2, threads: 1, databaseUrl: ta.database.url ?? null });

  const lab = await c.lab(['robot-safety']);
  const otherLab = await c.lab(['robot-safety']);
  const certified = async () => c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
  const revoked = await certified();
  c.ok(await c.fire(R, revoked.id, 'REVOKE', { reason: 'uncertified part fitted' }));
  const valid = await certified();
  const testing = await s.caseIn('testing');
  const underReview = await s.caseIn('under_review');
  const gone = await s.principal('applicant', s.applicantOrg.id);
  t.equal((await ta.req({ method: 'DELETE', url: `/v1/principals/${gone.id}`, token: ta.adminToken })).statusCode, 204);
  const spare = await s.makeProduct(s.applicant.token);

  t.test('untouched, the registry verifies', async (t) => {
    const v = await route();
    t.same(v.failures, []);
    t.equal(v.ok, true);
    if (onPostgres) t.same((await threaded()).failures, [], 'and so it does in worker threads');
  });

  /**
   * Applies `change`, expects verify to fail with a failure that `names` (and no other unless
   * `others` allows them), undoes it, expects ok again.
   */
  async function tampered(
    t: Tap,
    o: { change: string[]; undo: string[]; names: (f: VerifyFailure) => boolean; reason: RegExp; threads?: boolean },
  ) {
    for (const q of o.change) await run(q);
    const v = await route();
    t.equal(v.ok, false, 'verify fails');
    const named = v.failures.filter(o.names);
    t.equal(named.length, 1, `one failure names it: ${JSON.stringify(v.failures)}`);
    t.match(named[0]?.reason, o.reason);
    t.equal(v.failures.length, 1, 'and nothing else is named');
    if (o.threads && onPostgres) t.same((await threaded()).failures, v.failures, 'worker threads name the same');
    for (const q of o.undo) await run(q);
    const after = await route();
    t.same(after.failures, [], 'undone, the registry verifies again');
  }
  type Tap = typeof t;

  const certNumber = async (caseId: string) => (await one(`select number from certificates where case_id = '${caseId}'`)).number as string;
  const isCert = (n: string, caseId: string) => (f: VerifyFailure) => f.subject?.kind === 'certificate' && f.subject.id === n && f.case_id === caseId;
  const isCase = (caseId: string) => (f: VerifyFailure) => f.case_id === caseId && !f.subject;
  const isSubject = (kind: string, id: string) => (f: VerifyFailure) => f.subject?.kind === kind && f.subject.id === id && f.case_id === null;

  t.test('a revoked certificate set back to valid in the register', async (t) => {
    const n = await certNumber(revoked.id);
    await tampered(t, {
      change: [`update certificates set status = 'valid', state = 'certified' where number = '${n}'`],
      undo: [`update certificates set status = 'revoked', state = 'revoked' where number = '${n}'`],
      names: isCert(n, revoked.id),
      reason: /status is valid, should be revoked/,
      threads: true,
    });
  });

  t.test("a certificate's valid_until extended in the register", async (t) => {
    const n = await certNumber(valid.id);
    await tampered(t, {
      change: [`update certificates set valid_until = valid_until + interval '5 years' where number = '${n}'`],
      undo: [`update certificates set valid_until = valid_until - interval '5 years' where number = '${n}'`],
      names: isCert(n, valid.id),
      reason: /valid_until is .*, should be/,
    });
  });

  t.test("a certified case's register row deleted", async (t) => {
    const row = await one(`select * from certificates where case_id = '${valid.id}'`);
    const cols = Object.keys(row).join(', ');
    await tampered(t, {
      change: [`delete from certificates where case_id = '${valid.id}'`],
      undo: [`insert into certificates (${cols}) select ${cols} from json_populate_record(null::certificates, '${JSON.stringify(row).replace(/'/g, "''")}')`],
      names: isCert(row.number, valid.id),
      reason: /the register has no row for it/,
    });
  });

  t.test('a register row for a case that holds no certificate', async (t) => {
    const holder = await one(`select o.id, o.name, p.id as product_id, p.name as product_name, p.version from organizations o join products p on p.organization_id = o.id where o.id = '${s.applicantOrg.id}' limit 1`);
    await tampered(t, {
      change: [
        `insert into certificates (number, case_id, state, status, scheme, holder_id, holder_name, product_id, product_name, product_version, issued_at, valid_until)
         values ('GDAIC-2099-000001', '${testing.id}', 'certified', 'valid', 'robot-safety', '${holder.id}', '${holder.name}', '${holder.product_id}', '${holder.product_name}', '${holder.version}', now(), now() + interval '3 years')`,
      ],
      undo: [`delete from certificates where number = 'GDAIC-2099-000001'`],
      names: isCert('GDAIC-2099-000001', testing.id),
      reason: /no certificate behind it/,
    });
  });

  t.test("a case's lab_id changed", async (t) => {
    await tampered(t, {
      change: [`update cases set lab_id = '${otherLab.org.id}' where id = '${valid.id}'`],
      undo: [`update cases set lab_id = '${lab.org.id}' where id = '${valid.id}'`],
      names: isCase(valid.id),
      reason: /lab_id/,
      threads: true,
    });
  });

  t.test("a case's version changed", async (t) => {
    await tampered(t, {
      change: [`update cases set version = version + 3 where id = '${testing.id}'`],
      undo: [`update cases set version = version - 3 where id = '${testing.id}'`],
      names: isCase(testing.id),
      reason: /version/,
      threads: true,
    });
  });

  t.test("a case's deadline row moved", async (t) => {
    await tampered(t, {
      change: [`update deadlines set due_at = due_at + interval '1 year' where case_id = '${valid.id}' and name = 'valid_until'`],
      undo: [`update deadlines set due_at = due_at - interval '1 year' where case_id = '${valid.id}' and name = 'valid_until'`],
      names: isCase(valid.id),
      reason: /deadline rows differ.*row valid_until says EXPIRE at/,
      threads: true,
    });
  });

  t.test("a case's deadline row deleted (the certificate would never expire)", async (t) => {
    const d = await one(`select * from deadlines where case_id = '${valid.id}' and name = 'valid_until'`);
    await tampered(t, {
      change: [`delete from deadlines where case_id = '${valid.id}' and name = 'valid_until'`],
      undo: [`insert into deadlines (case_id, name, event_type, due_at) values ('${valid.id}', 'valid_until', 'EXPIRE', '${d.due_at.toISOString()}')`],
      names: isCase(valid.id),
      reason: /row valid_until \(EXPIRE at .*\) is missing/,
      threads: true,
    });
  });

  t.test('a deadline row the replay does not declare', async (t) => {
    await tampered(t, {
      change: [`insert into deadlines (case_id, name, event_type, due_at) values ('${underReview.id}', 'respond_by', 'INFO_LAPSED', now() + interval '1 day')`],
      undo: [`delete from deadlines where case_id = '${underReview.id}'`],
      names: isCase(underReview.id),
      reason: /row respond_by .* is not a deadline of the case/,
    });
  });

  t.test("a principal's role changed from applicant to regulator", async (t) => {
    await tampered(t, {
      change: [`update principals set role = 'regulator', organization_id = null where id = '${s.applicant.id}'`],
      undo: [`update principals set role = 'applicant', organization_id = '${s.applicantOrg.id}' where id = '${s.applicant.id}'`],
      names: isSubject('principal', s.applicant.id),
      reason: /role is "regulator", the registry chain says "applicant"/,
    });
  });

  t.test('a revoked principal un-revoked', async (t) => {
    await tampered(t, {
      change: [`update principals set revoked_at = null where id = '${gone.id}'`],
      undo: [`update principals set revoked_at = now() where id = '${gone.id}'`],
      names: isSubject('principal', gone.id),
      reason: /revoked is false, the registry chain says true/,
    });
  });

  t.test('a principal with no creation event', async (t) => {
    const id = (await one(`insert into principals (role, token_hash) values ('regulator', '${hashToken(randomBytes(16).toString('hex'))}') returning id`)).id;
    await tampered(t, {
      change: [],
      undo: [`delete from principals where id = '${id}'`],
      names: isSubject('principal', id),
      reason: /no PRINCIPAL_CREATED event/,
    });
  });

  t.test("an accreditation's valid_until extended", async (t) => {
    const before = (await one(`select accreditation from organizations where id = '${lab.org.id}'`)).accreditation;
    await tampered(t, {
      change: [`update organizations set accreditation = jsonb_set(accreditation, '{valid_until}', '"2099-12-31T00:00:00.000Z"') where id = '${lab.org.id}'`],
      undo: [`update organizations set accreditation = '${JSON.stringify(before)}'::jsonb where id = '${lab.org.id}'`],
      names: isSubject('organization', lab.org.id),
      reason: /accreditation is .*2099-12-31.*, the registry chain says/,
    });
  });

  t.test("an organization's name changed", async (t) => {
    // The rename trigger copies it into the register rows of its certificates: the organization is what is wrong.
    const before = (await one(`select name from organizations where id = '${c.applicantOrg.id}'`)).name;
    await tampered(t, {
      change: [`update organizations set name = 'Forged Holdings' where id = '${c.applicantOrg.id}'`],
      undo: [`update organizations set name = '${before}' where id = '${c.applicantOrg.id}'`],
      names: isSubject('organization', c.applicantOrg.id),
      reason: /name is "Forged Holdings", the registry chain says/,
    });
  });

  t.test("a product's name changed", async (t) => {
    await tampered(t, {
      change: [`update products set name = 'Forged Product' where id = '${spare.id}'`],
      undo: [`update products set name = '${spare.name}' where id = '${spare.id}'`],
      names: isSubject('product', spare.id),
      reason: /name is "Forged Product", the registry chain says/,
    });
  });

  t.test("a register row's copied holder name that is not the registry's", async (t) => {
    const n = await certNumber(valid.id);
    const before = (await one(`select holder_name from certificates where number = '${n}'`)).holder_name;
    await tampered(t, {
      change: [`update certificates set holder_name = 'Someone Else' where number = '${n}'`],
      undo: [`update certificates set holder_name = '${before}' where number = '${n}'`],
      names: isCert(n, valid.id),
      reason: /holder_name is Someone Else/,
    });
  });

  // From here on the audit rows themselves are deleted; nothing is undone.
  t.test("a case's chain deleted, its row kept", async (t) => {
    await run('alter table audit_events disable trigger audit_events_append_only');
    await run(`delete from audit_events where chain_id = '${underReview.id}'`);
    await run('alter table audit_events enable trigger audit_events_append_only');
    const v = await route();
    t.equal(v.ok, false);
    t.same(
      v.failures.filter((f) => f.case_id === underReview.id),
      [{ case_id: underReview.id, seq: 0, reason: 'the case row has no audit events: its chain is gone' }],
    );
    t.same(v.failures.filter((f) => f.case_id !== null), v.failures.filter(isCase(underReview.id)), 'no other case is named');
  });

  t.test("a case row deleted, its chain kept", async (t) => {
    const events = Number((await one(`select count(*) as n from audit_events where chain_id = '${testing.id}'`)).n);
    await run(`delete from deadlines where case_id = '${testing.id}'`);
    await run(`delete from cases where id = '${testing.id}'`);
    const v = await route();
    t.equal(v.ok, false);
    t.same(
      v.failures.filter((f) => f.case_id === testing.id),
      [{ case_id: testing.id, seq: 1, reason: `${events} audit event(s) of this case remain, and its case row is gone` }],
    );
    const cases = (r: VerifyReport) => r.failures.filter((f) => f.case_id !== null);
    t.same(cases(v).map((f) => f.case_id), [underReview.id, testing.id], 'no other case is named (the chain without its row after the cases)');
    if (onPostgres) t.same(cases(await threaded()), cases(v), 'worker threads name the same');
  });
});
