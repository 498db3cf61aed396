import { sql } from '../../src/db/kysely.js';
import { buildTestApp } from '../helpers/app.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { DAY, iso, sandbox } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const SYSTEM = { principal_id: null, role: 'system' };

  t.test('START_TESTING fires at testing_period.start and not a millisecond before', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    const id = await s.admitted(iso(t0 + DAY), iso(t0 + 100 * DAY));

    ta.clock.set(iso(t0 + DAY - 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 0, skipped: 0, failed: 0 });
    t.equal((await s.get(id)).state, 'admitted');

    ta.clock.set(iso(t0 + DAY));
    t.match(await sweepOnce(ta.app.engine), { fired: 1, skipped: 0, failed: 0, failing: 0, more: false });
    const c = await s.get(id);
    t.equal(c.state, 'testing');
    t.equal(c.record.testing_started_at, iso(t0 + DAY));
    t.same(c.deadlines, { testing_ends_at: iso(t0 + 100 * DAY) });
    const last = (await s.history(id)).at(-1)!;
    t.match(last, { type: 'START_TESTING', actor: SYSTEM, from_state: 'admitted', to_state: 'testing', at: iso(t0 + DAY) });
    t.same(last.payload, { deadline: 'testing_starts_at', due_at: iso(t0 + DAY) }, 'the history says which deadline it acted on');

    t.match(await sweepOnce(ta.app.engine), { fired: 0 }, 'a fired deadline does not fire again');
    const rows = await ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', id).execute();
    t.same(
      rows.map((r) => [r.name, r.event_type, r.due_at.toISOString()]),
      [['testing_ends_at', 'PERIOD_ENDED', iso(t0 + 100 * DAY)]],
    );
  });

  t.test('PERIOD_ENDED fires at the end of testing, from testing and from suspended', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    const end = iso(t0 + 30 * DAY);
    const testing = await s.admitted(iso(t0 + DAY), end);
    await s.fire(testing, s.f.applicant.token, 'START_TESTING');
    const suspended = await s.admitted(iso(t0 + DAY), end);
    await s.fire(suspended, s.f.applicant.token, 'START_TESTING');
    await s.fire(suspended, s.f.regulator.token, 'SUSPEND', { reason: 'audit pending' });
    t.equal((await s.get(suspended)).state, 'suspended');

    ta.clock.set(iso(t0 + 30 * DAY - 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 0 });
    ta.clock.set(end);
    t.match(await sweepOnce(ta.app.engine), { fired: 2, skipped: 0, failed: 0 });
    for (const [id, from] of [
      [testing, 'testing'],
      [suspended, 'suspended'],
    ]) {
      t.equal((await s.get(id)).state, 'exit_review', `${from} → exit_review`);
      t.match((await s.history(id)).at(-1), { type: 'PERIOD_ENDED', actor: SYSTEM, from_state: from, to_state: 'exit_review', at: end, payload: { deadline: 'testing_ends_at', due_at: end } });
    }
    t.same(await ta.database.db.selectFrom('deadlines').selectAll().execute(), [], 'no deadline is left');
    t.equal((await s.verify()).ok, true, 'the audit chains verify');
  });

  t.test('INFO_LAPSED fires at respond_by; an answered request is left alone', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    const respondBy = iso(t0 + 14 * DAY);
    const silent = await s.infoRequested(respondBy);
    const answered = await s.infoRequested(respondBy);
    ta.clock.advance(DAY);
    await s.fire(answered, s.f.applicant.token, 'PROVIDE_INFO', { answers: ['Two in Shenzhen'] });
    const before = await s.history(answered);
    const versionBefore = (await s.get(answered)).version;

    ta.clock.set(iso(t0 + 14 * DAY - 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 0 });
    t.equal((await s.get(silent)).state, 'info_requested');

    ta.clock.set(respondBy);
    t.match(await sweepOnce(ta.app.engine), { fired: 1, skipped: 0, failed: 0 });
    t.equal((await s.get(silent)).state, 'lapsed');
    t.match((await s.history(silent)).at(-1), { type: 'INFO_LAPSED', actor: SYSTEM, from_state: 'info_requested', to_state: 'lapsed', at: respondBy });
    t.same((await s.history(silent)).at(-1)?.payload, { deadline: 'respond_by', due_at: respondBy }, 'the history says which deadline it acted on');

    const after = await s.get(answered);
    t.equal(after.state, 'under_review', 'the answered case did not lapse');
    t.equal(after.version, versionBefore);
    t.same(await s.history(answered), before, 'its audit history is unchanged');
  });

  t.test('a deadline left behind by a case that moved on is dropped without touching the case', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    const started = await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY));
    await s.fire(started, s.f.applicant.token, 'START_TESTING');
    const stale = await s.underReview();
    // As if written by an older release: a lapse deadline on a case that is no longer waiting for answers.
    await ta.database.db.insertInto('deadlines').values({ case_id: stale, name: 'respond_by', event_type: 'INFO_LAPSED', due_at: iso(t0 + DAY) }).execute();
    const before = { started: await s.history(started), stale: await s.history(stale) };

    ta.clock.set(iso(t0 + 2 * DAY));
    t.match(await sweepOnce(ta.app.engine), { fired: 0, skipped: 1, failed: 0, failing: 0 }, 'the applicant already started testing: no START_TESTING');
    t.equal((await s.get(stale)).state, 'under_review');
    t.same(await s.history(stale), before.stale);
    t.same(await s.history(started), before.started);
    t.equal((await ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', stale).execute()).length, 0, 'the stale row is gone');
    t.match(await sweepOnce(ta.app.engine), { fired: 0, skipped: 0 });
  });

  t.test('a failing case does not stop the others; it is retried with back-off and shows as failing', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY)));
    const broken = ids[1]!;
    await sql
      .raw(
        `create function refuse_case() returns trigger language plpgsql as $$
       begin
         if new.id = '${broken}' then raise exception 'simulated storage failure'; end if;
         return new;
       end $$`,
      )
      .execute(ta.database.db);
    await sql`create trigger refuse_case before update on cases for each row execute function refuse_case()`.execute(ta.database.db);

    const before = await s.history(broken);
    const due = t0 + DAY;
    ta.clock.set(iso(due));
    t.match(await sweepOnce(ta.app.engine, { retryBaseMs: 30_000 }), { fired: 2, failed: 1, skipped: 0, failing: 1 });
    t.same(
      await Promise.all(ids.map(async (id) => (await s.get(id)).state)),
      ['testing', 'admitted', 'testing'],
    );
    t.same(await s.history(broken), before, 'nothing was written for the failing case');
    const row = () => ta.database.db.selectFrom('deadlines').selectAll().where('case_id', '=', broken).executeTakeFirstOrThrow();
    let r = await row();
    t.match(r, { event_type: 'START_TESTING', attempts: 1, last_error: /simulated storage failure/ });
    t.equal(r.next_attempt_at?.toISOString(), iso(due + 30_000));

    t.match(await sweepOnce(ta.app.engine, { retryBaseMs: 30_000 }), { fired: 0, failed: 0, failing: 1 }, 'not retried before its back-off');
    ta.clock.set(iso(due + 30_000));
    t.match(await sweepOnce(ta.app.engine, { retryBaseMs: 30_000 }), { fired: 0, failed: 1, failing: 1 });
    r = await row();
    t.equal(r.attempts, 2);
    t.equal(r.next_attempt_at?.toISOString(), iso(due + 30_000 + 60_000), 'the back-off doubles');

    await sql`drop trigger refuse_case on cases`.execute(ta.database.db);
    ta.clock.set(iso(due + 90_000));
    t.match(await sweepOnce(ta.app.engine, { retryBaseMs: 30_000 }), { fired: 1, failed: 0, failing: 0 });
    t.equal((await s.get(broken)).state, 'testing');
    t.match((await s.history(broken)).at(-1), { type: 'START_TESTING', actor: SYSTEM, at: iso(due + 90_000) });
    t.equal((await s.verify()).ok, true);
  });

  t.test('a sweep does bounded work; the next one carries on', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const t0 = ta.clock.ms;
    for (let i = 0; i < 5; i++) await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY));
    ta.clock.set(iso(t0 + DAY));
    t.match(await sweepOnce(ta.app.engine, { batchSize: 2, maxBatches: 2 }), { fired: 4, batches: 2, more: true });
    t.match(await sweepOnce(ta.app.engine, { batchSize: 2, maxBatches: 2 }), { fired: 1, more: false });
    t.match(await sweepOnce(ta.app.engine, { batchSize: 2, maxBatches: 2 }), { fired: 0, batches: 1, more: false });
  });

  t.test('sweeps purge idempotency keys older than 24 hours, a bounded number at a time', async (t) => {
    const ta = await buildTestApp(t);
    const key = (k: string, hoursAgo: number) => ({
      principal_id: '00000000-0000-4000-8000-000000000001',
      key: k,
      method: 'POST',
      path: '/v1/products',
      request_hash: 'h',
      status: 201,
      headers: '{}',
      body: '{}',
      created_at: new Date(Date.now() - hoursAgo * 3_600_000),
    });
    await ta.database.db
      .insertInto('idempotency_keys')
      .values([key('old-1', 25), key('old-2', 48), key('old-3', 30), key('fresh', 23)])
      .execute();
    t.match(await sweepOnce(ta.app.engine, { purgeLimit: 2 }), { purged_idempotency_keys: 2 });
    t.match(await sweepOnce(ta.app.engine, { purgeLimit: 2 }), { purged_idempotency_keys: 1 });
    const left = await ta.database.db.selectFrom('idempotency_keys').select('key').execute();
    t.same(left.map((r) => r.key), ['fresh']);
  });
});
