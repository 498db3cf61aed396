// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the body of a signed note that commits
// to a log's size and root: the origin line, the tree size in decimal, the root hash in base64,
// then optional extension lines.
export type Checkpoint = { origin: string; size: number; root: Buffer; extensions: string[] };

export function formatCheckpoint(c: { origin: string; size: number; root: Buffer; extensions?: string[] }): string {
  if (!c.origin || /[\n\r]/.test(c.origin) || c.origin.trim() !== c.origin) throw new Error('a checkpoint origin is one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new Error('a checkpoint size is a non-negative integer');
  if (c.root.length !== 32) throw new Error('a checkpoint root is a SHA-256 hash');
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n${(c.extensions ?? []).map((e) => `${e}\n`).join('')}`;
}

/** Parses a checkpoint body (the text of its note, already verified). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new Error('a checkpoint has an origin, a size and a root, each on its own line');
  const [origin, size, root, ...rest] = lines.slice(0, -1) as [string, string, string, ...string[]];
  if (!origin) throw new Error('a checkpoint’s origin is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw new Error('a checkpoint’s size is not a decimal integer');
  const hash = Buffer.from(root, 'base64');
  if (hash.length !== 32 || hash.toString('base64') !== root) throw new Error('a checkpoint’s root is not a base64 SHA-256 hash');
  if (rest.some((e) => e === '')) throw new Error('a checkpoint has an empty extension line');
  return { origin, size: Number(size), root: hash, extensions: rest };
}
