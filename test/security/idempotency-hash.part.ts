import fc from 'fast-check';
import canonicalizeModule from 'canonicalize';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { buildTestApp } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { sandboxCast } from '../sandbox/helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

  t.test('the idempotency hash text is the canonical JSON of the body (property)', async (t) => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => canonicalJson(v) === canonicalize(v)),
      { numRuns: 2000 },
    );
    const proto = JSON.parse('{"b":1,"__proto__":{"x":[1,{"constructor":2}]},"a":"\\u0000\\ud800"}');
    t.equal(canonicalJson(proto), canonicalize(proto), 'own __proto__ keys, NUL and lone surrogates alike');
    t.equal(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' }), '{"a":"x","b":[2,{"c":null,"d":1}]}');
  });

  t.test('a body nested 200 000 deep is hashed without overflowing the stack', async (t) => {
    const deep = JSON.parse(`${'['.repeat(200_000)}1${']'.repeat(200_000)}`);
    t.equal(canonicalJson(deep).length, 400_001);
  });

  t.test('an event with an Idempotency-Key and a deeply nested payload is a 400, not a 500', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const c = await s.caseIn('testing');
    for (const depth of [1_000, 100_000]) {
      const payload = `{"type":"SUBMIT_REPORT","payload":{"summary":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
      const r = await ta.req({
        method: 'POST',
        url: `/v1/sandbox-cases/${c.id}/events`,
        token: s.applicant.token,
        payload,
        headers: { 'content-type': 'application/json', 'idempotency-key': `deep-${depth}` },
      });
      assertProblem(t, r, 400, 'validation_failed', 'body/payload/summary');
    }
    t.equal((await s.history(c.id)).length, 5, 'nothing appended');
  });
});
