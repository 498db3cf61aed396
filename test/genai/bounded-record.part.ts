import { buildTestApp, fixtures } from '../helpers/app.js';
import { BASE, SHA, accreditedLab, application, projectApi } from './helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  /** The paths of every array in a JSON value, array indexes written [] (milestones[].last_submission.deliverables). */
  function arrayPaths(value: unknown, path = ''): string[] {
    if (Array.isArray(value)) return [path, ...value.flatMap((v) => arrayPaths(v, `${path}[]`))];
    if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => arrayPaths(v, path ? `${path}.${k}` : k));
    return [];
  }

  t.test('a GenAI project keeps counts and the latest items in its record, the items themselves in its history (SPEC §2)', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();
    const MINUTE = 60_000;

    const c = (await api.create(f.applicant.token, application(now))).json();
    const fire = async (token: string, type: string, payload?: unknown) => {
      ta.clock.advance(MINUTE);
      const r = await api.fire(token, c.id, type, payload);
      if (r.statusCode !== 200) throw new Error(`${type}: ${r.statusCode} ${r.body}`);
      return r.json().case;
    };
    /** The whole history of the project (following next_cursor), or only some event types of it. */
    const history = async (...types: string[]) => {
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=200${types.length ? `&type=${types.join(',')}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
        const r = await ta.req({ method: 'GET', url: `${BASE}/${c.id}/events${query}`, token: f.regulator.token });
        if (r.statusCode !== 200) throw new Error(`history: ${r.statusCode} ${r.body}`);
        items.push(...r.json().items);
        cursor = r.json().next_cursor;
      } while (cursor);
      return types.length ? items.filter((e) => types.includes(e.type)) : items;
    };
    const evaluate = (i: number) =>
      fire(lab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'CValues-Yue', metrics: { refusal_rate: 0.9, attack_success_rate: 0.1 }, verdict: i === 1 ? 'fail' : 'pass' });
    const suspendAndResume = async (n: number) => {
      await fire(f.regulator.token, 'SUSPEND', { reason: `Incident ${n} under investigation` });
      return fire(f.regulator.token, 'RESUME', { comments: `Incident ${n} closed` });
    };

    await fire(f.applicant.token, 'SUBMIT');
    await fire(f.regulator.token, 'START_REVIEW');
    await fire(f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id, comments: 'Report monthly' });
    for (let round = 1; round <= 3; round++) {
      await fire(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: [`Attack taxonomy v${round}`], report_sha256: SHA });
      await fire(f.regulator.token, 'RETURN_MILESTONE', { comments: `Not yet (round ${round})` });
    }
    await fire(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['Attack taxonomy v4', 'Appendix'], report_sha256: SHA });
    await fire(f.regulator.token, 'ACCEPT_MILESTONE', { comments: 'Accepted' });
    await fire(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm2', deliverables: ['Benchmark draft'], report_sha256: SHA });
    await fire(f.regulator.token, 'RETURN_MILESTONE');
    await suspendAndResume(1);
    await suspendAndResume(2);
    let cur: any;
    // 11 of them, so that the counts have as many digits as after 30 (the size compared below).
    for (let i = 1; i <= 11; i++) cur = await evaluate(i);

    await t.test('the record holds counts and the latest items, no list but the milestone plan', async (t) => {
      const r = cur.record;
      t.same([...new Set(arrayPaths(r))].sort(), ['milestones', 'milestones[].last_submission.deliverables'], 'every array is the plan or an item of it');
      t.same(Object.keys(r).sort(), [
        'approval',
        'evaluations',
        'latest_evaluation',
        'milestone_in_review',
        'milestones',
        'passed_evaluations',
        'review_comments',
        'review_started_at',
        'submitted_at',
        'suspension',
        'suspensions',
      ]);

      const submissions = await history('SUBMIT_MILESTONE');
      const returns = await history('RETURN_MILESTONE');
      const evaluations = await history('POST_SAFETY_EVALUATION');
      const suspends = await history('SUSPEND');
      const resumes = await history('RESUME');
      const commented = (await history()).filter((e) => e.payload?.comments);
      const m1Submissions = submissions.filter((e) => e.payload.milestone_id === 'm1');

      t.same(r.milestones[0], {
        id: 'm1',
        title: 'Attack taxonomy',
        due: application(now).milestones[0]!.due,
        status: 'accepted',
        overdue: false,
        accepted_at: (await history('ACCEPT_MILESTONE'))[0].at,
        submissions: { count: 4, latest_at: m1Submissions.at(-1).at },
        last_submission: { seq: m1Submissions.at(-1).seq, at: m1Submissions.at(-1).at, by: f.applicant.id, deliverables: ['Attack taxonomy v4', 'Appendix'], report_sha256: SHA },
        returned_at: returns[2].at,
      });
      t.match(r.milestones[1], { id: 'm2', status: 'returned', submissions: { count: 1 }, returned_at: returns.at(-1).at, last_submission: { deliverables: ['Benchmark draft'] } });
      t.equal(r.milestone_in_review, null);

      t.same(r.evaluations, { count: 11, latest_at: evaluations.at(-1).at });
      t.same(r.passed_evaluations, { count: 10, latest_at: evaluations.at(-1).at });
      t.same(r.latest_evaluation, {
        seq: evaluations.at(-1).seq,
        benchmark: 'CValues-Yue',
        metrics: { refusal_rate: 0.9, attack_success_rate: 0.1 },
        verdict: 'pass',
        stage: 'interim',
        lab_id: lab.org.id,
        posted_at: evaluations.at(-1).at,
        by: lab.principal.id,
      });
      t.same(evaluations.map((e) => e.payload.verdict), ['fail', ...Array(10).fill('pass')], 'each evaluation is in the history');

      t.same(r.suspensions, { count: 2, latest_at: suspends.at(-1).at });
      t.same(r.suspension, {
        seq: suspends.at(-1).seq,
        reason: 'Incident 2 under investigation',
        at: suspends.at(-1).at,
        by: f.regulator.id,
        resumed_at: resumes.at(-1).at,
        resume_comments: 'Incident 2 closed',
      });
      t.same(suspends.map((e) => e.payload.reason), ['Incident 1 under investigation', 'Incident 2 under investigation']);

      // APPROVE, three returns, the acceptance and two resumptions carried comments; the bare return did not.
      t.same(r.review_comments, { count: 7, latest_at: commented.at(-1).at });
      t.same(commented.map((e) => e.type), ['APPROVE', 'RETURN_MILESTONE', 'RETURN_MILESTONE', 'RETURN_MILESTONE', 'ACCEPT_MILESTONE', 'RESUME', 'RESUME']);
    });

    await t.test('more evaluations (and another suspension) do not make the record any larger', async (t) => {
      const before = JSON.stringify(cur.record);
      for (let i = 12; i <= 30; i++) cur = await evaluate(i);
      cur = await suspendAndResume(2);
      const after = JSON.stringify(cur.record);
      t.not(after, before, 'the record did change');
      t.equal(after.length, before.length, 'its serialized size did not');
      t.equal(Buffer.byteLength(JSON.stringify((await api.get(f.regulator.token, c.id)).json().record)), Buffer.byteLength(before), 'as stored and read back');
      t.match(cur.record, { evaluations: { count: 30 }, passed_evaluations: { count: 29 }, suspensions: { count: 3 }, review_comments: { count: 8 } });
      t.equal((await history('POST_SAFETY_EVALUATION')).length, 30, 'every evaluation is in the history');
    });

    await t.test('COMPLETE still decides from the evaluations posted: the latest failed, an earlier one passed', async (t) => {
      await fire(f.applicant.token, 'SUBMIT_MILESTONE', { milestone_id: 'm2', deliverables: ['Benchmark'], report_sha256: SHA });
      await fire(f.regulator.token, 'ACCEPT_MILESTONE');
      await fire(f.applicant.token, 'REQUEST_FINAL_EVALUATION');
      cur = await fire(lab.principal.token, 'POST_SAFETY_EVALUATION', { benchmark: 'CValues-Yue', metrics: { refusal_rate: 0.5 }, verdict: 'fail' });
      t.match(cur.record.latest_evaluation, { verdict: 'fail', stage: 'final' });
      cur = await fire(f.regulator.token, 'COMPLETE');
      t.equal(cur.state, 'completed');
    });

    await t.test('every stored record equals the replay of its history', async (t) => {
      const v = await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token });
      t.equal(v.statusCode, 200);
      t.same(v.json().failures, []);
      t.equal(v.json().ok, true);
    });
  });
});
