import { buildTestApp, fixtures } from '../helpers/app.js';
import { sweepOnce } from '../../src/scheduler/scheduler.js';
import { certificationCast } from '../certification/cast.js';
import { SHA, accreditedLab, after, application, projectApi } from '../genai/helpers.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const SYSTEM = { principal_id: null, role: 'system' };

  t.test('EXPIRE fires at valid_until, for certified and suspended certificates', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const lab = await c.lab();
    const certified = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
    const suspended = await c.certify({ product: await c.robot(), scheme: 'robot-safety', lab });
    c.ok(await c.fire(c.regulator.token, suspended.id, 'SUSPEND', { reason: 'surveillance overdue' }));
    const validUntil: string = certified.record.certificate.valid_until;
    t.equal(suspended.record.certificate.valid_until, validUntil);
    t.same(certified.deadlines, { valid_until: validUntil });

    ta.clock.set(new Date(new Date(validUntil).getTime() - 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 0 });
    t.equal(c.ok(await c.get(c.regulator.token, certified.id)).state, 'certified');

    ta.clock.set(validUntil);
    t.match(await sweepOnce(ta.app.engine), { fired: 2, skipped: 0, failed: 0 });
    for (const [x, from] of [
      [certified, 'certified'],
      [suspended, 'suspended'],
    ] as const) {
      t.equal(c.ok(await c.get(c.regulator.token, x.id)).state, 'expired', `${from} → expired`);
      const history = c.ok(await ta.req({ method: 'GET', url: `/v1/certification-cases/${x.id}/events`, token: c.regulator.token })).items;
      t.match(history.at(-1), { type: 'EXPIRE', actor: SYSTEM, from_state: from, to_state: 'expired', at: validUntil });
      t.same(history.at(-1).payload, { deadline: 'valid_until', due_at: validUntil }, 'the history says which deadline EXPIRE acted on');
      const pub = await ta.req({ method: 'GET', url: `/v1/register/certificates/${x.record.certificate.number}` });
      t.equal(pub.json().status, 'expired', 'the public register shows it expired');
    }
    t.match(await sweepOnce(ta.app.engine), { fired: 0, skipped: 0 });
  });

  t.test('MARK_MILESTONE_OVERDUE fires when a milestone falls due, once for each milestone, naming it', async (t) => {
    const ta = await buildTestApp(t);
    const f = await fixtures(ta);
    const lab = await accreditedLab(ta, f);
    const api = projectApi(ta);
    const now = ta.clock.now();
    const body = application(now, {
      milestones: [
        { id: 'm1', title: 'Taxonomy', due: after(10, now) },
        { id: 'm2', title: 'Dataset', due: after(10, now) },
        { id: 'm3', title: 'Benchmark', due: after(40, now) },
      ],
    });
    const project = (await api.create(f.applicant.token, body)).json();
    for (const [token, type, payload] of [
      [f.applicant.token, 'SUBMIT'],
      [f.regulator.token, 'START_REVIEW'],
      [f.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }],
    ] as Array<[string, string, unknown?]>) {
      const r = await api.fire(token, project.id, type, payload);
      t.equal(r.statusCode, 200, r.statusCode === 200 ? type : `${type}: ${r.body}`);
    }
    const overdue = async () => (await api.get(f.regulator.token, project.id)).json().record.milestones.map((m: any) => [m.id, m.overdue]);
    const systemEvents = async () =>
      (await ta.req({ method: 'GET', url: `/v1/genai-projects/${project.id}/events`, token: f.regulator.token })).json().items.filter((e: any) => e.actor.role === 'system');

    ta.clock.set(new Date(new Date(after(10, now)).getTime() - 1));
    t.match(await sweepOnce(ta.app.engine), { fired: 0 });

    ta.clock.set(after(10, now));
    t.match(await sweepOnce(ta.app.engine), { fired: 2, skipped: 0, failed: 0 }, 'one event for each milestone due');
    t.same(await overdue(), [
      ['m1', true],
      ['m2', true],
      ['m3', false],
    ]);
    const got = (await api.get(f.regulator.token, project.id)).json();
    t.equal(got.state, 'active');
    t.same(got.deadlines, { 'milestone:m3': after(40, now) });
    const marked = await systemEvents();
    t.match(marked, [
      { type: 'MARK_MILESTONE_OVERDUE', actor: SYSTEM, from_state: 'active', to_state: 'active', at: after(10, now) },
      { type: 'MARK_MILESTONE_OVERDUE', actor: SYSTEM, from_state: 'active', to_state: 'active', at: after(10, now) },
    ]);
    t.same(
      marked.map((e: any) => e.payload),
      [
        { milestone_id: 'm1', due: after(10, now) },
        { milestone_id: 'm2', due: after(10, now) },
      ],
      'each names the milestone and its due date',
    );

    t.equal((await api.fire(f.applicant.token, project.id, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['taxonomy.pdf'], report_sha256: SHA })).statusCode, 200);
    ta.clock.set(after(40, now));
    t.match(await sweepOnce(ta.app.engine), { fired: 1, skipped: 0, failed: 0 }, 'also fires while a milestone is in review');
    t.same((await overdue())[2], ['m3', true]);
    t.same((await systemEvents()).at(-1).payload, { milestone_id: 'm3', due: after(40, now) });
    t.equal((await systemEvents()).length, 3);
    t.match(await sweepOnce(ta.app.engine), { fired: 0, skipped: 0 });
    t.equal((await ta.req({ method: 'GET', url: '/v1/audit/verify', token: f.regulator.token })).json().ok, true);
  });
});
