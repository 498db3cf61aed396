import { buildTestApp, fixtures } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('health and docs answer', async (t) => {
    const ta = await buildTestApp(t);
    const live = await ta.req({ method: 'GET', url: '/health/live' });
    t.equal(live.statusCode, 200);
    const ready = await ta.req({ method: 'GET', url: '/health/ready' });
    t.equal(ready.statusCode, 200);
    // The instance's background workers, as buildTestApp configures them (their intervals 0: tests drive them).
    t.match(ready.json(), {
      status: 'ready',
      scheduler: { enabled: false },
      transparency: { enabled: false },
      credentials: { enabled: false, last_error: null },
      webhooks: { enabled: false, rounds: 0, delivered: 0, failed: 0, last_error: null },
    });
    const docs = await ta.req({ method: 'GET', url: '/documentation/json' });
    t.equal(docs.statusCode, 200);
    t.ok(docs.json().paths['/v1/sandbox-cases']);
  });

  t.test('fixtures build', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const p = await f.product(f.applicant.token);
    t.ok(p.id);
  });
});
