// The log's signing keys (SPEC §7): Ed25519, never in the database (whoever can write the database
// must not be able to sign). One PEM file holds them, each a PKCS#8 "PRIVATE KEY" block: the last
// signs, all are published as verifier keys so that checkpoints signed before a rotation still
// verify. The file is SIGNING_KEY_FILE, or on the embedded database DATA_DIR/signing-key.pem,
// made on first start. Rotating appends a new key.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signerFromKey, verifierKey, parseVerifierKey, type NoteSigner, type NoteVerifier } from './note.js';

export const EMBEDDED_KEY_FILE = 'signing-key.pem';

export type LogKeys = {
  /** The file the keys come from. */
  file: string;
  /** Every key of the file, oldest first; the last signs. */
  signers: NoteSigner[];
  signer: NoteSigner;
  /** Every key's verifier, for checking stored checkpoints. */
  verifiers: NoteVerifier[];
  /** The verifier keys in C2SP vkey form, newest first (GET /v1/transparency/key). */
  vkeys: string[];
};

export class SigningKeyError extends Error {}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n-----END \1-----/g;

/** The private keys of a PEM text, in order; anything but Ed25519 PKCS#8 blocks is refused by name. */
export function privateKeysOfPem(pem: string, file: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    const n = keys.length + 1;
    if (m[1] !== 'PRIVATE KEY') throw new SigningKeyError(`${file}: block ${n} is a "${m[1]}", not a PKCS#8 "PRIVATE KEY"`);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: m[0], format: 'pem' });
    } catch (err) {
      throw new SigningKeyError(`${file}: block ${n} is not a readable private key (${(err as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`${file}: key ${n} is ${key.asymmetricKeyType}, the log signs with Ed25519`);
    keys.push(key);
  }
  if (keys.length === 0) throw new SigningKeyError(`${file}: no PKCS#8 "PRIVATE KEY" block (make one with: openssl genpkey -algorithm ed25519)`);
  return keys;
}

/** Reads the key file; `origin` names the keys (a signed note's key name is the log's origin). */
export function loadLogKeys(file: string, origin: string): LogKeys {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SigningKeyError(`cannot read the signing key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const signers = privateKeysOfPem(pem, file).map((k) => signerFromKey(origin, k));
  const vkeys = signers.map((s) => verifierKey(s)).reverse();
  return { file, signers, signer: signers.at(-1)!, verifiers: [...new Set(vkeys)].map((v) => parseVerifierKey(v)), vkeys: [...new Set(vkeys)] };
}

const newKeyPem = (): string => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** Writes `text` to `file` whole or not at all (a crash leaves the old file), readable by its owner only. */
export function writeFileAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The embedded database's key file, made with one new key when absent. */
export function ensureEmbeddedKeyFile(dataDir: string): string {
  const file = path.join(dataDir, EMBEDDED_KEY_FILE);
  if (!fs.existsSync(file)) writeFileAtomically(file, newKeyPem());
  return file;
}

/** Appends a new key to the file (it signs from the next start on); the old ones stay, published. */
export function rotateSigningKey(file: string): void {
  const old = fs.readFileSync(file, 'utf8');
  privateKeysOfPem(old, file); // a file that is not ours to extend is refused before it is touched
  writeFileAtomically(file, `${old.replace(/\s*$/, '\n')}${newKeyPem()}`);
}
