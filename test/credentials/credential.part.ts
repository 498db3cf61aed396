import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { bitAt, decodeBitstring, decodeJws, signedBy, type Jwk } from './verifier.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t, { env: { PUBLIC_URL: 'https://registry.example.gov.cn', ISSUER_URL: 'https://issuer.example.gov.cn' } });
  const cast = await certificationCast(ta);
  const lab = await cast.lab();
  const robot = await cast.robot();
  const certified = await cast.certify({ product: robot, scheme: 'robot-safety', lab });
  const number: string = certified.record.certificate.number;

  const jwks = async (): Promise<Jwk[]> => cast.ok(await ta.req({ method: 'GET', url: '/.well-known/jwks.json' })).keys;
  const credential = async () => {
    const r = await ta.req({ method: 'GET', url: `/v1/register/certificates/${number}/credential` });
    t.equal(r.statusCode, 200, r.body);
    t.equal(r.headers['content-type'], 'application/vc+jwt');
    return r.body;
  };
  /** The status list an entry names, fetched by its URL's path, its signature checked, its bit read. */
  async function bitOf(entry: { statusListCredential: string; statusListIndex: string; statusPurpose: string }) {
    const url = new URL(entry.statusListCredential);
    t.equal(url.origin, 'https://registry.example.gov.cn', 'the list is reached at PUBLIC_URL');
    const r = await ta.req({ method: 'GET', url: url.pathname });
    t.equal(r.statusCode, 200, r.body);
    t.ok(signedBy(r.body, await jwks()), 'the status list is signed by a key of the JWKS');
    const { header, payload } = decodeJws(r.body);
    t.equal(header.typ, 'vc+jwt');
    t.same(payload.type, ['VerifiableCredential', 'BitstringStatusListCredential']);
    t.equal(payload.issuer, 'https://issuer.example.gov.cn');
    t.equal(payload.id, entry.statusListCredential);
    t.equal(payload.credentialSubject.statusPurpose, entry.statusPurpose);
    const bits = decodeBitstring(payload.credentialSubject.encodedList);
    t.ok(bits.length * 8 >= 131_072, 'at least 131,072 entries');
    return bitAt(bits, Number(entry.statusListIndex));
  }
  const statusBits = async (jwt: string) => {
    const entries = decodeJws(jwt).payload.credentialStatus as Array<any>;
    const by = Object.fromEntries(entries.map((e) => [e.statusPurpose, e]));
    return { revocation: await bitOf(by.revocation), suspension: await bitOf(by.suspension) };
  };

  t.test('the credential: vc+jwt, EdDSA, signed by a JWKS key, with the certificate’s facts', async (t) => {
    const jwt = await credential();
    const { header, payload } = decodeJws(jwt);
    t.match(header, { alg: 'EdDSA', typ: 'vc+jwt', kid: String });
    const keys = await jwks();
    t.equal(keys[0]!.kid, header.kid, 'the signing key is the first of the JWKS');
    t.ok(signedBy(jwt, keys), 'Ed25519 over the JWS signing input verifies with node:crypto');
    t.same(payload['@context'], ['https://www.w3.org/ns/credentials/v2']);
    t.ok(payload.type.includes('VerifiableCredential'));
    t.equal(payload.issuer, 'https://issuer.example.gov.cn', 'the issuer is ISSUER_URL');
    t.equal(payload.validFrom, certified.record.certificate.issued_at);
    t.equal(payload.validUntil, certified.record.certificate.valid_until);
    const s = payload.credentialSubject;
    t.equal(s.certificateNumber, number);
    t.same(s.holder, { name: cast.applicantOrg.name, creditCode: cast.applicantOrg.credit_code });
    t.same(s.product, { name: robot.name, version: robot.version, kind: 'robot' });
    t.equal(s.scheme.code, 'robot-safety');
    t.equal(s.scope, certified.record.certificate.scope);
    t.same(s.lab, { name: lab.org.name });
    t.equal(s.validFrom, payload.validFrom);
    t.equal(s.validUntil, payload.validUntil);
    t.same(
      payload.credentialStatus.map((e: any) => [e.type, e.statusPurpose]),
      [
        ['BitstringStatusListEntry', 'revocation'],
        ['BitstringStatusListEntry', 'suspension'],
      ],
    );
    t.equal(payload.credentialStatus[0].statusListIndex, payload.credentialStatus[1].statusListIndex, 'one index, in both lists');
    t.same(await statusBits(jwt), { revocation: 0, suspension: 0 }, 'a valid certificate has no bit set');
    t.equal(await credential(), jwt, 'the same credential is served again while its facts hold');
    const tampered = `${jwt.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, validUntil: '2099-01-01T00:00:00.000Z' })).toString('base64url')}.${jwt.split('.')[2]}`;
    t.notOk(signedBy(tampered, keys), 'a changed claim breaks the signature');
  });

  t.test('the status bits follow SUSPEND, RESTORE and REVOKE, each in its event’s transaction', async (t) => {
    const jwt = await credential();
    const id = certified.id;
    cast.ok(await cast.fire(cast.regulator.token, id, 'SUSPEND', { reason: 'surveillance pending' }));
    t.same(await statusBits(jwt), { revocation: 0, suspension: 1 }, 'suspended: the suspension bit is set');
    t.equal(await credential(), jwt, 'a suspension changes the list, not the credential');
    cast.ok(await cast.fire(cast.regulator.token, id, 'RESTORE'));
    t.same(await statusBits(jwt), { revocation: 0, suspension: 0 }, 'restored: the bit is clear again');
    const restored = await credential();
    t.same(decodeJws(restored).payload.credentialStatus, decodeJws(jwt).payload.credentialStatus, 'the same status indexes after RESTORE');
    cast.ok(await cast.fire(cast.regulator.token, id, 'REVOKE', { reason: 'fraudulent test report' }));
    t.same(await statusBits(jwt), { revocation: 1, suspension: 0 }, 'revoked: the revocation bit is set');
  });

  t.test('a renamed holder gets a new credential with the same status indexes', async (t) => {
    const other = await cast.robot();
    const c = await cast.certify({ product: other, scheme: 'robot-safety', lab });
    const n = c.record.certificate.number;
    const first = (await ta.req({ method: 'GET', url: `/v1/register/certificates/${n}/credential` })).body;
    await ta.database.db.updateTable('organizations').set({ name: 'Renamed Robotics Ltd' }).where('id', '=', cast.applicantOrg.id).execute();
    const second = (await ta.req({ method: 'GET', url: `/v1/register/certificates/${n}/credential` })).body;
    t.not(second, first, 're-issued');
    t.equal(decodeJws(second).payload.credentialSubject.holder.name, 'Renamed Robotics Ltd');
    t.same(decodeJws(second).payload.credentialStatus, decodeJws(first).payload.credentialStatus);
    t.not(decodeJws(second).payload.credentialStatus[0].statusListIndex, decodeJws(await credential()).payload.credentialStatus[0].statusListIndex, 'each certificate has its own index');
  });

  t.test('status lists are cacheable: ETag, If-None-Match, Cache-Control with the ttl', async (t) => {
    const r = await ta.req({ method: 'GET', url: '/v1/status-lists/suspension/0' });
    t.equal(r.statusCode, 200);
    t.match(r.headers.etag, /^"[A-Za-z0-9_-]+"$/);
    t.equal(r.headers['cache-control'], 'public, max-age=300');
    t.equal(decodeJws(r.body).payload.credentialSubject.ttl, 300_000);
    const again = await ta.req({ method: 'GET', url: '/v1/status-lists/suspension/0', headers: { 'if-none-match': r.headers.etag as string } });
    t.equal(again.statusCode, 304);
    t.equal(again.body, '');
  });

  t.test('bad input is a problem naming the field', async (t) => {
    const purpose = await ta.req({ method: 'GET', url: '/v1/status-lists/expiry/0' });
    t.equal(purpose.statusCode, 400);
    t.equal(purpose.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(purpose.json(), { code: 'validation_failed', errors: [{ path: 'path/purpose' }] });
    for (const n of ['-1', 'x', '1.5', '99999999999999999']) {
      const r = await ta.req({ method: 'GET', url: `/v1/status-lists/revocation/${n}` });
      t.equal(r.statusCode, 400, `n=${n}`);
      t.match(r.json(), { code: 'validation_failed', errors: [{ path: 'path/n' }] });
    }
    const beyond = await ta.req({ method: 'GET', url: '/v1/status-lists/revocation/7' });
    t.equal(beyond.statusCode, 404);
    t.match(beyond.json(), { code: 'not_found', detail: /params\/n/ });
    const unknown = await ta.req({ method: 'GET', url: '/v1/register/certificates/GDAIC-2026-999999/credential' });
    t.equal(unknown.statusCode, 404);
    t.match(unknown.json(), { code: 'not_found' });
  });
});
