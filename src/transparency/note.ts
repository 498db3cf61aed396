// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, the form of the
// transparency log's checkpoints (SPEC §7). A note is UTF-8 text ending in a newline, a blank
// line, then one line per signature: "— <key name> <base64(4-byte key id ‖ signature)>". A key's id
// is the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key); its verifier key is
// "<name>+<id, 8 hex>+<base64(0x01 ‖ public key)>". Ed25519 is node:crypto's.
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

const ED25519 = 0x01;
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SIGNATURE_PREFIX = '— ';

export type NoteSigner = { name: string; id: Buffer; privateKey: KeyObject; publicKey: Buffer };
export type NoteVerifier = { name: string; id: Buffer; publicKey: KeyObject; raw: Buffer };

/** A key name: non-empty, no space, no plus sign (signed-note §"Keys"). */
const validName = (name: string) => name.length > 0 && !/[\s+]/u.test(name) && /^[\x21-\x7e\u00a0-\uffff]+$/u.test(name);

/** The key id: the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). */
export function keyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519]), publicKey])).digest().subarray(0, 4);
}

const rawPublic = (key: KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');

/** A signer from an Ed25519 private key (a KeyObject, e.g. read from a PKCS#8 PEM file) and the key's name. */
export function signerFromKey(name: string, privateKey: KeyObject): NoteSigner {
  if (!validName(name)) throw new Error(`invalid key name ${JSON.stringify(name)}`);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the signing key must be Ed25519');
  const publicKey = rawPublic(createPublicKey(privateKey));
  return { name, id: keyId(name, publicKey), privateKey, publicKey };
}

/** A signer from a signed-note private key string, "PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>". */
export function parseSignerKey(skey: string): NoteSigner {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(skey);
  if (!m) throw new Error('malformed signer key');
  const data = Buffer.from(m[3]!, 'base64');
  if (data.length !== 33 || data[0] !== ED25519) throw new Error('signer key is not an Ed25519 key');
  const signer = signerFromKey(m[1]!, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, data.subarray(1)]), format: 'der', type: 'pkcs8' }));
  if (signer.id.toString('hex') !== m[2]) throw new Error('signer key id does not match its key');
  return signer;
}

/** The verifier key of a signer, "<name>+<id>+<base64(0x01 ‖ public key)>" (the `vkey` form). */
export function verifierKey(signer: Pick<NoteSigner, 'name' | 'id' | 'publicKey'>): string {
  return `${signer.name}+${signer.id.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), signer.publicKey]).toString('base64')}`;
}

/** Parses a verifier key; refuses a malformed one, another algorithm, or an id that is not the key's. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey);
  if (!m || !validName(m[1]!)) throw new Error('malformed verifier key');
  const data = Buffer.from(m[3]!, 'base64');
  if (data.toString('base64') !== m[3] || data.length !== 33 || data[0] !== ED25519) throw new Error('verifier key is not an Ed25519 key');
  const raw = data.subarray(1);
  const id = keyId(m[1]!, raw);
  if (id.toString('hex') !== m[2]) throw new Error('verifier key id does not match its key');
  return { name: m[1]!, id, publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), raw };
}

/** The text of a note must be UTF-8 ending in a newline, with no control character but newlines. */
function checkText(text: string) {
  if (!text.endsWith('\n')) throw new Error('a note’s text ends with a newline');
  if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text) || /[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) throw new Error('a note’s text holds a control character or invalid UTF-8');
}

/** Signs the text with each signer: the text, a blank line, one signature line per signer. */
export function signNote(text: string, signers: NoteSigner[]): string {
  checkText(text);
  const lines = signers.map((s) => {
    const sig = edSign(null, Buffer.from(text, 'utf8'), s.privateKey);
    return `${SIGNATURE_PREFIX}${s.name} ${Buffer.concat([s.id, sig]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export type OpenedNote = { text: string; verifiedBy: string[]; otherSignatures: number };

/**
 * Opens a signed note: its text, once at least one signature of a known verifier checks. A
 * signature by a known key that does not verify fails the note; signatures by unknown keys are
 * counted and otherwise ignored, as the specification says.
 */
export function openNote(note: string, verifiers: NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('malformed note: no signature block');
  const text = note.slice(0, split + 1);
  checkText(text);
  const sigLines = note.slice(split + 2, -1).split('\n');
  const verifiedBy: string[] = [];
  let otherSignatures = 0;
  for (const line of sigLines) {
    const m = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) throw new Error(`malformed signature line ${JSON.stringify(line)}`);
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length < 5) throw new Error('malformed signature');
    const v = verifiers.find((k) => k.name === m[1] && k.id.equals(blob.subarray(0, 4)));
    if (!v) {
      otherSignatures++;
      continue;
    }
    if (blob.length !== 68 || !edVerify(null, Buffer.from(text, 'utf8'), v.publicKey, blob.subarray(4))) throw new Error(`the signature of ${v.name} does not verify`);
    if (!verifiedBy.includes(v.name)) verifiedBy.push(v.name);
  }
  if (!verifiedBy.length) throw new Error('no signature by a known key');
  return { text, verifiedBy, otherSignatures };
}
