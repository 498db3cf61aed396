// The Merkle tree of the transparency log (SPEC §7), exactly as RFC 9162 §2.1 defines it:
// leaf hash = SHA-256(0x00 ‖ leaf), interior node = SHA-256(0x01 ‖ left ‖ right), the tree over n
// leaves split at the largest power of two below n. Proofs are built from the hashes of the
// subtrees that split produces (`SubtreeHash`), so a store that keeps subtree hashes answers them
// without reading every leaf; verification needs only the proof and the roots.
import { createHash } from 'node:crypto';

export type Hash = Buffer;

const sha256 = (...parts: Buffer[]): Hash => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

/** MTH({}) : the hash of the empty tree. */
export const emptyRoot = (): Hash => sha256();
/** The hash of a leaf (RFC 9162 §2.1.1). */
export const leafHash = (leaf: Buffer): Hash => sha256(LEAF, leaf);
/** The hash of an interior node. */
export const nodeHash = (left: Hash, right: Hash): Hash => sha256(NODE, left, right);

/** The largest power of two smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The hash of the subtree over leaves [start, end): MTH(D[start:end]). */
export type SubtreeHash = (start: number, end: number) => Hash;

/** MTH over leaf hashes held in memory (RFC 9162 §2.1.1); the tree of `size` leaves, by default all. */
export function rootOf(leafHashes: readonly Hash[], size = leafHashes.length): Hash {
  if (size === 0) return emptyRoot();
  return memorySubtrees(leafHashes)(0, size);
}

/** A SubtreeHash over leaf hashes held in memory. */
export function memorySubtrees(leafHashes: readonly Hash[]): SubtreeHash {
  const mth = (start: number, end: number): Hash => {
    const n = end - start;
    if (n === 1) return leafHashes[start]!;
    const k = splitPoint(n);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return (start, end) => {
    if (!(start >= 0 && end <= leafHashes.length && start < end)) throw new RangeError(`no subtree [${start}, ${end}) in ${leafHashes.length} leaves`);
    return mth(start, end);
  };
}

/** The audit path of leaf m in the tree of n leaves, PATH(m, D[n]) (RFC 9162 §2.1.3.1), bottom up. */
export function inclusionProof(m: number, n: number, subtree: SubtreeHash): Hash[] {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m < n)) throw new RangeError(`leaf ${m} is not in a tree of ${n}`);
  const path: Hash[] = [];
  let start = 0;
  let end = n;
  // Walk down from the root, collecting each sibling; the path lists them from the leaf up.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < start + k) {
      path.push(subtree(start + k, end));
      end = start + k;
    } else {
      path.push(subtree(start, start + k));
      start += k;
    }
  }
  return path.reverse();
}

/** The consistency proof between the trees of m and n leaves, PROOF(m, D[n]) (RFC 9162 §2.1.4.1). */
export function consistencyProof(m: number, n: number, subtree: SubtreeHash): Hash[] {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m <= n)) throw new RangeError(`no consistency proof from ${m} to ${n}`);
  if (m === 0 || m === n) return [];
  const proof: Hash[] = [];
  // SUBPROOF(m, D[start:end], b), unrolled: each step appends one hash after the recursion's, so
  // they are gathered top down and reversed.
  let start = 0;
  let end = n;
  let mm = m;
  let b = true;
  for (;;) {
    const size = end - start;
    if (mm === size) {
      if (!b) proof.push(subtree(start, end));
      break;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      proof.push(subtree(start + k, end));
      end = start + k;
    } else {
      proof.push(subtree(start, start + k));
      start += k;
      mm -= k;
      b = false;
    }
  }
  return proof.reverse();
}

const isOdd = (x: bigint) => (x & 1n) === 1n;

/**
 * Verifies an audit path (RFC 9162 §2.1.3.2): the leaf hash at `index` is in the tree of `size`
 * leaves whose root is `root`. Sizes are compared as bigints, so any index and size are safe.
 */
