// `npm run cli -- verify-credential`: a certificate's credential checked with files alone (SPEC §8):
// the issuer's JWKS, optionally the status lists, no database and no network. The outcome is one
// of a fixed set, each with its exit code (README, "Verify a certificate offline").
import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';

export const OUTCOMES = {
  valid: 0,
  suspended: 1,
  revoked: 2,
  expired: 3,
  bad_signature: 4,
  unknown_key: 5,
  wrong_issuer: 6,
  malformed: 7,
} as const;
export type Outcome = keyof typeof OUTCOMES;
export type Verdict = { outcome: Outcome; message: string; notes: string[] };

class Refused extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
  }
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const issuerId = (iss: unknown) => (typeof iss === 'string' ? iss : iss && typeof iss === 'object' && typeof (iss as { id?: unknown }).id === 'string' ? (iss as { id: string }).id : null);

/** The JWS's claims once its signature verifies with the JWKS key its `kid` names. */
async function verified(jwt: string, what: string, keys: JWK[]): Promise<Record<string, any>> {
  if (!COMPACT_JWS.test(jwt)) throw new Refused('malformed', `${what} is not a compact JWS (three base64url parts separated by dots)`);
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw new Refused('malformed', `${what}: its protected header is not base64url JSON`);
  }
  if (header.typ !== 'vc+jwt') throw new Refused('malformed', `${what}: typ is ${JSON.stringify(header.typ)}, not "vc+jwt"`);
  if (header.alg !== 'EdDSA') throw new Refused('malformed', `${what}: alg is ${JSON.stringify(header.alg)}, not "EdDSA"`);
  if (typeof header.kid !== 'string') throw new Refused('malformed', `${what}: its header names no kid`);
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Refused('unknown_key', `${what} is signed by key ${header.kid}, which the JWKS does not hold`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jwt, await importJWK(jwk, 'EdDSA')));
  } catch {
    throw new Refused('bad_signature', `${what}: the signature does not verify with key ${header.kid} (a changed claim, or another key under its kid)`);
  }
  try {
    const claims = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('not an object');
    return claims as Record<string, any>;
  } catch {
    throw new Refused('malformed', `${what}: its payload is not a JSON object`);
  }
}

const time = (v: unknown, field: string) => {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new Refused('malformed', `the credential's ${field} is not a date-time: ${JSON.stringify(v)}`);
  return ms;
};

export type VerifyInput = { credential: string; jwks: string; statusLists: string[]; issuer: string | null; now: Date };

