// A credential secured with JOSE (W3C VC-JOSE-COSE): the credential is the JWS payload, the
// protected header says `typ: vc+jwt`, EdDSA and the key's thumbprint.
import { CompactSign } from 'jose';
import type { IssuerKey } from './keys.js';

export const VC_JWT = 'application/vc+jwt';

export async function signCredential(credential: Record<string, unknown>, key: IssuerKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(credential))).setProtectedHeader({ alg: 'EdDSA', typ: 'vc+jwt', kid: key.kid }).sign(key.privateKey);
}
