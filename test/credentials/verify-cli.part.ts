import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildTestApp, testSigningKeyFile } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { decodeJws } from './verifier.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const run = promisify(execFile);
  const ISSUER = 'https://issuer.example.gov.cn';
  const ta = await buildTestApp(t, { env: { PUBLIC_URL: 'https://registry.example.gov.cn', ISSUER_URL: ISSUER } });
  const cast = await certificationCast(ta);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-credential-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const get = async (url: string) => {
    const r = await ta.req({ method: 'GET', url });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.body;
  };
  const credentialOf = (c: { record: { certificate: { number: string } } }) => get(`/v1/register/certificates/${c.record.certificate.number}/credential`);

  const lab = await cast.lab();
  const valid = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
  const suspended = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
  cast.ok(await cast.fire(cast.regulator.token, suspended.id, 'SUSPEND', { reason: 'surveillance pending' }));
  const revoked = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab });
  cast.ok(await cast.fire(cast.regulator.token, revoked.id, 'REVOKE', { reason: 'fraudulent report' }));
  // Issued ten years ago: its three years of validity are over by the real clock the CLI reads.
  const now = ta.clock.ms;
  ta.clock.set(new Date(now - 10 * 365 * 86_400_000));
  const oldLab = await cast.lab();
  const expired = await cast.certify({ product: await cast.robot(), scheme: 'robot-safety', lab: oldLab });
  ta.clock.set(new Date(now));

  const jwks = file('jwks.json', await get('/.well-known/jwks.json'));
  const lists = ['--status-list', file('revocation-0.jwt', await get('/v1/status-lists/revocation/0')), '--status-list', file('suspension-0.jwt', await get('/v1/status-lists/suspension/0'))];
  const good = await credentialOf(valid);
  const { header, payload } = decodeJws(good);

  /** A compact JWS signed by hand with node:crypto: a header, claims and a key of the test's choosing. */
  const forge = (h: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject) => {
    const input = `${Buffer.from(JSON.stringify(h)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
  };
  const stranger = generateKeyPairSync('ed25519').privateKey;
  const ourKey = createPrivateKey(fs.readFileSync(testSigningKeyFile(), 'utf8'));

  async function cli(args: string[]) {
    try {
      const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'verify-credential', ...args], { env: { ...process.env, ISSUER_URL: '', PUBLIC_URL: '' } });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  const CASES: Array<[string, string[], number, RegExp]> = [
    ['a valid certificate', [file('valid.jwt', good), '--jwks', jwks, ...lists, '--issuer', ISSUER], 0, /^valid: certificate GDAIC-/],
    ['the credential pasted rather than a file', [good, '--jwks', jwks, '--issuer', ISSUER], 0, /^valid: [\s\S]*note: revocation status not checked/],
    ['a suspended certificate', [await credentialOf(suspended), '--jwks', jwks, ...lists, '--issuer', ISSUER], 1, /^suspended: certificate/],
    ['a revoked certificate', [await credentialOf(revoked), '--jwks', jwks, ...lists, '--issuer', ISSUER], 2, /^revoked: certificate/],
    ['an expired certificate', [await credentialOf(expired), '--jwks', jwks, ...lists, '--issuer', ISSUER], 3, /^expired: certificate .* was valid until/],
    ['a tampered claim', [`${good.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, validUntil: '2099-12-31T00:00:00.000Z' })).toString('base64url')}.${good.split('.')[2]}`, '--jwks', jwks], 4, /^bad signature: /],
    ['a key that does not match its kid', [forge(header, payload, stranger), '--jwks', jwks], 4, /^bad signature: /],
    ['a key the JWKS does not hold', [forge({ ...header, kid: 'not-one-of-ours' }, payload, stranger), '--jwks', jwks], 5, /^unknown key: .*not-one-of-ours/],
    ['a credential of another issuer', [forge(header, { ...payload, issuer: 'https://other-registry.example.com' }, ourKey), '--jwks', jwks, '--issuer', ISSUER], 6, /^wrong issuer: .*other-registry/],
    ['not a JWS at all', ['hello', '--jwks', jwks], 7, /^malformed: the credential is not a compact JWS/],
    ['a JWS of another type', [forge({ ...header, typ: 'JWT' }, payload, ourKey), '--jwks', jwks], 7, /^malformed: .*typ/],
    ['no JWKS given', [good], 64, /usage: verify-credential/],
  ];

  for (const [name, args, code, out] of CASES) {
    t.test(`${name}: exit ${code}`, async (t) => {
      const r = await cli(args);
      t.equal(r.code, code, r.out);
      t.match(r.out, out);
    });
  }
});
