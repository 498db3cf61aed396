// The audit hash is sha256(prev_hash ‖ canonical JSON of the event). The hand-written canonical
// JSON of src/audit/canonical-json.ts (the inner loop of verification) must be byte for byte what the
// `canonicalize` package (RFC 8785) writes, or hashes written and hashes verified would part ways.
import fc from 'fast-check';
import canonicalizeModule from 'canonicalize';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

  t.test('canonicalJson equals canonicalize on generated JSON values', async (t) => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => canonicalJson(v) === canonicalize(v)),
      { numRuns: 5000 },
    );
    // Keys that sort differently by code unit than by code point, or look like numbers.
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'binary' }), fc.constant(null))), (v) => canonicalJson(v) === canonicalize(v)),
      { numRuns: 3000 },
    );
    t.pass('5000 + 3000 generated values');
  });

  t.test('the cases a generator may miss', async (t) => {
    const cases: unknown[] = [
      { b: 1, a: { d: [3, { f: null, e: 'é' }], c: '' } },
      JSON.parse('{"__proto__":{"x":1},"constructor":2}'),
      { '\ud83d\ude00': 1, '\ufb33': 2, '1': 3, '10': 4, '2': 5 },
      [1e21, 1e-7, -0, 0.1 + 0.2, Number.MAX_SAFE_INTEGER + 2],
      { s: 'line\nbreak "quoted" \\ \u0001 \u2028' },
      { at: new Date('2026-11-29T00:00:00.000Z'), skipped: undefined, list: [undefined] },
    ];
    cases.forEach((v, i) => t.equal(canonicalJson(v), canonicalize(v), `case ${i}`));
    t.throws(() => canonicalJson({ x: NaN }), /NaN/);
    t.throws(() => canonicalJson([Infinity]), /Infinity/);
  });

  t.test('values nested deeper than the recursion are written the same (the explicit-stack walk)', async (t) => {
    const nest = (v: unknown, depth: number, i: number): unknown => {
      for (let d = 0; d < depth; d++) v = (d + i) % 3 === 0 ? [v, undefined, d] : (d + i) % 3 === 1 ? { z: v, a: d, u: undefined, '\ud83d\ude00': 'x' } : { at: new Date(Date.UTC(2026, 0, 1, 0, 0, d)), v };
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.integer({ min: 250, max: 600 }), fc.nat(2), (v, depth, i) => {
        const deep = nest(v, depth, i);
        return canonicalJson(deep) === canonicalize(deep);
      }),
      { numRuns: 200 },
    );
    t.throws(() => canonicalJson(nest([NaN], 400, 0)), /NaN/);
  });
});
