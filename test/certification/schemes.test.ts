import t from 'tap';
import { buildTestApp } from '../helpers/app.js';

const ta = await buildTestApp(t);

t.test('the seeded schemes are public, with their product kinds, validity and criteria', async (t) => {
  const r = await ta.req({ method: 'GET', url: '/v1/schemes' });
  t.equal(r.statusCode, 200);
  const { items, next_cursor } = r.json();
  t.equal(next_cursor, null);
  t.same(items.map((s: any) => s.code), ['ai-ethics', 'ai-safety-risk', 'genai-security', 'robot-safety']);
  for (const s of items) {
    t.same(Object.keys(s).sort(), ['code', 'criteria', 'description', 'product_kinds', 'standards', 'title', 'title_zh', 'validity_months'], s.code);
    t.ok(s.validity_months >= 12, `${s.code} has a validity`);
    t.ok(s.criteria.some((c: any) => c.mandatory), `${s.code} has mandatory criteria`);
    t.equal(new Set(s.criteria.map((c: any) => c.id)).size, s.criteria.length, `${s.code} criterion ids are unique`);
    for (const c of s.criteria) t.match(c, { id: /^[a-z0-9-]{1,64}$/, title: String, mandatory: Boolean });
  }
  const byCode = Object.fromEntries(items.map((s: any) => [s.code, s]));
  t.match(byCode['robot-safety'].standards.join(' '), /ISO 10218-1.*ISO 10218-2.*ISO 13482/);
  t.ok(byCode['genai-security'].standards.includes('GB/T 45654-2025'));
  t.same(byCode['genai-security'].product_kinds, ['genai_service']);
  const ids = (code: string) => byCode[code].criteria.map((c: any) => c.id);
  for (const id of ['emergency-stop', 'speed-separation-monitoring', 'power-force-limiting']) t.ok(ids('robot-safety').includes(id), id);
  for (const id of ['corpus-source-safety', 'generated-content-safety', 'refusal-behaviour', 'content-labelling']) t.ok(ids('genai-security').includes(id), id);
  for (const id of ['fairness', 'human-oversight', 'accountability', 'privacy']) t.ok(ids('ai-ethics').includes(id), id);
});

t.test('one scheme by code; unknown codes are 404', async (t) => {
  const r = await ta.req({ method: 'GET', url: '/v1/schemes/robot-safety' });
  t.equal(r.statusCode, 200);
  t.match(r.json(), { code: 'robot-safety', title_zh: '机器人安全', product_kinds: ['robot', 'embodied_ai'], validity_months: 36 });
  const missing = await ta.req({ method: 'GET', url: '/v1/schemes/no-such-scheme' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'not_found');
});

t.test('schemes filter by product kind and page by code', async (t) => {
  const genai = await ta.req({ method: 'GET', url: '/v1/schemes?product_kind=genai_service' });
  t.same(genai.json().items.map((s: any) => s.code), ['ai-ethics', 'ai-safety-risk', 'genai-security']);
  const first = (await ta.req({ method: 'GET', url: '/v1/schemes?limit=3' })).json();
  t.equal(first.items.length, 3);
  const second = (await ta.req({ method: 'GET', url: `/v1/schemes?limit=3&cursor=${first.next_cursor}` })).json();
  t.same(second, { items: [second.items[0]], next_cursor: null });
  t.equal(second.items[0].code, 'robot-safety');
  t.equal((await ta.req({ method: 'GET', url: '/v1/schemes?product_kind=toaster' })).statusCode, 400);
  t.equal((await ta.req({ method: 'GET', url: '/v1/schemes?cursor=IS0t' })).statusCode, 400);
});

t.test('the OpenAPI document and the workflow description include certification', async (t) => {
  const doc = await ta.req({ method: 'GET', url: '/documentation/json' });
  t.equal(doc.statusCode, 200);
  const paths = Object.keys(doc.json().paths);
  for (const p of ['/v1/schemes', '/v1/schemes/{code}', '/v1/register/certificates', '/v1/register/certificates/{number}', '/v1/certification-cases/{id}/events']) t.ok(paths.includes(p), p);
  const wf = (await ta.req({ method: 'GET', url: '/v1/workflows/certification-cases' })).json();
  t.same(wf.final_states.sort(), ['expired', 'not_certified', 'revoked', 'withdrawn']);
  t.ok(wf.transitions.some((x: any) => x.from === 'certified' && x.event === 'POST_SURVEILLANCE' && x.to === 'suspended' && x.guard === 'labAccredited and surveillanceFailed'));
  const mermaid = await ta.req({ method: 'GET', url: '/v1/workflows/certification-cases?format=mermaid' });
  t.match(mermaid.body, /results_posted --> certified: CERTIFY \(regulator\)/);
});
