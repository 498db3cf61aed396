// The examples the OpenAPI document shows are checked, so that none teaches a client a payload the
// service refuses: every `examples` entry in schemas/ and in the response schemas validates against
// the schema it sits in (with the service's own validator), the main payloads are also accepted by
// the service itself, and the served document carries them.
import { loadSchemaFiles, Schemas, type JsonSchema } from '../../src/schemas.js';
import { responseSchemas } from '../../src/http/responses.js';
import { buildTestApp, TestClock, testDatabaseUrl } from '../helpers/app.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // The document, and what a client or an example does with it, are the same on either database: run once, in the PostgreSQL pass.
  if (!testDatabaseUrl()) {
    t.plan(0, 'skipped: runs in the PostgreSQL pass only (DATABASE_URL); the OpenAPI document does not depend on the database');
    process.exit(0);
  }

  const files = loadSchemaFiles();
  const all = new Schemas([...files, ...responseSchemas]);

  /** Every `examples` keyword in a schema, with its JSON pointer (properties, items, definitions…). */
  function examplesIn(schema: unknown, at = ''): Array<{ pointer: string; examples: unknown[] }> {
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return [];
    const out: Array<{ pointer: string; examples: unknown[] }> = [];
    for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
      if (k === 'examples' && Array.isArray(v)) out.push({ pointer: at, examples: v });
      else if (k !== 'enum' && k !== 'const' && k !== 'default') {
        if (Array.isArray(v)) v.forEach((item, i) => out.push(...examplesIn(item, `${at}/${k}/${i}`)));
        else out.push(...examplesIn(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
      }
    }
    return out;
  }

  const exampleOf = (id: string) => (files.find((f) => f.$id === id)!.examples as unknown[])[0] as Record<string, unknown>;

  t.test('every example in schemas/ and in the response schemas is valid for the schema it sits in', async (t) => {
    let checked = 0;
    for (const schema of [...files, ...responseSchemas] as JsonSchema[]) {
      for (const { pointer, examples } of examplesIn(schema)) {
        const validate = all.body.compile({ $ref: `${schema.$id}#${pointer}` });
        for (const [i, example] of examples.entries()) {
          checked++;
          t.ok(validate(example), `${schema.$id}#${pointer} example ${i}: ${JSON.stringify(validate.errors ?? [])}`);
        }
      }
    }
    t.ok(checked >= 45, `${checked} examples checked`);
    // The check can fail: an example broken on purpose is refused.
    const org = { ...exampleOf('organizations/organization.json') };
    delete org.name;
    t.notOk(all.validator('organizations/organization.json')(org), 'an organization without a name is refused');
    t.notOk(all.validator('sandbox/events/ADMIT.json')({ ...exampleOf('sandbox/events/ADMIT.json'), testing_period: { start: 'soon' } }), 'an ADMIT without a valid period is refused');
  });

  t.test('every payload callers send has an example: the inputs, each application and each event callers fire', async (t) => {
    const inputs = ['organizations/organization.json', 'organizations/accreditation.json', 'principals/principal.json', 'products/product.json'];
    const applications = files.filter((f) => /^[a-z]+\/application\.json$/.test(f.$id!)).map((f) => f.$id!);
    t.equal(applications.length, 3);
    const { workflows } = await import('../../workflows/index.js');
    const events = workflows.flatMap((wf) =>
      Object.entries(wf.events)
        .filter(([type, e]) => e.payload && !e.internal && !e.roles.includes('system') && type !== 'REPLACE_APPLICATION')
        .map(([type]) => `${wf.schemaDir}/events/${type}.json`),
    );
    t.ok(events.length >= 30);
    for (const id of [...inputs, ...applications, ...events]) t.ok((files.find((f) => f.$id === id)?.examples as unknown[] | undefined)?.length, `${id} has an example`);
  });

  t.test('the service accepts the main examples as they are, and the served document shows them', async (t) => {
    // The examples' dates lie in 2027-2029: the service's clock is set before them, whatever day this runs on.
    const ta = await buildTestApp(t, { clock: new TestClock(Date.parse('2026-12-01T00:00:00Z')) });
    const post = async (url: string, token: string, payload: unknown) => ta.req({ method: 'POST', url, token, payload: payload as never });

    const org = await post('/v1/organizations', ta.adminToken, exampleOf('organizations/organization.json'));
    t.equal(org.statusCode, 201, org.body);
    const principal = await post('/v1/principals', ta.adminToken, { ...exampleOf('principals/principal.json'), organization_id: org.json().id });
    t.equal(principal.statusCode, 201, principal.body);
    const applicant = principal.json().token as string;
    const product = await post('/v1/products', applicant, exampleOf('products/product.json'));
    t.equal(product.statusCode, 201, product.body);
    t.same(Object.keys(product.json()).filter((k) => k in exampleOf('products/product.json')), Object.keys(exampleOf('products/product.json')), 'the product answer holds every field of the example');
    const product_id = product.json().id as string;
    for (const [kind, dir] of [['sandbox-cases', 'sandbox'], ['certification-cases', 'certification'], ['genai-projects', 'genai']]) {
      const app = exampleOf(`${dir}/application.json`);
      const created = await post(`/v1/${kind}`, applicant, 'product_id' in app ? { ...app, product_id } : app);
      t.equal(created.statusCode, 201, `${kind}: ${created.body}`);
    }
    const lab = await post('/v1/organizations', ta.adminToken, { name: 'Guangdong AI Testing Centre', kind: 'lab', region: 'hong_kong', registration_number: '12345678', contact_email: 'lab@example.hk' });
    t.equal(lab.statusCode, 201, lab.body);
    const regulator = (await post('/v1/principals', ta.adminToken, { role: 'regulator' })).json().token as string;
    const accredited = await ta.req({ method: 'PUT', url: `/v1/organizations/${lab.json().id}/accreditation`, token: regulator, payload: exampleOf('organizations/accreditation.json') as never });
    t.equal(accredited.statusCode, 200, accredited.body);

    const doc = (await ta.req({ method: 'GET', url: '/documentation/json' })).json();
    const shown = (title: string) => doc.components.schemas[title]?.examples;
    for (const title of ['OrganizationInput', 'PrincipalInput', 'ProductInput', 'SandboxApplication', 'CertificationApplication', 'GenaiApplication', 'SandboxAdmitPayload']) {
      t.ok(shown(title)?.length, `${title} carries its example in the document`);
    }
  });
});
