import type { Test } from 'tap';
import type { Kysely } from 'kysely';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import type { VerifyFailure, VerifyReport } from '../../src/audit/verify.js';
import { bitAt, decodeBitstring, decodeJws } from './verifier.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC §4 and §8: verify vouches that every certificate's status bits and indexes match its status.
  // Each tampering is done through SQL behind the service; verify must name the certificate, and
  // once undone the registry verifies again.
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const R = c.regulator.token;
  const db = ta.app.db as unknown as Kysely<any>;
  const run = (q: string) => sql.raw(q).execute(db);
  const one = async (q: string) => (await sql.raw<any>(q).execute(db)).rows[0];
  const verify = async (): Promise<VerifyReport> => c.ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R }));

  const lab = await c.lab(['robot-safety']);
  const suspended = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
  c.ok(await c.fire(R, suspended.id, 'SUSPEND', { reason: 'surveillance pending' }));
  const valid = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
  const number: string = valid.record.certificate.number;
  const jwt = (await ta.req({ method: 'GET', url: `/v1/register/certificates/${number}/credential` })).body;
  await ta.req({ method: 'GET', url: `/v1/register/certificates/${suspended.record.certificate.number}/credential` });
  const index = Number(decodeJws(jwt).payload.credentialStatus[1].statusListIndex);
  const suspensionBit = async () => bitAt(decodeBitstring(decodeJws((await ta.req({ method: 'GET', url: '/v1/status-lists/suspension/0' })).body).payload.credentialSubject.encodedList), index);
  const names = (f: VerifyFailure) => f.subject?.kind === 'certificate' && f.subject.id === number && f.case_id === valid.id;

  type Tap = Test;
  async function tampered(t: Tap, change: string, undo: string, reason: RegExp) {
    await run(change);
    const v = await verify();
    t.equal(v.ok, false, 'verify fails');
    const named = v.failures.filter(names);
    t.equal(named.length, 1, `one failure names the certificate: ${JSON.stringify(v.failures)}`);
    t.match(named[0]?.reason, reason);
    t.equal(v.failures.length, 1, 'and nothing else is named');
    await run(undo);
    t.same((await verify()).failures, [], 'undone, the registry verifies again');
  }

  t.test('untouched, the registry verifies', async (t) => {
    t.same((await verify()).failures, []);
  });

  t.test('a certificate moved to another status index than its credential names', async (t) => {
    const { status_index } = await one(`select status_index::text from certificates where number = '${number}'`);
    await tampered(
      t,
      `update certificates set status_index = 999999 where number = '${number}'`,
      `update certificates set status_index = ${status_index} where number = '${number}'`,
      /credentials: the certificate's status index is list 7 index 82495, and .* points at revocation list 0 index \d+; .* points at suspension list 0/,
    );
  });

  t.test('a credential recorded with another index', async (t) => {
    await tampered(
      t,
      `update certificate_credentials set status_index = status_index + 1 where number = '${number}'`,
      `update certificate_credentials set status_index = status_index - 1 where number = '${number}'`,
      /is recorded with index/,
    );
  });

  t.test('a stored credential replaced behind the issuer (another JWS than the one audited)', async (t) => {
    await tampered(
      t,
      `update certificate_credentials set jwt = jwt || 'A' where number = '${number}'`,
      `update certificate_credentials set jwt = left(jwt, -1) where number = '${number}'`,
      /credentials: .* is not the one registry event \d+ audited/,
    );
  });

  t.test('a credential the registry chain audited, deleted', async (t) => {
    const row = await one(`select * from certificate_credentials where number = '${number}'`);
    await run(`delete from certificate_credentials where number = '${number}'`);
    const v = await verify();
    const named = v.failures.filter(names);
    t.equal(named.length, 1, `one failure names the certificate: ${JSON.stringify(v.failures)}`);
    t.match(named[0]?.reason, /credentials: registry event \d+ audited a credential of this certificate .*no longer stored/);
    t.ok(named[0]!.seq > 0, 'at the event that audited it');
    await db.insertInto('certificate_credentials').values(row).execute();
    t.same((await verify()).failures, [], 'restored, the registry verifies again');
  });

  t.test('a suspension bit set behind the engine is named with the certificate’s status', async (t) => {
    t.equal(await suspensionBit(), 0);
    await run(`update certificates set status = 'suspended' where number = '${number}'`);
    t.equal(await suspensionBit(), 1, 'the list shows the bit the status means');
    const v = await verify();
    t.ok(v.failures.some(names), `verify names it: ${JSON.stringify(v.failures)}`);
    await run(`update certificates set status = 'valid' where number = '${number}'`);
    t.equal(await suspensionBit(), 0);
    t.same((await verify()).failures, []);
  });
});
