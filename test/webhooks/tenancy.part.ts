import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { receiver, webhookApp } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  t.test('each organization hears only its own cases; a lab only those assigned to it; regulators every case', async (t) => {
    const ta = await buildTestApp(t, { env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    const cast = await certificationCast(ta);
    const w = await webhookApp(t, { ta });
    const lab = await cast.lab();
    const otherLab = await cast.lab();
    const listen = async (token: string) => {
      const r = await receiver(t);
      const hook = await w.hook(token, { url: r.url, events: ['*'] });
      r.state.secret = () => hook.secret;
      return r;
    };
    const applicantHears = await listen(cast.applicant.token);
    const otherHears = await listen(cast.otherApplicant.token);
    const labHears = await listen(lab.token);
    const otherLabHears = await listen(otherLab.token);
    const regulatorHears = await listen(cast.regulator.token);

    const cert = await cast.createCase(await cast.robot(), 'robot-safety');
    cast.ok(await cast.fire(cast.applicant.token, cert.id, 'SUBMIT'));
    cast.ok(await cast.fire(cast.regulator.token, cert.id, 'ASSIGN_LAB', { lab_id: lab.org.id }));
    cast.ok(await cast.fire(lab.token, cert.id, 'ACCEPT_ASSIGNMENT'));
    const other = await w.sandboxCase(cast.otherApplicant.token);
    await w.fire(cast.otherApplicant.token, other.id, 'SUBMIT');
    for (let i = 0; i < 5 && (await w.dispatch()).claimed > 0; i++);

    const seen = (r: Awaited<ReturnType<typeof receiver>>) => r.got.map((g) => `${g.json.data.case_id === cert.id ? 'cert' : g.json.data.case_id === other.id ? 'other' : g.json.data.case_id}:${g.json.data.event}`);
    t.same(seen(applicantHears), ['cert:CASE_CREATED', 'cert:SUBMIT', 'cert:ASSIGN_LAB', 'cert:ACCEPT_ASSIGNMENT']);
    t.same(seen(otherHears), ['other:CASE_CREATED', 'other:SUBMIT']);
    t.same(seen(labHears), ['cert:ASSIGN_LAB', 'cert:ACCEPT_ASSIGNMENT'], 'from its assignment on');
    t.same(seen(otherLabHears), []);
    t.same(seen(regulatorHears).sort(), ['cert:ACCEPT_ASSIGNMENT', 'cert:ASSIGN_LAB', 'cert:CASE_CREATED', 'cert:SUBMIT', 'other:CASE_CREATED', 'other:SUBMIT']);
    for (const r of [applicantHears, otherHears, labHears, regulatorHears]) t.same(r.invalid, []);
    t.match(labHears.got[0]!.json, { type: 'certification-cases.ASSIGN_LAB', data: { case_id: cert.id, number: cert.number, kind: 'certification-cases', from_state: 'submitted', to_state: 'lab_assigned' } });
    t.same(Object.keys(labHears.got[0]!.json.data).sort(), ['at', 'case_id', 'event', 'from_state', 'kind', 'number', 'to_state'], 'only what SPEC 9 lists: no payload, no application');
  });
});
