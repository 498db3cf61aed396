import { buildTestApp } from '../helpers/app.js';
import { SYSTEM_CALLER } from '../../src/engine/caller.js';
import { fireEvent } from '../../src/cases/fire.js';
import { certificationWorkflow } from '../../workflows/certification.js';
import { genaiWorkflow } from '../../workflows/genai.js';
import { sandboxWorkflow } from '../../workflows/sandbox.js';
import type { Workflow } from '../../workflows/kit.js';
import { certificationCast, DAY } from '../certification/cast.js';
import { accreditedLab, after, application, projectApi } from '../genai/helpers.js';
import { iso, sandbox } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  // Histories written before system events named their deadline and before labs were checked at every
  // act hold events the current release would refuse or write otherwise; they must still replay.

  /** A workflow as the earlier release had it: these events without payloads, these facts as they were. */
  function asBefore(wf: Workflow, bare: string[], facts: Record<string, ((facts: any) => unknown) | null>): Workflow {
    const events = Object.fromEntries(Object.entries(wf.events).map(([type, spec]) => [type, bare.includes(type) ? { ...spec, payload: false } : spec]));
    const loaders = { ...wf.facts };
    for (const [type, shape] of Object.entries(facts)) {
      const current = wf.facts![type]!;
      if (shape === null) delete loaders[type];
      else loaders[type] = async (lookup, context, event) => shape(await current(lookup, context, event));
    }
    return { ...wf, events, facts: loaders };
  }

  const verify = async (ta: Awaited<ReturnType<typeof buildTestApp>>, token: string) =>
    (await ta.req({ method: 'GET', url: '/v1/audit/verify', token })).json();

  t.test('sandbox: INFO_LAPSED, START_TESTING and PERIOD_ENDED without payloads still replay', async (t) => {
    const ta = await buildTestApp(t);
    const s = await sandbox(ta);
    const old = asBefore(sandboxWorkflow, ['INFO_LAPSED', 'START_TESTING', 'PERIOD_ENDED'], {});
    const t0 = ta.clock.ms;
    const lapsing = await s.infoRequested(iso(t0 + DAY));
    const running = await s.admitted(iso(t0 + DAY), iso(t0 + 30 * DAY));
    ta.clock.set(iso(t0 + DAY));
    await fireEvent(ta.app.engine, old, SYSTEM_CALLER, lapsing, { type: 'INFO_LAPSED' });
    await fireEvent(ta.app.engine, old, SYSTEM_CALLER, running, { type: 'START_TESTING' });
    ta.clock.set(iso(t0 + 30 * DAY));
    await fireEvent(ta.app.engine, old, SYSTEM_CALLER, running, { type: 'PERIOD_ENDED' });
    t.same((await s.history(running)).slice(-2).map((e) => e.payload), [{}, {}], 'written as the earlier release wrote them');
    const v = await verify(ta, s.f.regulator.token);
    t.same(v.failures, []);
    t.equal(v.ok, true);
  });

  t.test('genai: a MARK_MILESTONE_OVERDUE without a payload marked every milestone due, and still replays so', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const lab = await accreditedLab(ta, c);
    const api = projectApi(ta);
    const now = ta.clock.now();
    const body = application(now, { milestones: [{ id: 'm1', title: 'Taxonomy', due: after(10, now) }, { id: 'm2', title: 'Dataset', due: after(10, now) }] });
    const project = (await api.create(c.applicant.token, body)).json();
    for (const [token, type, payload] of [
      [c.applicant.token, 'SUBMIT'],
      [c.regulator.token, 'START_REVIEW'],
      [c.regulator.token, 'APPROVE', { evaluating_lab_id: lab.org.id }],
    ] as Array<[string, string, unknown?]>) {
      t.equal((await api.fire(token, project.id, type, payload)).statusCode, 200, type);
    }
    ta.clock.set(after(10, now));
    const out = await fireEvent(ta.app.engine, asBefore(genaiWorkflow, ['MARK_MILESTONE_OVERDUE'], {}), SYSTEM_CALLER, project.id, { type: 'MARK_MILESTONE_OVERDUE' });
    t.same(out.case.record && (out.case.record as any).milestones.map((m: any) => m.overdue), [true, true]);
    const v = await verify(ta, c.regulator.token);
    t.same(v.failures, []);
    t.equal(v.ok, true);
  });

  t.test('certification: lab events recorded without lab facts, and an EXPIRE without a payload, still replay', async (t) => {
    const ta = await buildTestApp(t);
    const c = await certificationCast(ta);
    const old = asBefore(certificationWorkflow, ['EXPIRE'], {
      ACCEPT_ASSIGNMENT: null,
      POST_SURVEILLANCE: null,
      POST_RESULTS: ({ lab: _lab, ...rest }) => rest,
      CERTIFY: ({ results_lab: _lab, ...rest }) => rest,
    });
    const lab = await c.lab(['robot-safety', 'ai-ethics']);
    const created = await c.createCase(await c.robot(), 'robot-safety');
    c.ok(await c.fire(c.applicant.token, created.id, 'SUBMIT'));
    c.ok(await c.fire(c.regulator.token, created.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    // What the earlier release let through: the scheme was taken off the lab's accreditation.
    c.ok(await ta.req({ method: 'PUT', url: `/v1/organizations/${lab.org.id}/accreditation`, token: c.regulator.token, payload: { accreditation_number: 'CNAS L0007', schemes: ['ai-ethics'], valid_until: new Date(ta.clock.now().getTime() + 365 * DAY).toISOString() } }));
    const regulator = { principal_id: c.regulator.id, role: 'regulator' as const, organization_id: null };
    const labCaller = { principal_id: null, role: 'lab' as const, organization_id: lab.org.id };
    await fireEvent(ta.app.engine, old, labCaller, created.id, { type: 'ACCEPT_ASSIGNMENT' });
    await fireEvent(ta.app.engine, old, labCaller, created.id, { type: 'POST_RESULTS', payload: await c.results('robot-safety') });
    const certified = await fireEvent(ta.app.engine, old, regulator, created.id, { type: 'CERTIFY', payload: {} });
    await fireEvent(ta.app.engine, old, labCaller, created.id, { type: 'POST_SURVEILLANCE', payload: { findings: 'annual visit', verdict: 'pass' } });
    ta.clock.set((certified.case.record as any).certificate.valid_until);
    const expired = await fireEvent(ta.app.engine, old, SYSTEM_CALLER, created.id, { type: 'EXPIRE' });
    t.equal(expired.case.state, 'expired');
    const v = await verify(ta, c.regulator.token);
    t.same(v.failures, []);
    t.equal(v.ok, true);
  });
});