export function verifyInclusion(index: number, size: number, hash: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size)) || index < 0 || index >= size) return false;
  if (proof.some((p) => p.length !== 32) || hash.length !== 32 || root.length !== 32) return false;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = hash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

/**
 * Verifies a consistency proof (RFC 9162 §2.1.4.2): the tree of `size2` leaves with root `root2`
 * extends the tree of `size1` leaves with root `root1`. Equal sizes need an empty proof and equal
 * roots; from the empty tree, an empty proof.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2)) || size1 < 0 || size2 < size1) return false;
  if (proof.some((p) => p.length !== 32) || root1.length !== 32 || root2.length !== 32) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  let path = [...proof];
  // A first tree whose size is a power of two is a whole subtree of the second: its root starts the path.
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];
  let fn = BigInt(size1 - 1);
  let sn = BigInt(size2 - 1);
  while (isOdd(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && fr.equals(root1) && sr.equals(root2);
}

/** A complete subtree: level L, index i covers leaves [i·2^L, (i+1)·2^L). Level 0 is a leaf. */
export type Node = { level: number; index: number; hash: Hash };

/**
 * The complete subtrees a tree of `size` leaves is made of, largest (leftmost) first: one per set
 * bit of `size`. Their hashes, folded from the right, give the root; appending a leaf merges the
 * last ones (a compact range from 0, in the words of transparency-dev/merkle).
 */
export function rightEdge(size: number): Array<{ level: number; index: number }> {
  const out: Array<{ level: number; index: number }> = [];
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (Math.floor(size / width) % 2 === 1) out.push({ level, index: Math.floor(size / width) - 1 });
  }
  return out;
}

/** The root of the tree whose right edge is `edge` (rightEdge's order): MTH of all its leaves. */
export function rootOfEdge(edge: readonly Node[]): Hash {
  if (edge.length === 0) return emptyRoot();
  let h = edge.at(-1)!.hash;
  for (let i = edge.length - 2; i >= 0; i--) h = nodeHash(edge[i]!.hash, h);
  return h;
}

/**
 * Appends one leaf hash to a tree given by its right edge (changed in place), calling `created`
 * for the leaf and for every subtree it completes, bottom up. `size`, the tree's size before, is
 * computed from the edge when not given.
 */
export function appendToEdge(edge: Node[], leaf: Hash, created?: (n: Node) => void, size = edge.reduce((s, n) => s + 2 ** n.level, 0)): void {
  let node: Node = { level: 0, index: size, hash: leaf };
  created?.(node);
  while (edge.length > 0 && edge.at(-1)!.level === node.level) {
    const left = edge.pop()!;
    node = { level: node.level + 1, index: left.index / 2, hash: nodeHash(left.hash, node.hash) };
    created?.(node);
  }
  edge.push(node);
}

/** A SubtreeHash over stored complete subtrees: `node` gives the hash of each subtreeNodes names. */
export function storedSubtrees(node: (level: number, index: number) => Hash): SubtreeHash {
  const mth = (s: number, e: number): Hash => {
    const n = e - s;
    const level = Math.log2(n);
    if (Number.isInteger(level) && s % n === 0) return node(level, s / n);
    const k = splitPoint(n);
    return nodeHash(mth(s, s + k), mth(s + k, e));
  };
  return (start, end) => {
    if (!(start >= 0 && start < end)) throw new RangeError(`no subtree [${start}, ${end})`);
    return mth(start, end);
  };
}

/** The complete subtrees (level, index) storedSubtrees reads for MTH(D[start:end]), left to right. */
export function subtreeNodes(start: number, end: number): Array<{ level: number; index: number }> {
  const out: Array<{ level: number; index: number }> = [];
  const zero = Buffer.alloc(32);
  storedSubtrees((level, index) => {
    out.push({ level, index });
    return zero;
  })(start, end);
  return out;
}