/** Judges the credential: malformed, unknown key, bad signature, wrong issuer, then revoked, expired, suspended or valid. */
export async function verifyCredentialOffline(input: VerifyInput): Promise<Verdict> {
  const notes: string[] = [];
  try {
    let keys: JWK[];
    try {
      keys = (JSON.parse(input.jwks) as { keys: JWK[] }).keys;
      if (!Array.isArray(keys)) throw new Error('no keys');
    } catch {
      throw new Refused('malformed', 'the JWKS file is not a JSON Web Key Set ({"keys": [...]})');
    }
    const vc = await verified(input.credential.trim(), 'the credential', keys);
    const issuer = issuerId(vc.issuer);
    if (!issuer) throw new Refused('malformed', 'the credential names no issuer');
    if (input.issuer === null) notes.push(`issuer ${issuer} not compared (give --issuer, or set ISSUER_URL)`);
    else if (issuer !== input.issuer.replace(/\/+$/, '')) throw new Refused('wrong_issuer', `the credential's issuer is ${issuer}, not ${input.issuer}`);
    const subject = vc.credentialSubject as Record<string, any> | undefined;
    const number = subject?.certificateNumber;
    if (typeof number !== 'string') throw new Refused('malformed', 'the credential has no credentialSubject.certificateNumber');
    const from = time(vc.validFrom, 'validFrom');
    const until = time(vc.validUntil, 'validUntil');
    const entries = Array.isArray(vc.credentialStatus) ? vc.credentialStatus : vc.credentialStatus ? [vc.credentialStatus] : [];

    const set: string[] = [];
    const lists = new Map<string, { purpose: string; bits: Buffer }>();
    for (const [i, text] of input.statusLists.entries()) {
      const list = await verified(text.trim(), `status list ${i + 1}`, keys);
      if (issuerId(list.issuer) !== issuer) throw new Refused('wrong_issuer', `status list ${i + 1} is issued by ${issuerId(list.issuer)}, the credential by ${issuer}`);
      const encoded = list.credentialSubject?.encodedList;
      if (typeof list.id !== 'string' || typeof encoded !== 'string' || !encoded.startsWith('u')) throw new Refused('malformed', `status list ${i + 1} has no id or no multibase base64url encodedList`);
      let bits: Buffer;
      try {
        bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
      } catch {
        throw new Refused('malformed', `status list ${i + 1}: its encodedList is not GZIP`);
      }
      lists.set(list.id, { purpose: String(list.credentialSubject.statusPurpose), bits });
    }
    for (const e of entries) {
      if (e?.type !== 'BitstringStatusListEntry') continue;
      const list = lists.get(e.statusListCredential);
      if (!list) {
        notes.push(`${e.statusPurpose} status not checked: no --status-list for ${e.statusListCredential}`);
        continue;
      }
      const index = Number(e.statusListIndex);
      if (!Number.isInteger(index) || index < 0 || index >= list.bits.length * 8) throw new Refused('malformed', `statusListIndex ${JSON.stringify(e.statusListIndex)} is outside its list`);
      if (list.purpose !== e.statusPurpose) throw new Refused('malformed', `the list for ${e.statusPurpose} is a ${list.purpose} list`);
      if ((list.bits[index >> 3]! >> (7 - (index & 7))) & 1) set.push(e.statusPurpose);
    }
    const now = input.now.getTime();
    if (set.includes('revocation')) return { outcome: 'revoked', message: `revoked: certificate ${number} has been revoked`, notes };
    if (now >= until) return { outcome: 'expired', message: `expired: certificate ${number} was valid until ${new Date(until).toISOString()}`, notes };
    if (now < from) return { outcome: 'expired', message: `expired: certificate ${number} is not valid before ${new Date(from).toISOString()}`, notes };
    if (set.includes('suspension')) return { outcome: 'suspended', message: `suspended: certificate ${number} is suspended`, notes };
    return { outcome: 'valid', message: `valid: certificate ${number} (${subject?.product?.name ?? 'product'} of ${subject?.holder?.name ?? 'holder'}), valid until ${new Date(until).toISOString()}`, notes };
  } catch (err) {
    if (err instanceof Refused) return { outcome: err.outcome, message: `${err.outcome.replace('_', ' ')}: ${err.message}`, notes };
    throw err;
  }
}

export const USAGE_EXIT = 64;

/** The command: reads the files named, prints the verdict, answers its exit code. */
export async function verifyCredentialCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { parseArgs } = await import('node:util');
  let parsed;
  try {
    parsed = parseArgs({ args, options: { jwks: { type: 'string' }, 'status-list': { type: 'string', multiple: true }, issuer: { type: 'string' } }, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return USAGE_EXIT;
  }
  const [given] = parsed.positionals;
  if (!given || parsed.positionals.length > 1 || !parsed.values.jwks) {
    process.stderr.write('usage: verify-credential <jwt|file|pdf> --jwks FILE [--status-list FILE]… [--issuer URL]\n');
    return USAGE_EXIT;
  }
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  let input: VerifyInput;
  const pdfNotes: string[] = [];
  try {
    // A file's text, or else the argument itself (a pasted credential, malformed or not); a PDF
    // certificate's credential is read from its QR code.
    let credential = !COMPACT_JWS.test(given.trim()) && fs.existsSync(given) ? read(given) : given;
    if (credential !== given && credential.startsWith('%PDF-')) {
      const { credentialOfPdf } = await import('./pdf-qr.js');
      const found = await credentialOfPdf(fs.readFileSync(given));
      if ('refused' in found) {
        process.stdout.write(`malformed: ${found.refused}\n`);
        return OUTCOMES.malformed;
      }
      credential = found.jwt;
      pdfNotes.push(...found.notes);
    }
    input = {
      credential,
      jwks: read(parsed.values.jwks),
      statusLists: (parsed.values['status-list'] ?? []).map(read),
      issuer: parsed.values.issuer ?? (env.ISSUER_URL || env.PUBLIC_URL || null),
      now: new Date(),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return USAGE_EXIT;
  }
  const v = await verifyCredentialOffline(input);
  v.notes.unshift(...pdfNotes);
  process.stdout.write(`${v.message}\n${v.notes.map((n) => `  note: ${n}\n`).join('')}`);
  return OUTCOMES[v.outcome];
}
