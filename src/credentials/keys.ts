// The issuer's keys (SPEC §8): the transparency log's Ed25519 keys (SPEC §7), never in the database.
// Each is published as a JWK named by its RFC 7638 thumbprint (the `kid` of what it signed); the
// newest signs, every older one stays in the JWKS so that credentials signed before a rotation
// still verify.
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { LogKeys } from '../transparency/keys.js';

export type IssuerKey = { kid: string; jwk: JWK & { kid: string }; privateKey: KeyObject };
export type IssuerKeys = { signer: IssuerKey; /** Every key, the signing one first. */ all: IssuerKey[] };

export async function issuerKeysOf(keys: LogKeys): Promise<IssuerKeys> {
  const all: IssuerKey[] = [];
  for (const s of [...keys.signers].reverse()) {
    const pub = { kty: 'OKP', crv: 'Ed25519', x: s.publicKey.toString('base64url') };
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    if (all.some((k) => k.kid === kid)) continue;
    all.push({ kid, jwk: { ...pub, kid, alg: 'EdDSA', use: 'sig' }, privateKey: s.privateKey });
  }
  return { signer: all[0]!, all };
}
