// The transparency log's Merkle tree (src/transparency/merkle.ts) against RFC 9162 §2.1: the
// published test vectors of transparency-dev/merkle (testdata/, see SOURCE.md), and, for every
// tree of up to 64 leaves, every inclusion and consistency proof compared with one computed here
// from the RFC's recursive definitions and checked by a verifier written here, independently of
// the service's bit-walking algorithms.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  memorySubtrees,
  appendToEdge,
  rightEdge,
  rootOf,
  rootOfEdge,
  storedSubtrees,
  subtreeNodes,
  type Node,
  verifyConsistency,
  verifyInclusion,
} from '../../src/transparency/merkle.js';
import { H, MTH, PATH, PROOF, refLeaf, rootFromPath } from './reference.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const leaves = Array.from({ length: 64 }, (_, i) => Buffer.from(`audit event ${i}`));
  const hashes = leaves.map(leafHash);

  t.test('leaf, node and empty-tree hashes are RFC 9162’s', async (t) => {
    t.equal(emptyRoot().toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'SHA-256 of nothing');
    t.same(leafHash(Buffer.from('')), refLeaf(Buffer.from('')));
    for (let n = 0; n <= 64; n++) t.same(rootOf(hashes, n), MTH(leaves.slice(0, n)), `root of ${n}`);
  });

  t.test('every inclusion proof up to 64 leaves is PATH(m, D[n]), and verifies', async (t) => {
    let checked = 0;
    for (let n = 1; n <= 64; n++) {
      const subtree = memorySubtrees(hashes.slice(0, n));
      const root = MTH(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(m, n, subtree);
        const ref = PATH(m, leaves.slice(0, n));
        if (proof.length !== ref.length || !proof.every((p, i) => p.equals(ref[i]!))) t.fail(`PATH(${m}, D[${n}])`);
        if (!rootFromPath(m, n, hashes[m]!, proof)?.equals(root)) t.fail(`the independent verifier rejects leaf ${m} of ${n}`);
        if (!verifyInclusion(m, n, hashes[m]!, proof, root)) t.fail(`verifyInclusion rejects leaf ${m} of ${n}`);
        // Any other leaf, index, size or a flipped bit fails.
        if (verifyInclusion(m, n, hashes[(m + 1) % 64]!, proof, root)) t.fail(`a wrong leaf passes at ${m} of ${n}`);
        if (n > 1 && verifyInclusion((m + 1) % n, n, hashes[m]!, proof, root)) t.fail(`a wrong index passes at ${m} of ${n}`);
        if (proof.length) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[0]![0]! ^= 1;
          if (verifyInclusion(m, n, hashes[m]!, bad, root)) t.fail(`a modified proof passes at ${m} of ${n}`);
          if (verifyInclusion(m, n, hashes[m]!, proof.slice(0, -1), root)) t.fail(`a truncated proof passes at ${m} of ${n}`);
        }
        if (verifyInclusion(m, n, hashes[m]!, [...proof, hashes[0]!], root)) t.fail(`a proof with a trailing hash passes at ${m} of ${n}`);
        checked++;
      }
    }
    t.equal(checked, (64 * 65) / 2, `${checked} leaf/size pairs`);
    t.throws(() => inclusionProof(3, 3, memorySubtrees(hashes)), RangeError);
    t.notOk(verifyInclusion(3, 3, hashes[3]!, [], rootOf(hashes, 3)), 'an index outside the tree');
  });

  t.test('every consistency proof between sizes up to 64 is PROOF(m, D[n]), and verifies', async (t) => {
    let checked = 0;
    for (let n = 1; n <= 64; n++) {
      const subtree = memorySubtrees(hashes.slice(0, n));
      const root2 = MTH(leaves.slice(0, n));
      for (let m = 0; m <= n; m++) {
        const root1 = MTH(leaves.slice(0, m));
        const proof = consistencyProof(m, n, subtree);
        const ref = PROOF(m, leaves.slice(0, n));
        if (proof.length !== ref.length || !proof.every((p, i) => p.equals(ref[i]!))) t.fail(`PROOF(${m}, D[${n}])`);
        if (!verifyConsistency(m, n, proof, root1, root2)) t.fail(`verifyConsistency rejects ${m} → ${n}`);
        if (m > 0 && m < n) {
          const other = MTH([...leaves.slice(0, m - 1), Buffer.from('rewritten')]);
          if (verifyConsistency(m, n, proof, other, root2)) t.fail(`a rewritten first tree passes ${m} → ${n}`);
          const bad = proof.map((p) => Buffer.from(p));
          bad.at(-1)![31]! ^= 0x80;
          if (verifyConsistency(m, n, bad, root1, root2)) t.fail(`a modified proof passes ${m} → ${n}`);
          if (verifyConsistency(m, n, proof.slice(1), root1, root2)) t.fail(`a truncated proof passes ${m} → ${n}`);
          if (verifyConsistency(n, m, proof, root2, root1)) t.fail(`a shrinking log passes ${n} → ${m}`);
        }
        checked++;
      }
    }
    t.equal(checked, 64 + (64 * 65) / 2, `${checked} size pairs`);
    t.notOk(verifyConsistency(5, 5, [hashes[0]!], rootOf(hashes, 5), rootOf(hashes, 5)), 'equal sizes take an empty proof');
    t.notOk(verifyConsistency(5, 5, [], rootOf(hashes, 5), rootOf(hashes, 6)), 'and equal roots');
  });

  t.test('the tree grown a leaf at a time keeps its right edge, and its stored subtrees answer every proof', async (t) => {
    // What the sequencer does: append to the right edge, keep every subtree completed, serve proofs
    // from the kept ones. Compared with the reference at every size up to 64.
    const edge: Node[] = [];
    const stored = new Map<string, Buffer>();
    let bad = 0;
    for (let n = 1; n <= 64; n++) {
      appendToEdge(edge, hashes[n - 1]!, (node) => stored.set(`${node.level}/${node.index}`, node.hash));
      if (!rootOfEdge(edge).equals(MTH(leaves.slice(0, n)))) bad++;
      if (JSON.stringify(edge.map(({ level, index }) => ({ level, index }))) !== JSON.stringify(rightEdge(n))) bad++;
      const subtree = storedSubtrees((level, index) => {
        const h = stored.get(`${level}/${index}`);
        if (!h) throw new Error(`subtree ${level}/${index} was not kept`);
        return h;
      });
      for (let m = 0; m < n; m++) {
        const ref = PATH(m, leaves.slice(0, n));
        const proof = inclusionProof(m, n, subtree);
        if (proof.length !== ref.length || !proof.every((p, i) => p.equals(ref[i]!))) bad++;
      }
      for (let m = 0; m <= n; m++) {
        const ref = PROOF(m, leaves.slice(0, n));
        const proof = consistencyProof(m, n, subtree);
        if (proof.length !== ref.length || !proof.every((p, i) => p.equals(ref[i]!))) bad++;
      }
    }
    t.equal(bad, 0, 'every root, edge and proof up to 64 leaves equals the reference');
    t.equal(stored.size, 64 + 32 + 16 + 8 + 4 + 2 + 1, 'every complete subtree of 64 leaves kept once');
    t.same(rootOfEdge([]), MTH([]), 'the empty tree');
    t.same(subtreeNodes(0, 6), [{ level: 2, index: 0 }, { level: 1, index: 2 }], 'MTH(D[0:6]) is two kept subtrees');
    t.same(subtreeNodes(4, 7), [{ level: 1, index: 2 }, { level: 0, index: 6 }]);
    t.same(rightEdge(2 ** 40 + 5), [{ level: 40, index: 0 }, { level: 2, index: 2 ** 38 }, { level: 0, index: 2 ** 40 + 4 }], 'sizes past 2^32');
  });

  // ---- the published vectors ----------------------------------------------------------------------
  const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
  const vectorFiles = (kind: string) =>
    fs.existsSync(path.join(testdata, kind))
      ? fs.readdirSync(path.join(testdata, kind)).flatMap((dir) => fs.readdirSync(path.join(testdata, kind, dir)).map((f) => path.join(testdata, kind, dir, f)))
      : [];
  const b64 = (s: string | null | undefined) => Buffer.from(s ?? '', 'base64');

  t.test('the published inclusion vectors: each happy path verifies, each broken one fails', async (t) => {
    const files = vectorFiles('inclusion');
    t.ok(files.length >= 20, `${files.length} vectors`);
    for (const f of files) {
      const v = JSON.parse(fs.readFileSync(f, 'utf8')) as { leafIndex: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean };
      const ok = verifyInclusion(v.leafIndex, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
      t.equal(ok, !v.wantErr, `${path.relative(testdata, f)}: ${v.desc}`);
    }
  });

  t.test('the published consistency vectors: each happy path verifies, each broken one fails', async (t) => {
    const files = vectorFiles('consistency');
    t.ok(files.length >= 20, `${files.length} vectors`);
    for (const f of files) {
      const v = JSON.parse(fs.readFileSync(f, 'utf8')) as { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean };
      const ok = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
      t.equal(ok, !v.wantErr, `${path.relative(testdata, f)}: ${v.desc}`);
    }
  });
});
