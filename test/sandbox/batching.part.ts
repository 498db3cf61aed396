// Events of different cases that arrive together share one read and one write (EventBatcher in
// src/cases/batcher.ts). Each is still judged, refused and answered on its own.
import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { openSameDatabase } from '../helpers/app.js';
import { day, sandboxApplication, sandboxCast } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);
  const s = await sandboxCast(ta);
  const A = s.applicant.token;
  const R = s.regulator.token;
  const stats = () => ({ ...ta.app.engine.batcher!.stats });
  // A report covers a period within testing that has ended: casesIn lets a day of testing pass.
  const report = (summary: string) => ({ period_start: s.iso(-day), period_end: s.iso(0), summary });
  const casesIn = async (state: string, n: number) => {
    const cases = await Promise.all(Array.from({ length: n }, () => s.caseIn(state)));
    ta.clock.advance(day);
    return cases;
  };
  /** The summaries of a case's reports, from its history (the record only counts them). */
  const reportSummaries = async (id: string) => (await s.history(id)).filter((e) => e.type === 'SUBMIT_REPORT').map((e) => e.payload.summary as string);
  const verify = async () => (await ta.req({ method: 'GET', url: '/v1/audit/verify', token: R })).json();

  t.test('40 concurrent events on 40 cases: all applied, in fewer statements than events', async (t) => {
    const cases = await casesIn('testing', 40);
    const before = await Promise.all(cases.map((c) => s.get(c.id)));
    const s0 = stats();
    const results = await Promise.all(cases.map((c, i) => s.fire(c.id, A, 'SUBMIT_REPORT', report(`batch report ${i}`))));
    const s1 = stats();
    t.same(results.map((r) => r.statusCode), Array(40).fill(200));
    results.forEach((r, i) => {
      const body = r.json();
      t.equal(body.case.id, cases[i]!.id, `answer ${i} is about its own case`);
      t.equal(body.case.version, before[i].version + 1);
      t.equal(body.event.payload.summary, `batch report ${i}`);
      t.same(body.case.record.reports, { count: 1, latest_at: body.event.at }, 'the answered record counts the report');
    });
    t.equal(s1.events - s0.events, 40, 'every event went through the batcher');
    // The embedded database answers each query before the next request reaches the engine, so
    // there batches hold one event each; on PostgreSQL, events queue while a batch is out.
    if (!ta.database.embedded) t.ok(s1.batches - s0.batches < 40, `${s1.batches - s0.batches} batches for 40 events`);
    t.equal(s1.alone - s0.alone, 0, 'none had to run again alone');
    const after = await Promise.all(cases.map((c) => s.get(c.id)));
    after.forEach((c, i) => t.same(c, results[i]!.json().case, `case ${i} as stored is the case answered`));
    for (const c of cases.slice(0, 5)) {
      const h = await s.history(c.id);
      t.same(h.map((e: { seq: number }) => e.seq), h.map((_: unknown, k: number) => k + 1), 'a gap-free chain');
    }
    for (const [i, c] of cases.entries()) t.same(await reportSummaries(c.id), [`batch report ${i}`], `case ${i}'s history holds its own report`);
    const v = await verify();
    t.equal(v.ok, true, JSON.stringify(v.failures));
  });

  t.test('refusals in a batch are answered alone and change nothing; the others are applied', async (t) => {
    const ok = await casesIn('testing', 8);
    const [review, other] = await Promise.all([s.caseIn('under_review'), s.create(s.otherApplicant.token, sandboxApplication((await s.makeProduct(s.otherApplicant.token)).id))]);
    const fingerprint = async (id: string) => ({ c: await s.get(id), h: (await s.history(id)).length });
    const before = { review: await fingerprint(review.id), okCase: await fingerprint(ok[0]!.id) };
    const results = await Promise.all([
      ...ok.map((c, i) => s.fire(c.id, A, 'SUBMIT_REPORT', report(`kept ${i}`))),
      s.fire(review.id, A, 'SUBMIT_REPORT', report('wrong state')), // 409: not in testing
      s.fire(review.id, R, 'ADMIT', { conditions: 'not a list' }), // 400: payload schema (same case: waits for the next batch)
      s.fire(other.id, A, 'SUBMIT', undefined), // 404: another organization's case
      s.fire('00000000-0000-4000-8000-000000000000', A, 'SUBMIT_REPORT', report('nowhere')), // 404
      s.fire(ok[0]!.id, A, 'SUBMIT_REPORT', report('stale'), { 'if-match': '"1"' }), // 412
      s.fire(ok[1]!.id, R, 'SUBMIT_REPORT', report('regulator')), // 403: not the regulator's event
    ]);
    const codes = results.map((r) => r.statusCode);
    t.same(codes.slice(0, 8), Array(8).fill(200), 'the valid events are applied');
    t.same(codes.slice(8), [409, 400, 404, 404, 412, 403], 'each refusal as it would be alone');
    t.equal(results[8]!.json().code, 'invalid_transition');
    t.equal(results[9]!.json().code, 'validation_failed');
    t.equal(results[12]!.json().code, 'version_mismatch');
    for (const r of results.slice(8)) t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.same(await fingerprint(review.id), before.review, 'the refused case is untouched');
    const okNow = await fingerprint(ok[0]!.id);
    t.equal(okNow.h, before.okCase.h + 1, 'the case with a refused If-Match event got only its valid event');
    const kept = (await s.history(ok[0]!.id)).filter((e) => e.type === 'SUBMIT_REPORT');
    t.same(okNow.c.record.reports, { count: 1, latest_at: kept[0]?.at }, 'one report counted');
    t.same(await reportSummaries(ok[0]!.id), ['kept 0'], 'the stale report is not in its history');
  });

  t.test('an event that breaks the shared statement is refused alone; the rest of its batch is applied', async (t) => {
    const cases = await casesIn('testing', 10);
    const bad = cases[4]!.id;
    // The schemas keep out what PostgreSQL would refuse (NUL, lone surrogates), so the database is
    // made to refuse this one case's update: the batch statement fails as a whole, then each event
    // runs on its own and only this one is refused, as it would have been unbatched.
    await sql`create function refuse_case() returns trigger language plpgsql as $$
    begin raise exception 'refused for the test' using errcode = '22023'; end $$`.execute(ta.app.db);
    await sql.raw(`create trigger refuse_case before update on cases for each row when (new.id = '${bad}') execute function refuse_case()`).execute(ta.app.db);
    t.teardown(async () => {
      await sql`drop trigger refuse_case on cases`.execute(ta.app.db);
      await sql`drop function refuse_case()`.execute(ta.app.db);
    });
    const before = await s.get(bad);
    const s0 = stats();
    const results = await Promise.all(cases.map((c, i) => s.fire(c.id, A, 'SUBMIT_REPORT', report(`fine ${i}`))));
    const codes = results.map((r) => r.statusCode);
    t.equal(codes[4], 400, `the refused update is a 400: ${results[4]!.body}`);
    t.equal(results[4]!.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.same(codes.filter((_, i) => i !== 4), Array(9).fill(200), 'the others are applied');
    // (On the embedded database every batch is one event, which takes the single path anyway.)
    if (!ta.database.embedded) t.ok(stats().alone - s0.alone >= 1, 'the batch ran again one by one');
    t.same(await s.get(bad), before, 'nothing of the refused event is stored');
    t.equal((await s.history(bad)).at(-1).type, 'START_TESTING', 'its history did not move');
    for (const [i, c] of cases.entries()) {
      if (i === 4) continue;
      t.equal((await s.get(c.id)).record.reports.count, 1);
      t.same(await reportSummaries(c.id), [`fine ${i}`]);
    }
    const v = await verify();
    t.equal(v.ok, true, JSON.stringify(v.failures));
  });

  t.test('events of one case keep their order and versions while other cases go in the same batches', async (t) => {
    const [one, ...others] = await casesIn('testing', 6);
    const start = (await s.get(one!.id)).version;
    const results = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => s.fire(one!.id, A, 'SUBMIT_REPORT', report(`same case ${i}`))),
      ...others.map((c, i) => s.fire(c.id, A, 'SUBMIT_REPORT', report(`other ${i}`))),
    ]);
    t.same(results.map((r) => r.statusCode), Array(17).fill(200));
    const versions = results.slice(0, 12).map((r) => r.json().case.version).sort((a: number, b: number) => a - b);
    t.same(versions, Array.from({ length: 12 }, (_, i) => start + 1 + i), 'one version each, no gap');
    const got = await s.get(one!.id);
    t.equal(got.record.reports.count, 12, 'no report lost');
    t.same((await reportSummaries(one!.id)).sort(), Array.from({ length: 12 }, (_, i) => `same case ${i}`).sort(), 'each report in the history once');
  });

  t.test('a batch held up by a row lock does not hold up the events behind it', { skip: ta.database.embedded ? 'needs a second connection (PostgreSQL)' : false }, async (t) => {
    const [locked, free] = await casesIn('testing', 2);
    const other = await openSameDatabase(ta.database, { poolSize: 1 });
    t.teardown(() => other.close());
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let lockedNow!: () => void;
    const isLocked = new Promise<void>((r) => (lockedNow = r));
    const holder = other.db.transaction().execute(async (trx) => {
      await sql`select id from cases where id = ${locked!.id} for update`.execute(trx);
      lockedNow();
      await released;
    });
    await isLocked;
    const stuck = s.fire(locked!.id, A, 'SUBMIT_REPORT', report('waits for the lock'));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const next = await s.fire(free!.id, A, 'SUBMIT_REPORT', report('goes ahead'));
    t.equal(next.statusCode, 200, 'an event of another case is answered while the first batch waits');
    t.ok(Date.now() - t0 < 5000, `in ${Date.now() - t0} ms`);
    let settled = false;
    void stuck.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    t.notOk(settled, 'the event of the locked case is still waiting');
    release();
    await holder;
    t.equal((await stuck).statusCode, 200, 'and is applied once the lock goes');
  });
});
