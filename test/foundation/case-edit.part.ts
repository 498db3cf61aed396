// PATCH edits the application of a draft (SPEC §2); refused later in the caller's words, not with
// the name of the internal event behind it.
import { buildTestApp } from '../helpers/app.js';
import { certificationCast } from '../certification/cast.js';
import { sandboxApplication, sandboxCast } from '../sandbox/helpers.js';
import { assertProblem } from './support.js';
import { part } from '../helpers/part.js';

export default part(import.meta.url, async (t) => {
  const ta = await buildTestApp(t);

  t.test('PATCH after submission: 409 invalid_transition saying the application is edited only while draft', async (t) => {
    const s = await sandboxCast(ta);
    const cert = await certificationCast(ta);
    const robot = await cert.robot();
    const kinds = [
      { kind: 'sandbox-cases', token: s.applicant.token, id: (await s.caseIn('submitted')).id, application: sandboxApplication(s.product.id) },
      {
        kind: 'certification-cases',
        token: cert.applicant.token,
        id: (await (async () => {
          const c = await cert.createCase(robot, 'robot-safety');
          cert.ok(await cert.fire(cert.applicant.token, c.id, 'SUBMIT'));
          return c;
        })()).id,
        application: { product_id: robot.id, scheme: 'robot-safety', declared_scope: 'The product as registered' },
      },
    ];
    for (const k of kinds) {
      const before = (await ta.req({ method: 'GET', url: `/v1/${k.kind}/${k.id}`, token: k.token })).json();
      const res = await ta.req({ method: 'PATCH', url: `/v1/${k.kind}/${k.id}`, token: k.token, payload: k.application });
      const problem = assertProblem(t, res, 409, 'invalid_transition') as ReturnType<typeof assertProblem> & { state: string; allowed_events: string[] };
      t.match(problem.detail, /can only be edited while the case is a draft/, `${k.kind}: says when the application can be edited`);
      t.notMatch(problem.detail, /REPLACE_APPLICATION/, `${k.kind}: names no internal event`);
      t.equal(problem.state, 'submitted');
      t.ok(Array.isArray(problem.allowed_events) && problem.allowed_events.includes('WITHDRAW'), `${k.kind}: allowed_events lists what the applicant can do`);
      const after = (await ta.req({ method: 'GET', url: `/v1/${k.kind}/${k.id}`, token: k.token })).json();
      t.equal(after.version, before.version, 'nothing changed');
    }
  });
});
