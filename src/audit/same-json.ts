// Equality of JSON documents as stored and as replayed (jsonb orders keys its own way).

/** Equal as JSON documents: key order aside, undefined members as absent, toJSON() honoured. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a !== null && typeof a === 'object' && typeof (a as { toJSON?: unknown }).toJSON === 'function') return sameJson((a as { toJSON(): unknown }).toJSON(), b);
  if (b !== null && typeof b === 'object' && typeof (b as { toJSON?: unknown }).toJSON === 'function') return sameJson(a, (b as { toJSON(): unknown }).toJSON());
  if (a === undefined) return b === null || b === undefined;
  if (b === undefined) return a === null;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, bb[i] ?? null)) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (ao[k] === undefined) continue;
    n++;
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !sameJson(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (bo[k] !== undefined) n--;
  return n === 0;
}
