import { buildTestApp } from '../helpers/app.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('workflows and the OpenAPI document are derived from the machine', async (t) => {
    const ta = await buildTestApp(t);

    t.test('GET /v1/workflows/sandbox-cases describes states, events, roles, transitions and final states', async (t) => {
      const r = await ta.req({ method: 'GET', url: '/v1/workflows/sandbox-cases' });
      t.equal(r.statusCode, 200);
      const d = r.json();
      t.equal(d.initial, 'draft');
      t.same(d.states, Object.keys(sandboxWorkflow.machine.root.states));
      t.same([...d.final_states].sort(), ['exited', 'lapsed', 'rejected', 'terminated', 'withdrawn']);
      const events = Object.fromEntries(d.events.map((e: any) => [e.type, e]));
      t.same(events.ADMIT.roles, ['regulator']);
      t.equal(events.ADMIT.payload_schema, 'sandbox/events/ADMIT.json');
      t.same(events.INFO_LAPSED.roles, ['system']);
      t.notOk(events.REPLACE_APPLICATION, 'internal events are not published');
      t.ok(d.transitions.some((x: any) => x.from === 'testing' && x.event === 'REPORT_INCIDENT' && x.to === 'suspended' && x.guard === 'criticalIncident'));
      t.ok(d.transitions.some((x: any) => x.from === 'under_review' && x.event === 'ADMIT' && x.to === 'admitted'));
      const withdrawFrom = d.transitions.filter((x: any) => x.event === 'WITHDRAW').map((x: any) => x.from).sort();
      t.same(withdrawFrom, ['draft', 'info_requested', 'submitted', 'under_review']);
    });

    t.test('GET /v1/workflows lists every kind', async (t) => {
      const r = (await ta.req({ method: 'GET', url: '/v1/workflows' })).json();
      t.ok(r.items.some((w: any) => w.kind === 'sandbox-cases'));
    });

    t.test('?format=mermaid is a stateDiagram-v2', async (t) => {
      const r = await ta.req({ method: 'GET', url: '/v1/workflows/sandbox-cases?format=mermaid' });
      t.equal(r.statusCode, 200);
      t.match(r.headers['content-type'], /text\/plain/);
      t.match(r.body, /^stateDiagram-v2\n/);
      t.match(r.body, /\[\*\] --> draft/);
      t.match(r.body, /under_review --> admitted: ADMIT \(regulator\)/);
      t.match(r.body, /exited --> \[\*\]/);
      t.equal((await ta.req({ method: 'GET', url: '/v1/workflows/nope' })).statusCode, 400);
      t.equal((await ta.req({ method: 'GET', url: '/v1/workflows/sandbox-cases?format=svg' })).statusCode, 400);
    });

    t.test('the OpenAPI document lists each event callers fire, a component of its own told apart by type, with its payload schema', async (t) => {
      const d = (await ta.req({ method: 'GET', url: '/documentation/json' })).json();
      const op = d.paths['/v1/sandbox-cases/{id}/events'].post;
      const body = op.requestBody.content['application/json'].schema;
      const component = (ref: string) => d.components.schemas[ref.replace('#/components/schemas/', '')];
      t.ok(body.oneOf.every((a: any) => /^#\/components\/schemas\/SandboxCase[A-Za-z]+Event$/.test(a.$ref)), 'each alternative a $ref to a component');
      const alternatives = body.oneOf.map((a: any) => component(a.$ref));
      const types = alternatives.map((a: any) => a.properties.type.enum[0]).sort();
      const callable = Object.entries(sandboxWorkflow.events).filter(([, e]) => !e.internal && e.roles.some((r) => r !== 'system')).map(([type]) => type).sort();
      t.ok(callable.length >= 10);
      t.same(types, callable, 'exactly the events callers may fire');
      t.notOk(types.includes('PERIOD_ENDED'), 'no system event');
      t.equal(body.discriminator.propertyName, 'type');
      t.same(Object.keys(body.discriminator.mapping).sort(), callable, 'the discriminator maps each type');
      for (const [type, ref] of Object.entries(body.discriminator.mapping as Record<string, string>)) t.equal(component(ref).properties.type.enum[0], type, `${type} maps to its own component`);
      const admit = component(body.discriminator.mapping.ADMIT);
      t.equal(admit.title, 'SandboxCaseAdmitEvent');
      t.same(admit.required, ['type', 'payload']);
      const target = component(admit.properties.payload.$ref);
      t.ok(target.properties.testing_period, 'the ADMIT payload schema is the one in schemas/sandbox/events/ADMIT.json');
      t.ok(d.paths['/v1/sandbox-cases'].post.requestBody.content['application/json'].schema);
    });

    t.test('every $ref in the OpenAPI document points at a component that exists', async (t) => {
      const d = (await ta.req({ method: 'GET', url: '/documentation/json' })).json();
      const refs = new Set<string>();
      const walk = (o: unknown): void => {
        if (Array.isArray(o)) return o.forEach(walk);
        if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) k === '$ref' ? refs.add(String(v)) : walk(v);
      };
      walk(d);
      t.ok(refs.size > 20);
      const dangling = [...refs].filter((r) => !r.startsWith('#/components/schemas/') || !d.components.schemas[r.slice('#/components/schemas/'.length)]);
      t.same(dangling, []);
    });
  });
});
