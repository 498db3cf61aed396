import { buildTestApp } from '../helpers/app.js';
import { english } from '../workbench/english.js';
import * as criteriaTitlesZh from '../../migrations/2026-12-05T09-criteria-titles-zh.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
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
      for (const c of s.criteria) {
        t.same(Object.keys(c).sort(), ['id', 'mandatory', 'title', 'title_zh'], `${s.code}/${c.id} fields`);
        t.match(c, { id: /^[a-z0-9-]{1,64}$/, title: String, title_zh: /\p{Script=Han}/u, mandatory: Boolean });
      }
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
    t.same(r.json().criteria.find((c: any) => c.id === 'emergency-stop'), { id: 'emergency-stop', title: 'Emergency stop function (category 0 or 1) reachable and effective', title_zh: '急停功能（0类或1类停止）可触及且有效', mandatory: true });
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

  t.test('every seeded criterion has a Chinese title in the migrated database, in Chinese but for names of standards', async (t) => {
    const rows = await ta.app.db.selectFrom('schemes').select(['code', 'criteria']).orderBy('code').execute();
    t.equal(rows.length, 4);
    let n = 0;
    for (const row of rows) {
      for (const c of row.criteria as Array<{ id: string; title: string; title_zh?: unknown }>) {
        n++;
        t.ok(typeof c.title_zh === 'string' && /\p{Script=Han}/u.test(c.title_zh), `${row.code}/${c.id} has a Chinese title`);
        // PL d / SIL 2: the performance level and safety integrity level of the standards (GB/T 16855.1, GB/T 20438).
        t.same(english(String(c.title_zh), ['SIL']), [], `${row.code}/${c.id}: no English words`);
      }
    }
    t.equal(n, 34, 'the 34 seeded criteria');
  });

  t.test('the migration sets only the seeded schemes\' named criteria, and down removes the key', async (t) => {
    const db = ta.app.db as any;
    const criteriaOf = async (code: string) => (await db.selectFrom('schemes').select('criteria').where('code', '=', code).executeTakeFirstOrThrow()).criteria;
    const other = { code: 'test-other-scheme', title: 'Other', product_kinds: '["robot"]', standards: '[]', validity_months: 12, criteria: JSON.stringify([{ id: 'emergency-stop', title: 'Other stop', mandatory: true }]) };
    await db.insertInto('schemes').values(other).execute();
    t.teardown(() => db.deleteFrom('schemes').where('code', '=', other.code).execute());
    const seeded = await criteriaOf('robot-safety');
    await criteriaTitlesZh.down(db);
    const down = await criteriaOf('robot-safety');
    t.same(down, seeded.map(({ title_zh: _zh, ...rest }: any) => rest), 'down: the criteria as seeded, without title_zh');
    t.notOk(down.some((c: any) => 'title_zh' in c), 'no key left');
    const served = (await ta.req({ method: 'GET', url: '/v1/schemes/robot-safety' })).json().criteria;
    t.ok(served.every((c: any) => c.title_zh === null), 'served as null where there is none');
    await criteriaTitlesZh.up(db);
    t.same(await criteriaOf('robot-safety'), seeded, 'up again: as migrated');
    t.same(await criteriaOf(other.code), JSON.parse(other.criteria), 'another scheme’s criteria untouched, though an id matches');
  });
});
