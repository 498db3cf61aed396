import fs from 'node:fs';
import { clientTypesFile, generateClientTypes } from '../../scripts/gen-openapi-client.js';
import { buildTestApp, makeCreditCode, testDatabaseUrl } from '../helpers/app.js';
import { useClient } from './client/use-client.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // The document, and what a client or an example does with it, are the same on either database: run once, in the PostgreSQL pass.
  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: runs in the PostgreSQL pass only (DATABASE_URL); the OpenAPI document does not depend on the database');
    process.exit(0);
  }

  const ta = await buildTestApp(t);

  t.test('test/openapi/client/api.ts is what openapi-typescript makes of the served document (run `npm run gen:client`)', async (t) => {
    const doc = (await ta.req({ method: 'GET', url: '/documentation/json' })).json();
    t.equal(fs.readFileSync(clientTypesFile, 'utf8'), await generateClientTypes(doc));
  });

  t.test('the generated client creates an organization, a product and a case and fires an event against the listening service', async (t) => {
    const address = await ta.app.listen({ port: 0, host: '127.0.0.1' });
    const out = await useClient(address, ta.adminToken, makeCreditCode());
    t.match(out, { orgKind: 'enterprise', productKind: 'ai_system', state: 'submitted', version: 2, eventType: 'SUBMIT', labId: null });
    t.match(out.number, /^SBX-\d{4}-\d{6}$/);
    t.match(out.caseId, /^[0-9a-f-]{36}$/);
    t.same(out.problem, { status: 409, code: 'invalid_transition', allowed: ['WITHDRAW'] });
  });
});
