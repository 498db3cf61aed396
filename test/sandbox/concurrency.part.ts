import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { day, sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('concurrent events on one case', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandboxCast(ta);
    const R = s.regulator.token;
    const A = s.applicant.token;

    t.test('24 concurrent conflicting decisions: exactly one wins, 23 × 409, one decision in the history', async (t) => {
      const c = await s.caseIn('under_review');
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          i % 2 === 0 ? s.fire(c.id, R, 'ADMIT', s.admitPayload()) : s.fire(c.id, R, 'REJECT', { reason: `reason ${i}` }),
        ),
      );
      const codes = results.map((r) => r.statusCode);
      t.equal(codes.filter((x) => x === 200).length, 1, `one 200, got ${codes.join(',')}`);
      t.equal(codes.filter((x) => x === 409).length, 23);
      for (const r of results.filter((r) => r.statusCode === 409)) t.equal(r.json().code, 'invalid_transition');
      const h = await s.history(c.id);
      const decisions = h.filter((e) => e.type === 'ADMIT' || e.type === 'REJECT');
      t.equal(decisions.length, 1);
      const winner = results.find((r) => r.statusCode === 200)!.json();
      t.equal(winner.event.type, decisions[0].type);
      t.equal((await s.get(c.id)).version, h.length);
    });

    t.test('24 concurrent decisions with the same If-Match: one 200, the rest 412 or 409', async (t) => {
      const c = await s.caseIn('under_review');
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          s.fire(c.id, R, i % 2 ? 'ADMIT' : 'REJECT', i % 2 ? s.admitPayload() : { reason: 'r' }, { 'if-match': '"3"' }),
        ),
      );
      const codes = results.map((r) => r.statusCode);
      t.equal(codes.filter((x) => x === 200).length, 1);
      t.equal(codes.filter((x) => x === 412 || x === 409).length, 23);
      t.equal((await s.history(c.id)).length, 4);
    });

    t.test('30 concurrent reports are all kept, each in its own version', async (t) => {
      const c = await s.caseIn('testing');
      const before = (await s.get(c.id)).version;
      ta.clock.advance(day);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          s.fire(c.id, A, 'SUBMIT_REPORT', { period_start: s.iso(-day), period_end: s.iso(0), summary: `report ${i}` }),
        ),
      );
      t.same(results.map((r) => r.statusCode), Array(30).fill(200));
      const got = await s.get(c.id);
      t.equal(got.record.reports.count, 30);
      const summaries = (await s.history(c.id)).filter((e) => e.type === 'SUBMIT_REPORT').map((e) => e.payload.summary);
      t.equal(summaries.length, 30, 'thirty reports in the history');
      t.same(new Set(summaries).size, 30);
      t.equal(got.version, before + 30);
      const versions = results.map((r) => r.json().case.version).sort((a: number, b: number) => a - b);
      t.same(versions, Array.from({ length: 30 }, (_, i) => before + 1 + i));
      const v = (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R })).json();
      t.equal(v.ok, true, JSON.stringify(v.failures));
    });

    t.test('concurrent case creation gives distinct, gap-free numbers', async (t) => {
      const made = await Promise.all(Array.from({ length: 20 }, () => s.create()));
      const nums = made.map((m) => Number(m.number.slice(-6))).sort((a, b) => a - b);
      t.equal(new Set(nums).size, 20);
      t.equal(nums.at(-1)! - nums[0]!, 19);
      const [{ count }] = (await sql<{ count: string }>`select count(*)::text as count from cases where number like ${'SBX-%'}`.execute(ta.app.db)).rows;
      t.ok(Number(count) >= 20);
    });
  });
});
