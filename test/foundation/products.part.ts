import { buildTestApp, fixtures } from '../helpers/app.js';
import { Schemas } from '../../src/schemas.js';
import { assertProblem, countRows, genaiBlock, productBody, robotBlock } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const token = f.applicant.token as string;
  const post = (payload: unknown) => ta.req({ method: 'POST', url: '/v1/products', token, payload: payload as never });
  const storedNamed = (name: string) => ta.database.db.selectFrom('products').selectAll().where('name', '=', name).executeTakeFirst();

  t.test('the conditional blocks live in the JSON Schema, not in code', async (t) => {
    const v = new Schemas().validator('products/product.json');
    t.notOk(v(productBody({ kind: 'robot' })), 'the schema alone refuses a robot without its robot block');
    t.notOk(v(productBody({ kind: 'genai_service' })), 'the schema alone refuses a genai_service without its genai block');
    t.ok(v(productBody({ kind: 'robot', robot: robotBlock })));
    t.ok(v(productBody({ kind: 'genai_service', genai: genaiBlock })));
  });

  t.test('a robot without its robot block is refused, naming body/robot, and not stored', async (t) => {
    assertProblem(t, await post(productBody({ name: 'Bare robot', kind: 'robot' })), 400, 'validation_failed', 'body/robot');
    t.equal(await storedNamed('Bare robot'), undefined);
  });

  t.test('a genai_service without its genai block is refused, naming body/genai, and not stored', async (t) => {
    assertProblem(t, await post(productBody({ name: 'Bare chatbot', kind: 'genai_service' })), 400, 'validation_failed', 'body/genai');
    t.equal(await storedNamed('Bare chatbot'), undefined);
  });

  t.test('a genai_service with a robot block instead is refused', async (t) => {
    assertProblem(t, await post(productBody({ kind: 'genai_service', robot: robotBlock })), 400, 'validation_failed', 'body/genai');
  });

  t.test('an incomplete block is refused, naming the missing field inside it', async (t) => {
    const { human_collaboration: _, ...partial } = robotBlock;
    assertProblem(t, await post(productBody({ kind: 'robot', robot: partial })), 400, 'validation_failed', 'body/robot/human_collaboration');
    assertProblem(t, await post(productBody({ kind: 'genai_service', genai: { filing_number: 'X1' } })), 400, 'validation_failed', 'body/genai/foundation_model');
    assertProblem(t, await post(productBody({ kind: 'robot', robot: { ...robotBlock, payload_kg: -1 } })), 400, 'validation_failed', 'body/robot/payload_kg');
    assertProblem(t, await post(productBody({ kind: 'robot', robot: { ...robotBlock, human_collaboration: 'yes' } })), 400, 'validation_failed', 'body/robot/human_collaboration');
  });

  t.test('a robot with its block and a genai_service with its block are stored as given', async (t) => {
    const robot = await post(productBody({ name: 'Ward robot', kind: 'robot', domains: ['healthcare', 'elderly_care'], robot: robotBlock }));
    t.equal(robot.statusCode, 201, robot.body);
    t.match(robot.json(), { name: 'Ward robot', kind: 'robot', organization_id: f.applicantOrg.id, robot: robotBlock, domains: ['healthcare', 'elderly_care'] });
    t.equal(robot.headers.location, `/v1/products/${robot.json().id}`);
    const genai = await post(productBody({ name: 'Civic chatbot', kind: 'genai_service', genai: genaiBlock }));
    t.equal(genai.statusCode, 201, genai.body);
    t.match(genai.json(), { kind: 'genai_service', genai: genaiBlock });
    const row = await storedNamed('Ward robot');
    t.match(row, { organization_id: f.applicantOrg.id, kind: 'robot', risk_level: 'high', version: '1.0' });
    t.match(row!.body, { robot: robotBlock });
    const got = await ta.req({ method: 'GET', url: `/v1/products/${robot.json().id}`, token });
    t.same(got.json(), robot.json(), 'GET answers what POST answered');
  });

  t.test('other kinds need neither block', async (t) => {
    for (const kind of ['ai_system', 'embodied_ai']) t.equal((await post(productBody({ kind }))).statusCode, 201, kind);
  });

  t.test('unknown fields are refused, at the top and inside the blocks', async (t) => {
    const before = await countRows(ta, 'products');
    const res = await post(productBody({ kind: 'genai_service', genai: { ...genaiBlock, parameters_b: 72 }, price: 10 }));
    const p = assertProblem(t, res, 400, 'validation_failed', 'body/price');
    t.ok(p.errors!.some((e) => e.path === 'body/genai/parameters_b'), 'the unknown field inside genai is named too');
    assertProblem(t, await post(productBody({ kind: 'robot', robot: { ...robotBlock, colour: 'red' } })), 400, 'validation_failed', 'body/robot/colour');
    assertProblem(t, await post(productBody({ id: '00000000-0000-4000-8000-000000000000' })), 400, 'validation_failed', 'body/id');
    t.equal(await countRows(ta, 'products'), before, 'nothing stored');
  });

  t.test('enums, lists and required fields are checked, each named', async (t) => {
    const before = await countRows(ta, 'products');
    assertProblem(t, await post(productBody({ kind: 'drone' })), 400, 'validation_failed', 'body/kind');
    assertProblem(t, await post(productBody({ risk_level: 'extreme' })), 400, 'validation_failed', 'body/risk_level');
    assertProblem(t, await post(productBody({ domains: [] })), 400, 'validation_failed', 'body/domains');
    assertProblem(t, await post(productBody({ domains: ['healthcare', 'healthcare'] })), 400, 'validation_failed', 'body/domains');
    assertProblem(t, await post(productBody({ domains: ['space'] })), 400, 'validation_failed', 'body/domains/0');
    assertProblem(t, await post(productBody({ version: ' ' })), 400, 'validation_failed', 'body/version');
    const { intended_use: _, ...missing } = productBody();
    assertProblem(t, await post(missing), 400, 'validation_failed', 'body/intended_use');
    assertProblem(t, await post(productBody({ name: 42 })), 400, 'validation_failed', 'body/name');
    t.equal(await countRows(ta, 'products'), before, 'nothing stored');
  });

  t.test('query strings are checked: paths name the query field', async (t) => {
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products?limit=0', token }), 400, 'validation_failed', 'query/limit');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products?limit=abc', token }), 400, 'validation_failed', 'query/limit');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products?kind=drone', token }), 400, 'validation_failed', 'query/kind');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products?colour=red', token }), 400, 'validation_failed', 'query/colour');
    assertProblem(t, await ta.req({ method: 'GET', url: '/v1/products?cursor=bm90LWEtY3Vyc29y', token }), 400, 'validation_failed', 'query/cursor');
    const forged = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');
    const badId = await ta.req({ method: 'GET', url: `/v1/products?cursor=${forged('2026-01-01T00:00:00Z', '-'.repeat(36))}`, token });
    assertProblem(t, badId, 400, 'validation_failed');
    const farDate = await ta.req({ method: 'GET', url: `/v1/organizations?cursor=${forged('+275760-09-13T00:00:00.000Z', '00000000-0000-4000-8000-000000000000')}`, token });
    t.ok(farDate.statusCode < 500, `a cursor far in the future is not a 5xx (${farDate.statusCode})`);
    const kinds = await ta.req({ method: 'GET', url: '/v1/products?kind=robot', token });
    t.ok(kinds.json().items.length > 0 && kinds.json().items.every((p: { kind: string }) => p.kind === 'robot'), 'kind filter');
  });
});
