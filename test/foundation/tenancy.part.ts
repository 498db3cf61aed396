import { buildTestApp, fixtures } from '../helpers/app.js';
import { assertProblem } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const f = await fixtures(ta);
  const a = { org: f.applicantOrg, token: f.applicant.token as string };
  const b = { org: f.otherOrg, token: f.otherApplicant.token as string };
  const aProducts = [await f.product(a.token, { name: 'A one' }), await f.product(a.token, { name: 'A two', kind: 'robot', robot: { payload_kg: 1, max_speed_mps: 1, operating_environment: 'factory', human_collaboration: false } })];
  const bProduct = await f.product(b.token, { name: 'B one' });
  const lab = await f.org({ kind: 'lab' });
  const labToken = (await f.principal('lab', lab.id)).token as string;

  t.test("applicant B gets 404 for applicant A's product, the same answer as for no product at all", async (t) => {
    const other = await ta.req({ method: 'GET', url: `/v1/products/${aProducts[0].id}`, token: b.token });
    const none = await ta.req({ method: 'GET', url: '/v1/products/00000000-0000-4000-8000-000000000000', token: b.token });
    const p1 = assertProblem(t, other, 404, 'not_found');
    const p2 = assertProblem(t, none, 404, 'not_found');
    t.equal(p1.detail, p2.detail, 'the answer does not reveal that the product exists');
    t.notMatch(other.body, aProducts[0].name, "nothing of A's product leaks");
  });

  t.test("applicant A still reads its own product; the regulator reads everyone's", async (t) => {
    const own = await ta.req({ method: 'GET', url: `/v1/products/${aProducts[0].id}`, token: a.token });
    t.equal(own.statusCode, 200);
    t.equal(own.json().organization_id, a.org.id);
    const reg = await ta.req({ method: 'GET', url: `/v1/products/${bProduct.id}`, token: f.regulator.token });
    t.equal(reg.statusCode, 200);
  });

  t.test("a lab not assigned to any case gets 404 for an applicant's product", async (t) => {
    assertProblem(t, await ta.req({ method: 'GET', url: `/v1/products/${aProducts[0].id}`, token: labToken }), 404, 'not_found');
  });

  t.test("applicant B gets 404 for applicant A's organization", async (t) => {
    const res = await ta.req({ method: 'GET', url: `/v1/organizations/${a.org.id}`, token: b.token });
    assertProblem(t, res, 404, 'not_found');
    t.notMatch(res.body, a.org.name);
    const lab404 = await ta.req({ method: 'GET', url: `/v1/organizations/${a.org.id}`, token: labToken });
    assertProblem(t, lab404, 404, 'not_found');
  });

  t.test("applicant B's product list holds only B's products, even when it asks for A's", async (t) => {
    const list = await ta.req({ method: 'GET', url: '/v1/products', token: b.token });
    t.equal(list.statusCode, 200);
    t.same(list.json().items.map((p: { id: string }) => p.id), [bProduct.id]);
    t.equal(list.json().next_cursor, null);
    const asked = await ta.req({ method: 'GET', url: `/v1/products?organization_id=${a.org.id}`, token: b.token });
    t.equal(asked.statusCode, 200);
    t.same(asked.json().items, [], "filtering on A's organization shows B nothing");
  });

  t.test("applicant A's product list holds its two products, pages included", async (t) => {
    const first = await ta.req({ method: 'GET', url: '/v1/products?limit=1', token: a.token });
    t.equal(first.json().items.length, 1);
    t.type(first.json().next_cursor, 'string');
    const second = await ta.req({ method: 'GET', url: `/v1/products?limit=1&cursor=${first.json().next_cursor}`, token: a.token });
    t.equal(second.json().items.length, 1);
    t.equal(second.json().next_cursor, null);
    t.same([first.json().items[0].id, second.json().items[0].id].sort(), aProducts.map((p) => p.id).sort());
    for (const p of [...first.json().items, ...second.json().items]) t.equal(p.organization_id, a.org.id);
  });

  t.test("applicant B's organization list holds only B's organization", async (t) => {
    const list = await ta.req({ method: 'GET', url: '/v1/organizations', token: b.token });
    t.equal(list.statusCode, 200);
    t.same(list.json().items.map((o: { id: string }) => o.id), [b.org.id]);
    const labList = await ta.req({ method: 'GET', url: '/v1/organizations?kind=enterprise', token: labToken });
    t.same(labList.json().items, [], 'a lab sees no enterprise');
  });

  t.test('the regulator lists every organization and product', async (t) => {
    const orgs = await ta.req({ method: 'GET', url: '/v1/organizations?limit=200', token: f.regulator.token });
    const ids = orgs.json().items.map((o: { id: string }) => o.id);
    for (const id of [a.org.id, b.org.id, lab.id]) t.ok(ids.includes(id), `lists ${id}`);
    const products = await ta.req({ method: 'GET', url: '/v1/products?limit=200', token: f.regulator.token });
    t.equal(products.json().items.length, 3);
    const onlyA = await ta.req({ method: 'GET', url: `/v1/products?organization_id=${a.org.id}`, token: f.regulator.token });
    t.equal(onlyA.json().items.length, 2);
  });

  t.test('a product is registered to the caller’s organization, whatever the body says', async (t) => {
    const res = await ta.req({
      method: 'POST',
      url: '/v1/products',
      token: b.token,
      payload: { organization_id: a.org.id, name: 'Planted', version: '1', kind: 'ai_system', description: 'd', intended_use: 'u', domains: ['other'], risk_level: 'low' },
    });
    assertProblem(t, res, 400, 'validation_failed', 'body/organization_id');
    t.equal(await ta.database.db.selectFrom('products').select('id').where('name', '=', 'Planted').executeTakeFirst(), undefined, 'nothing stored');
  });
});
