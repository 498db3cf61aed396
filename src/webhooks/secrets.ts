// Webhook signing secrets (SPEC §9): shown once, stored encrypted with AES-256-GCM under a key that
// is never in the database (SECRETS_KEY_FILE, or DATA_DIR/secrets-key on the embedded database), so
// a dump of the database alone cannot forge a signature. The endpoint's id is the additional
// authenticated data: a ciphertext copied onto another endpoint's row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomically } from '../transparency/keys.js';

export const EMBEDDED_SECRETS_FILE = 'secrets-key';
const IV = 12;
const TAG = 16;

export class SecretsKeyError extends Error {}

export type SecretBox = {
  seal(secret: string, endpointId: string): Buffer;
  open(ciphertext: Buffer, endpointId: string): string;
};

/** A new secret as Standard Webhooks writes them: `whsec_` and the base64 of 32 random bytes. */
export const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The key file's 32 bytes (base64 text, surrounding whitespace ignored); anything else is refused by name. */
export function loadSecretsKey(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new SecretsKeyError(`cannot read the secrets key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new SecretsKeyError(`${file}: expected 32 bytes in base64 (make one with: openssl rand -base64 32), got ${key.length} bytes`);
  return key;
}

/** The embedded database's key file, made with a new key when absent. */
export function ensureEmbeddedSecretsFile(dataDir: string): string {
  const file = path.join(dataDir, EMBEDDED_SECRETS_FILE);
  if (!fs.existsSync(file)) writeFileAtomically(file, `${randomBytes(32).toString('base64')}\n`);
  return file;
}

export function secretBox(key: Buffer): SecretBox {
  return {
    seal(secret, endpointId) {
      const iv = randomBytes(IV);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(endpointId));
      const body = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    open(ciphertext, endpointId) {
      const d = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, IV));
      d.setAAD(Buffer.from(endpointId));
      d.setAuthTag(ciphertext.subarray(IV, IV + TAG));
      return Buffer.concat([d.update(ciphertext.subarray(IV + TAG)), d.final()]).toString('utf8');
    },
  };
}

/**
 * The box of the service's key: from SECRETS_KEY_FILE (read now), or on the embedded database from
 * DATA_DIR (read, or made, when first needed). With PostgreSQL and no file, config refuses to start;
 * an app built by hand without one fails here, naming the setting, when it first needs a secret.
 */
export function lazySecretBox(opts: { secretsKeyFile: string | null; dataDir: string; embedded: boolean }): SecretBox {
  // A file named in the configuration is read at start: a bad one stops the service at once.
  let box: SecretBox | null = opts.secretsKeyFile ? secretBox(loadSecretsKey(opts.secretsKeyFile)) : null;
  const get = (): SecretBox => {
    if (box) return box;
    const file = opts.secretsKeyFile ?? (opts.embedded ? ensureEmbeddedSecretsFile(opts.dataDir) : null);
    if (!file) throw new SecretsKeyError('SECRETS_KEY_FILE is required with PostgreSQL: the key that encrypts webhook secrets is never kept in the database');
    return (box = secretBox(loadSecretsKey(file)));
  };
  return { seal: (s, id) => get().seal(s, id), open: (c, id) => get().open(c, id) };
}
