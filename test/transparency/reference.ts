// An independent reference for the transparency log's tree: RFC 9162 §2.1 read literally, with
// recursion and slices, sharing no code with src/transparency/merkle.ts. Tests compare the
// service's trees and proofs with these.
import { createHash } from 'node:crypto';

export const H = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
export const refLeaf = (d: Buffer) => H(Buffer.from([0]), d);
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
export const MTH = (D: Buffer[]): Buffer =>
  D.length === 0 ? H() : D.length === 1 ? refLeaf(D[0]!) : H(Buffer.from([1]), MTH(D.slice(0, k(D.length))), MTH(D.slice(k(D.length))));
export const PATH = (m: number, D: Buffer[]): Buffer[] => {
  if (D.length <= 1) return [];
  const s = k(D.length);
  return m < s ? [...PATH(m, D.slice(0, s)), MTH(D.slice(s))] : [...PATH(m - s, D.slice(s)), MTH(D.slice(0, s))];
};
export const SUBPROOF = (m: number, D: Buffer[], b: boolean): Buffer[] => {
  if (m === D.length) return b ? [] : [MTH(D)];
  const s = k(D.length);
  return m <= s ? [...SUBPROOF(m, D.slice(0, s), b), MTH(D.slice(s))] : [...SUBPROOF(m - s, D.slice(s), false), MTH(D.slice(0, s))];
};
export const PROOF = (m: number, D: Buffer[]) => (m === 0 || m === D.length ? [] : SUBPROOF(m, D, true));
/** The root an audit path leads to, rebuilt by the same recursion as PATH: its last element is the top sibling. */
export const rootFromPath = (m: number, n: number, leaf: Buffer, path: Buffer[]): Buffer | null => {
  if (n === 1) return path.length === 0 ? leaf : null;
  if (path.length === 0) return null;
  const s = k(n);
  const top = path.at(-1)!;
  const rest = path.slice(0, -1);
  const below = m < s ? rootFromPath(m, s, leaf, rest) : rootFromPath(m - s, n - s, leaf, rest);
  return below && (m < s ? H(Buffer.from([1]), below, top) : H(Buffer.from([1]), top, below));
};

