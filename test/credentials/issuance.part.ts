import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { decodeJws, signedBy, type Jwk } from './verifier.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // SPEC §8: a credential is issued on CERTIFY and audited. CERTIFY queues the certificate in its own
  // transaction; the issuer signs the queue in batches, each batch one CREDENTIALS_ISSUED event on the
  // registry chain naming every credential by the SHA-256 of its JWS. Checked here with plain
  // node:crypto and SQL, not the service's own verifier.
  const ta = await buildTestApp(t);
  const c = await certificationCast(ta);
  const db = ta.app.db as unknown as Kysely<any>;
  const rows = async <T>(q: string) => (await sql.raw<T>(q).execute(db)).rows;
  const queued = async () => (await rows<{ number: string }>('select number from credential_queue order by number')).map((r) => r.number);
  const issuedEvents = () => rows<{ seq: number; payload: { credentials: Array<Record<string, string>> } }>(`select seq, payload from audit_events where chain_id = 'registry' and type = 'CREDENTIALS_ISSUED' order by seq`);
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  const lab = await c.lab(['robot-safety']);
  const certify = async () => (await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab })).record.certificate.number as string;
  const credential = (number: string) => ta.req({ method: 'GET', url: `/v1/register/certificates/${number}/credential` });

  t.test('CERTIFY queues the certificate; the issuer signs the queue as one audited batch', async (t) => {
    const before = (await issuedEvents()).length;
    const numbers = [await certify(), await certify(), await certify()].sort();
    t.same(await queued(), numbers, 'each CERTIFY queued its certificate in its own transaction');
    t.equal((await rows('select 1 from certificate_credentials')).length, 0, 'nothing is signed on the transition itself');

    t.equal(await ta.app.credentials.issuer.runOnce(), 3, 'the issuer issues the three');
    t.same(await queued(), [], 'and empties the queue');
    const events = await issuedEvents();
    t.equal(events.length, before + 1, 'one registry event for the batch');
    const audited = events.at(-1)!.payload.credentials;
    t.same(audited.map((x) => x.number).sort(), numbers, 'naming each credential');

    const keys: Jwk[] = (await ta.req({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys;
    for (const number of numbers) {
      const jwt = (await credential(number)).body;
      t.ok(signedBy(jwt, keys), `${number}: the served credential verifies with the JWKS`);
      const a = audited.find((x) => x.number === number)!;
      t.equal(a.jwt_sha256, sha256(jwt), `${number}: it is the credential the event audited (SHA-256 of its JWS)`);
      t.equal(a.credential_id, decodeJws(jwt).payload.id, 'with its id');
      t.equal(a.kid, decodeJws(jwt).header.kid, 'and its key');
    }
    t.equal((await issuedEvents()).length, before + 1, 'serving them issues nothing more');
    t.equal(await ta.app.credentials.issuer.runOnce(), 0, 'and a second run finds nothing to do');
  });

  t.test('a credential asked for before the issuer runs is issued at once, audited, and not again by the issuer', async (t) => {
    const number = await certify();
    const before = (await issuedEvents()).length;
    const jwt = (await credential(number)).body;
    const events = await issuedEvents();
    t.equal(events.length, before + 1, 'one event');
    t.same(events.at(-1)!.payload.credentials.map((x) => [x.number, x.jwt_sha256]), [[number, sha256(jwt)]]);
    t.same(await queued(), [], 'the request took the queue row');
    t.equal(await ta.app.credentials.issuer.runOnce(), 0);
    t.equal((await credential(number)).body, jwt, 'the same credential is served again');
  });

  t.test('changed facts queue a new credential with the same status index; a status change does not', async (t) => {
    const number = await certify();
    await ta.app.credentials.issuer.runOnce();
    const first = (await credential(number)).body;
    const id = (await rows<{ case_id: string }>(`select case_id from certificates where number = '${number}'`))[0]!.case_id;
    t.ok(c.ok(await c.fire(c.regulator.token, id, 'SUSPEND', { reason: 'surveillance pending' })));
    t.same(await queued(), [], 'SUSPEND changes a bit in the status lists, not the credential');
    // A holder renamed in the registry reaches the certificate row by its rename trigger; done here in SQL.
    await sql`update certificates set holder_name_en = 'Renamed Robotics Co., Ltd.' where number = ${number}`.execute(db);
    t.same(await queued(), [number], 'a changed fact queues it');
    t.equal(await ta.app.credentials.issuer.runOnce(), 1);
    const second = (await credential(number)).body;
    t.not(second, first, 'a new credential');
    t.equal(decodeJws(second).payload.credentialSubject.holder.nameEn, 'Renamed Robotics Co., Ltd.', 'stating the new fact');
    t.same(
      decodeJws(second).payload.credentialStatus.map((e: { statusListIndex: string }) => e.statusListIndex),
      decodeJws(first).payload.credentialStatus.map((e: { statusListIndex: string }) => e.statusListIndex),
      'at the same status indexes',
    );
    const v = c.ok(await ta.req({ method: 'GET', url: '/v1/audit/verify', token: c.regulator.token }));
    t.same(v.failures.filter((f: { subject?: { id: string } }) => f.subject?.id === number && /credentials/.test((f as { reason: string }).reason)), [], 'both credentials are audited');
  });
});
