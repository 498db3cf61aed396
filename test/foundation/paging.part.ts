// Every list's cursor is written by one encoder (src/paging.ts); cursors of the schemes list issued
// before that (the bare code) still page, and what the service did not issue is a 400.
import { buildTestApp, fixtures } from '../helpers/app.js';
import { assertProblem } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const { regulator } = await fixtures(ta);
  const b64 = (s: string) => Buffer.from(s).toString('base64url');

  t.test('a schemes cursor of either form pages from the same code', async (t) => {
    const first = (await ta.req({ method: 'GET', url: '/v1/schemes?limit=2' })).json();
    const last = first.items.at(-1).code;
    const next = (await ta.req({ method: 'GET', url: `/v1/schemes?limit=2&cursor=${first.next_cursor}` })).json();
    const bare = (await ta.req({ method: 'GET', url: `/v1/schemes?limit=2&cursor=${b64(last)}` })).json();
    t.same(bare, next, 'the bare code, as cursors were before');
    t.same(next.items.map((s: any) => s.code), ['genai-security', 'robot-safety']);
  });

  t.test('cursors the service did not issue are refused on every kind of list', async (t) => {
    const forged = ['["X!"]', '[1]', '{"a":1}', '["2026-01-01T00:00:00Z"]', 'not json', '["2026-01-01T00:00:00Z","not-a-uuid",3]'].map(b64);
    for (const cursor of forged) {
      for (const url of ['/v1/schemes', '/v1/register/certificates', '/v1/register/sandbox', '/v1/register/genai-projects', '/v1/products', '/v1/organizations', '/v1/sandbox-cases']) {
        const r = await ta.req({ method: 'GET', url: `${url}?cursor=${cursor}`, token: url.startsWith('/v1/register') || url === '/v1/schemes' ? undefined : regulator.token });
        assertProblem(t, r, 400, 'validation_failed', 'query/cursor');
      }
    }
  });
});
