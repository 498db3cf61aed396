// GET /v1/:kind/:id/events (SPEC §2): a case's history, oldest first, in keyset pages, filtered by
// event type; what accumulates in a case is read here, not kept in its record, so the filter must be
// served by an index whatever the length of the history.
import { CompiledQuery, sql } from '../../src/db/kysely.js';
import { historyStatement } from '../../src/cases/read.js';
import { buildTestApp, fixtures, type TestApp } from '../helpers/app.js';
import { assertProblem } from '../foundation/support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  type Item = { seq: number; type: string; actor: { principal_id: string | null; role: string }; from_state: string | null; to_state: string | null; payload: any; at: string; prev_hash: string; hash: string };

  const DAY = 86_400_000;

  /** A sandbox case in testing with 7 minor incidents, one suspension and its lifting in between. */
  async function caseWithHistory(ta: TestApp) {
    const f = await fixtures(ta);
    const product = await f.product(f.applicant.token);
    const created = await ta.req({
      method: 'POST',
      url: '/v1/sandbox-cases',
      token: f.applicant.token,
      payload: {
        product_id: product.id,
        scenarios: ['hospital triage'],
        test_scope: { regions: ['Shenzhen'], max_users: 100, duration_months: 6 },
        risks: [{ description: 'misdiagnosis', level: 'high' }],
        safeguards: ['clinician review'],
        contact: { name: 'Li Lei', email: 'li@example.cn' },
      },
    });
    if (created.statusCode !== 201) throw new Error(created.body);
    const id = created.json().id as string;
    const fire = async (token: string, type: string, payload?: unknown) => {
      const r = await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } });
      if (r.statusCode !== 200) throw new Error(`${type}: ${r.body}`);
    };
    const at = (days: number) => new Date(ta.clock.now().getTime() + days * DAY).toISOString();
    await fire(f.applicant.token, 'SUBMIT');
    await fire(f.regulator.token, 'START_REVIEW');
    await fire(f.regulator.token, 'ADMIT', { conditions: ['weekly reports'], testing_period: { start: at(1), end: at(200) } });
    await fire(f.applicant.token, 'START_TESTING');
    for (let i = 1; i <= 7; i++) {
      await fire(f.applicant.token, 'REPORT_INCIDENT', { severity: 'minor', occurred_at: at(0), description: `incident ${i}` });
      if (i === 3) {
        await fire(f.regulator.token, 'SUSPEND', { reason: 'look into incident 3' });
        await fire(f.regulator.token, 'REINSTATE');
      }
    }
    return { f, id, url: `/v1/sandbox-cases/${id}/events` };
  }

  /** Every page of a history query, following next_cursor. */
  async function allPages(ta: TestApp, token: string, url: string) {
    const pages: Item[][] = [];
    let next: string | null = url;
    while (next !== null) {
      const r = await ta.req({ method: 'GET', url: next, token });
      if (r.statusCode !== 200) throw new Error(`${next}: ${r.body}`);
      const body = r.json() as { items: Item[]; next_cursor: string | null };
      pages.push(body.items);
      next = body.next_cursor === null ? null : `${url}${url.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(body.next_cursor)}`;
      if (pages.length > 50) throw new Error('the cursor does not advance');
    }
    return pages;
  }

  t.test('the whole history, oldest first, on one page by default', async (t) => {
    const ta = await buildTestApp(t);
    const { f, url } = await caseWithHistory(ta);
    const r = await ta.req({ method: 'GET', url, token: f.applicant.token });
    t.equal(r.statusCode, 200, r.body);
    const body = r.json();
    t.same(Object.keys(body).sort(), ['items', 'next_cursor']);
    t.equal(body.next_cursor, null, 'one page: 14 events under the default limit of 50');
    t.same(body.items.map((e: Item) => e.seq), Array.from({ length: 14 }, (_, i) => i + 1), 'every event, in seq order');
    t.equal(body.items[0].type, 'CASE_CREATED');
    t.ok(body.items.slice(1).every((e: Item, i: number) => e.prev_hash === body.items[i].hash), 'one chain: each prev_hash is the previous hash');
  });

  t.test('type= keeps only those events; limit and cursor page through them', async (t) => {
    const ta = await buildTestApp(t);
    const { f, url } = await caseWithHistory(ta);
    const whole = (await ta.req({ method: 'GET', url, token: f.regulator.token })).json().items as Item[];

    const pages = await allPages(ta, f.regulator.token, `${url}?type=REPORT_INCIDENT&limit=3`);
    t.same(pages.map((p) => p.length), [3, 3, 1], 'pages of 3, the last one short, then no cursor');
    const incidents = pages.flat();
    t.same(incidents, whole.filter((e) => e.type === 'REPORT_INCIDENT'), 'exactly the incidents of the whole history, as they are there');
    t.same(incidents.map((e) => e.payload.description), Array.from({ length: 7 }, (_, i) => `incident ${i + 1}`), 'oldest first');

    const two = (await allPages(ta, f.regulator.token, `${url}?type=SUSPEND,REPORT_INCIDENT,SUSPEND&limit=200`)).flat();
    t.same(two, whole.filter((e) => e.type === 'SUSPEND' || e.type === 'REPORT_INCIDENT'), 'several types, a repeated one once, in seq order');

    const unfiltered = await allPages(ta, f.regulator.token, `${url}?limit=5`);
    t.same(unfiltered.map((p) => p.length), [5, 5, 4]);
    t.same(unfiltered.flat(), whole, 'the unfiltered pages are the whole history');

    const exact = await allPages(ta, f.regulator.token, `${url}?type=REPORT_INCIDENT&limit=7`);
    t.same(exact.map((p) => p.length), [7], 'a page that ends the list exactly has no next cursor');

    const none = await ta.req({ method: 'GET', url: `${url}?type=CONCLUDE`, token: f.regulator.token });
    t.same(none.json(), { items: [], next_cursor: null }, 'an event of the kind that has not happened: an empty page');
    const system = await ta.req({ method: 'GET', url: `${url}?type=CASE_CREATED,PERIOD_ENDED`, token: f.regulator.token });
    t.same(system.json().items.map((e: Item) => e.type), ['CASE_CREATED'], 'CASE_CREATED and system events may be asked for');
  });

  t.test('bad filters and cursors are 400s naming the query field; others\' cases stay 404', async (t) => {
    const ta = await buildTestApp(t);
    const { f, url } = await caseWithHistory(ta);
    const get = (q: string, token = f.regulator.token) => ta.req({ method: 'GET', url: `${url}${q}`, token });
    assertProblem(t, await get('?type=CERTIFY'), 400, 'validation_failed', 'query/type');
    const both = assertProblem(t, await get('?type=REPORT_INCIDENT,NO_SUCH_EVENT,ALSO_NOT'), 400, 'validation_failed', 'query/type');
    t.match(both.detail, /NO_SUCH_EVENT, ALSO_NOT/, 'the detail names every unknown type');
    assertProblem(t, await get('?type=report_incident'), 400, 'validation_failed', 'query/type');
    assertProblem(t, await get('?type=REPORT_INCIDENT,'), 400, 'validation_failed', 'query/type');
    assertProblem(t, await get('?type='), 400, 'validation_failed', 'query/type');
    assertProblem(t, await get('?cursor=not-a-cursor'), 400, 'validation_failed', 'query/cursor');
    assertProblem(t, await get(`?cursor=${Buffer.from('[0]').toString('base64url')}`), 400, 'validation_failed', 'query/cursor');
    assertProblem(t, await get(`?cursor=${Buffer.from('["3"]').toString('base64url')}`), 400, 'validation_failed', 'query/cursor');
    assertProblem(t, await get('?limit=0'), 400, 'validation_failed', 'query/limit');
    assertProblem(t, await get('?limit=201'), 400, 'validation_failed', 'query/limit');
    assertProblem(t, await get('?order=desc'), 400, 'validation_failed');
    const other = await get('?type=REPORT_INCIDENT', f.otherApplicant.token);
    assertProblem(t, other, 404, 'not_found');
  });

  t.test('a type filter is answered from the (chain_id, type, seq) index, not by reading the case\'s other events', async (t) => {
    const ta = await buildTestApp(t);
    // A long history in a chain of its own (6,000 events, mostly reports, a suspension and its lifting
    // every 50), in a transaction that is rolled back: the plan a filter for the rarer events gets once
    // a case has lived that long.
    const chain = '00000000-0000-4000-8000-00000000abcd';
    const plans = await ta.database.db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into audit_events (chain_id, seq, kind, type, actor_role, payload, at, prev_hash, hash)
        select ${chain}, n, 'sandbox-cases', case n % 50 when 0 then 'SUSPEND' when 25 then 'REINSTATE' else 'SUBMIT_REPORT' end,
          'applicant', '{}'::jsonb, now(), 'x', 'y' from generate_series(1, 6000) as n`.execute(trx);
        await sql`analyze audit_events`.execute(trx);
        // The statements the service sends (src/cases/read.ts historyStatement), with its parameters.
        const explain = async (types: string[]) => {
          const q = historyStatement(trx, chain, types, 100, 51);
          const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]));
          return rows.map((row) => row['QUERY PLAN']).join('\n');
        };
        const out = { one: await explain(['SUSPEND']), two: await explain(['SUSPEND', 'REINSTATE']) };
        throw Object.assign(new Error('roll back'), { out });
      })
      .catch((e: { out?: { one: string; two: string } }) => {
        if (!e.out) throw e;
        return e.out;
      });
    t.match(plans.one, /audit_events_chain_type_seq_idx/, `one type: ${plans.one}`);
    t.notMatch(plans.one, /Sort/, 'one type comes out of the index in seq order, no sort');
    t.match(plans.two, /audit_events_chain_type_seq_idx/, `two types: ${plans.two}`);
    t.notMatch(plans.two, /audit_events_chain_seq_key/, 'never a walk of the whole chain');
  });
});
