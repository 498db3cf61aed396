import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTestApp, openTestDatabase, testSigningKeyFile } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { rotateSigningKey } from '../../src/transparency/keys.js';
import { decodeJws, signedBy, type Jwk } from './verifier.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('credentials signed before a key rotation still verify with the published JWKS', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'issuer-key-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const keyFile = path.join(dir, 'signing-key.pem');
    fs.copyFileSync(testSigningKeyFile(), keyFile);
    const database = await openTestDatabase();
    t.teardown(() => database.close());

    const before = await buildTestApp(t, { database, env: { SIGNING_KEY_FILE: keyFile } });
    const cast = await certificationCast(before);
    const lab = await cast.lab();
    const old = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
    const oldNumber = old.record.certificate.number;
    const oldJwt = (await before.req({ method: 'GET', url: `/v1/register/certificates/${oldNumber}/credential` })).body;
    const oldKid = decodeJws(oldJwt).header.kid;
    await before.app.close();

    rotateSigningKey(keyFile);
    const after = await buildTestApp(t, { database, env: { SIGNING_KEY_FILE: keyFile } });
    const keys: Jwk[] = (await after.req({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys;
    t.equal(keys.length, 2, 'both keys are published');
    t.not(keys[0]!.kid, oldKid, 'the new key first');
    t.equal(keys[1]!.kid, oldKid, 'the old key stays');

    const served = (await after.req({ method: 'GET', url: `/v1/register/certificates/${oldNumber}/credential` })).body;
    t.equal(served, oldJwt, 'the credential issued before the rotation is served as it was signed');
    t.ok(signedBy(served, keys), 'and verifies with the old key from the JWKS');

    const cast2 = await certificationCast(after);
    const fresh = await cast2.certify({ product: await cast2.robot(), scheme: 'robot-safety', lab: await cast2.lab() });
    const freshJwt = (await after.req({ method: 'GET', url: `/v1/register/certificates/${fresh.record.certificate.number}/credential` })).body;
    t.equal(decodeJws(freshJwt).header.kid, keys[0]!.kid, 'a credential issued after the rotation is signed by the new key');
    t.ok(signedBy(freshJwt, keys));
    const list = (await after.req({ method: 'GET', url: '/v1/status-lists/revocation/0' })).body;
    t.equal(decodeJws(list).header.kid, keys[0]!.kid, 'status lists are signed by the new key');
    t.ok(signedBy(list, keys));
    t.not(decodeJws(freshJwt).payload.credentialStatus[0].statusListIndex, decodeJws(oldJwt).payload.credentialStatus[0].statusListIndex);
  });
});
