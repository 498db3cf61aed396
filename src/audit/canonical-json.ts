// Canonical JSON (RFC 8785 JCS), byte for byte what the `canonicalize` package writes: object keys
// sorted by UTF-16 code units, undefined members left out (undefined in an array is null), numbers
// and strings as JSON.stringify writes them, toJSON() honoured, NaN and Infinity refused. The one
// writer of it: audit hashes (SPEC §4) and Idempotency-Key request hashes (SPEC §2) alike.

/** Nesting handled by recursion (the fast walk, the inner loop of audit verification); deeper goes on an explicit stack. */
const RECURSION_LIMIT = 256;

/** The canonical text of a value; undefined for undefined or a symbol, typed as string like JSON.stringify's own. */
export function canonicalJson(v: unknown): string {
  return walk(v, 0) as string;
}

function walk(v: unknown, depth: number): string | undefined {
  if (v === null || typeof v !== 'object') return scalar(v);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return walk((v as { toJSON(): unknown }).toJSON(), depth);
  // A request body nested 100 000 deep (a route may check its payload only later) must not overflow the stack.
  if (depth >= RECURSION_LIMIT) return deep(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (i > 0) out += ',';
      out += x === undefined || typeof x === 'symbol' ? 'null' : walk(x, depth + 1);
    }
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined || typeof x === 'symbol') continue;
    if (!first) out += ',';
    first = false;
    out += `${quotedKey(k)}:${walk(x, depth + 1)}`;
  }
  return `${out}}`;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(Number.isNaN(v) ? 'NaN is not allowed' : 'Infinity is not allowed');
  return JSON.stringify(v);
}

type Frame = { array: unknown[]; object: null; keys: null; i: number; first: boolean } | { array: null; object: Record<string, unknown>; keys: string[]; i: number; first: boolean };

/** The same rules as walk() for a container, on a stack of its own instead of the call stack. */
function deep(root: object): string {
  let out = '';
  const stack: Frame[] = [];
  const open = (c: object) => {
    if (Array.isArray(c)) {
      out += '[';
      stack.push({ array: c, object: null, keys: null, i: 0, first: true });
    } else {
      const keys = Object.keys(c);
      if (keys.length > 1) keys.sort();
      out += '{';
      stack.push({ array: null, object: c as Record<string, unknown>, keys, i: 0, first: true });
    }
  };
  const value = (x: unknown) => {
    while (x !== null && typeof x === 'object' && typeof (x as { toJSON?: unknown }).toJSON === 'function') x = (x as { toJSON(): unknown }).toJSON();
    if (x !== null && typeof x === 'object') open(x);
    else out += scalar(x);
  };
  open(root);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.array) {
      if (f.i === f.array.length) {
        out += ']';
        stack.pop();
        continue;
      }
      if (f.i > 0) out += ',';
      const x = f.array[f.i++];
      if (x === undefined || typeof x === 'symbol') out += 'null';
      else value(x);
    } else {
      if (f.i === f.keys.length) {
        out += '}';
        stack.pop();
        continue;
      }
      const k = f.keys[f.i++]!;
      const x = f.object[k];
      if (x === undefined || typeof x === 'symbol') continue;
      if (!f.first) out += ',';
      f.first = false;
      out += `${quotedKey(k)}:`;
      value(x);
    }
  }
  return out;
}

// The same few dozen keys (chain_id, seq, payload fields, …) are quoted for every event: quoted
// once. Bounded, since payload keys (metric names) come from callers.
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}
