// C2SP signed notes and checkpoints (src/transparency/note.ts, checkpoint.ts) against the reference
// example of the Go implementation (golang.org/x/mod/sumdb/note, note_test.go: the PeterNeumann
// key and note): Ed25519 is deterministic, so signing its text with its key must give its note
// byte for byte, and any Go-ecosystem verifier or witness then accepts our signatures.
import { generateKeyPairSync } from 'node:crypto';
import { keyId, openNote, parseSignerKey, parseVerifierKey, signerFromKey, signNote, verifierKey } from '../../src/transparency/note.js';
import { formatCheckpoint, parseCheckpoint } from '../../src/transparency/checkpoint.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const NOTE = `${TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  t.test('the reference key and note, byte for byte', async (t) => {
    const signer = parseSignerKey(SKEY);
    t.equal(signer.id.toString('hex'), 'c74f20a3', 'the key id');
    t.equal(verifierKey(signer), VKEY, 'the verifier key derived from the signer key');
    t.equal(signNote(TEXT, [signer]), NOTE, 'the signed note');
    const opened = openNote(NOTE, [parseVerifierKey(VKEY)]);
    t.same(opened, { text: TEXT, verifiedBy: ['PeterNeumann'], otherSignatures: 0 });
  });

  t.test('a changed note, an unknown key, a mangled verifier key are refused', async (t) => {
    const v = parseVerifierKey(VKEY);
    t.throws(() => openNote(NOTE.replace('cryptography', 'cryptographY'), [v]), /does not verify/);
    t.throws(() => openNote(NOTE.replace('x08go', 'x08gp'), [v]), /does not verify|no signature/);
    t.throws(() => openNote(NOTE, []), /no signature by a known key/);
    t.throws(() => openNote(TEXT, [v]), /malformed note/);
    // Every proper substring and every single-character change of the verifier key is refused (as the Go tests do).
    let refused = 0;
    for (let i = 0; i <= VKEY.length; i++) {
      for (let j = i + 1; j <= VKEY.length; j++) {
        if (i === 0 && j === VKEY.length) continue;
        try {
          parseVerifierKey(VKEY.slice(i, j));
          t.fail(`accepted ${VKEY.slice(i, j)}`);
        } catch {
          refused++;
        }
      }
    }
    for (let i = 0; i < VKEY.length; i++) {
      const changed = VKEY.slice(0, i) + String.fromCharCode(VKEY.charCodeAt(i) + 1) + VKEY.slice(i + 1);
      try {
        parseVerifierKey(changed);
        t.fail(`accepted ${changed}`);
      } catch {
        refused++;
      }
    }
    t.ok(refused > 2000, `${refused} mangled keys refused`);
  });

  t.test('a generated key signs and verifies; a note signed by two keys opens with either', async (t) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const ours = signerFromKey('registry.example/audit-log', privateKey);
    t.equal(ours.id.toString('hex'), keyId('registry.example/audit-log', ours.publicKey).toString('hex'));
    const note = signNote('registry.example/audit-log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n', [ours, parseSignerKey(SKEY)]);
    t.same(openNote(note, [parseVerifierKey(verifierKey(ours))]).otherSignatures, 1);
    t.same(openNote(note, [parseVerifierKey(VKEY)]).verifiedBy, ['PeterNeumann']);
    t.throws(() => signerFromKey('has space', privateKey));
    t.throws(() => signNote('no newline at the end', [ours]));
  });

  t.test('checkpoints: origin, size, base64 root, extensions', async (t) => {
    const root = Buffer.alloc(32, 7);
    const body = formatCheckpoint({ origin: 'registry.example/audit-log', size: 12, root });
    t.equal(body, `registry.example/audit-log\n12\n${root.toString('base64')}\n`);
    t.same(parseCheckpoint(body), { origin: 'registry.example/audit-log', size: 12, root, extensions: [] });
    t.same(parseCheckpoint(`${body}ext one\n`).extensions, ['ext one']);
    for (const bad of ['', 'o\n1\n', `o\n-1\n${root.toString('base64')}\n`, `o\n01\n${root.toString('base64')}\n`, `o\n1\nAAAA\n`, `o\n1\n${root.toString('base64')}`, `\n1\n${root.toString('base64')}\n`]) {
      t.throws(() => parseCheckpoint(bad), `refuses ${JSON.stringify(bad)}`);
    }
    t.throws(() => formatCheckpoint({ origin: 'two\nlines', size: 1, root }));
  });
});
