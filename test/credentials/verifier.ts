// An independent verifier: plain node:crypto and zlib, none of the service's code and no JOSE
// library. A compact JWS is split by hand, its Ed25519 signature checked over the signing input,
// and a status list's bitstring decoded from its multibase base64url GZIP.
import { createPublicKey, verify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

export type Jwk = { kty: string; crv: string; x: string; kid: string; alg?: string };
export type Decoded = { header: Record<string, any>; payload: Record<string, any>; signingInput: string; signature: Buffer };

export function decodeJws(jwt: string): Decoded {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new Error(`a compact JWS has 3 parts, this one ${parts.length}`);
  const [h, p, s] = parts as [string, string, string];
  const json = (b: string) => JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
  return { header: json(h), payload: json(p), signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

/** Whether the JWS is signed by the JWKS key its `kid` names (false when no key has that kid). */
export function signedBy(jwt: string, keys: Jwk[]): boolean {
  const d = decodeJws(jwt);
  const jwk = keys.find((k) => k.kid === d.header.kid);
  if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || d.header.alg !== 'EdDSA') return false;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  return verify(null, Buffer.from(d.signingInput, 'ascii'), key, d.signature);
}

/** The bitstring of a BitstringStatusList's encodedList: "u" then base64url of the GZIP. */
export function decodeBitstring(encodedList: string): Buffer {
  if (!encodedList.startsWith('u')) throw new Error('encodedList is not multibase base64url (no "u" prefix)');
  return gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'));
}

/** Bit `i` (0 is the most significant bit of the first byte). */
export const bitAt = (bits: Buffer, i: number) => (bits[i >> 3]! >> (7 - (i & 7))) & 1;
