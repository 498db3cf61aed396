import type { TestApp } from '../helpers/app.js';
import { DAY, certificationCast } from '../certification/cast.js';
import { sandboxApplication } from '../sandbox/helpers.js';
import { SHA, accreditedLab, application, projectApi } from '../genai/helpers.js';

export const XSS = '<script>alert(1)</script>';
export const HOLDER_ZH = '深圳灵巧机器人有限公司';
export const HOLDER_EN = 'Shenzhen Dexterous Robotics Co., Ltd.';

/** Text that lives only in applications, results, reports or contacts: no page may ever show it. */
export const PRIVATE = [
  'li.lei@example.cn',
  'Li Lei',
  'hospital triage support',
  'a clinician confirms every priority',
  'checked emergency-stop',
  'all criteria passed',
  'The product as registered',
  'Prompts and outputs stay on servers in Guangdong',
  'Adversarial testing of Cantonese-language',
  'Pearl-7B',
  'Attack taxonomy',
  'Cracked housing found at audit',
  'contact@example.cn',
];

/**
 * A small public register: certificates of one holder (valid, suspended, revoked, and one whose
 * product is named like a script), a sandbox participant in testing, a draft sandbox case that is
 * not public, and an active GenAI project.
 */
export async function seedRegister(ta: TestApp) {
  const c = await certificationCast(ta);
  const lab = await c.lab(['robot-safety', 'genai-security'], new Date(ta.clock.now().getTime() + 5 * 365 * DAY).toISOString(), 'Shenzhen AI Test Lab');
  const holder = await c.org({ name: HOLDER_ZH, name_en: HOLDER_EN });
  const holderToken = (await c.principal('applicant', holder.id)).token as string;

  const arm = await c.robot(holderToken, { name: 'Dexter Arm', version: '4.2' });
  const armCase = await c.certify({ product: arm, scheme: 'robot-safety', lab, applicantToken: holderToken });
  const dog = await c.robot(holderToken, { name: 'Patrol Quadruped', version: '1.0' });
  const dogCase = await c.certify({ product: dog, scheme: 'robot-safety', lab, applicantToken: holderToken });
  // A surveillance finding is a lab's result: the page shows that it suspended the certificate, not what was found.
  c.ok(await c.fire(lab.token, dogCase.id, 'POST_SURVEILLANCE', { findings: 'Cracked housing found at audit', verdict: 'fail' }));
  c.ok(await c.fire(c.regulator.token, dogCase.id, 'RESTORE', { reason: 'Housing replaced and re-inspected' }));
  c.ok(await c.fire(c.regulator.token, dogCase.id, 'SUSPEND', { reason: 'Collision with a shopper in a mall' }));
  const tutor = await c.genai(holderToken, { name: 'Homework Tutor', version: '2.0' });
  const tutorCase = await c.certify({ product: tutor, scheme: 'genai-security', lab, applicantToken: holderToken });
  c.ok(await c.fire(c.regulator.token, tutorCase.id, 'REVOKE', { reason: 'Labelling removed from generated images' }));
  const evil = await c.robot(c.applicant.token, { name: XSS, version: '"><img src=x onerror=alert(2)>' });
  const evilCase = await c.certify({ product: evil, scheme: 'robot-safety', lab });

  const sandboxProduct = await c.product(holderToken, { name: 'Triage Assistant' });
  const fireSbx = async (id: string, token: string, type: string, payload?: unknown) => {
    const r = await ta.req({ method: 'POST', url: `/v1/sandbox-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } });
    if (r.statusCode !== 200) throw new Error(`${type}: ${r.statusCode} ${r.body}`);
  };
  const sbx = c.ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: holderToken, payload: sandboxApplication(sandboxProduct.id) }), 201);
  const at = (days: number) => new Date(ta.clock.now().getTime() + days * DAY).toISOString();
  await fireSbx(sbx.id, holderToken, 'SUBMIT');
  await fireSbx(sbx.id, c.regulator.token, 'START_REVIEW');
  await fireSbx(sbx.id, c.regulator.token, 'ADMIT', { conditions: ['monthly reports'], testing_period: { start: at(1), end: at(180) } });
  await fireSbx(sbx.id, holderToken, 'START_TESTING');
  const draftSbx = c.ok(await ta.req({ method: 'POST', url: '/v1/sandbox-cases', token: holderToken, payload: sandboxApplication(sandboxProduct.id) }), 201);

  const gLab = await accreditedLab(ta, c);
  const api = projectApi(ta);
  const gai = c.ok(await api.create(holderToken, application(ta.clock.now())), 201);
  c.ok(await api.fire(holderToken, gai.id, 'SUBMIT'));
  c.ok(await api.fire(c.regulator.token, gai.id, 'START_REVIEW'));
  c.ok(await api.fire(c.regulator.token, gai.id, 'APPROVE', { evaluating_lab_id: gLab.org.id }));
  c.ok(await api.fire(holderToken, gai.id, 'SUBMIT_MILESTONE', { milestone_id: 'm1', deliverables: ['Attack taxonomy v1'], report_sha256: SHA }));
  c.ok(await api.fire(c.regulator.token, gai.id, 'ACCEPT_MILESTONE'));

  return {
    c,
    lab,
    genaiLab: gLab,
    holder,
    holderToken,
    certificates: {
      valid: armCase.record.certificate.number as string,
      suspended: dogCase.record.certificate.number as string,
      revoked: tutorCase.record.certificate.number as string,
      xss: evilCase.record.certificate.number as string,
    },
    dogCaseId: dogCase.id as string,
    armCaseId: armCase.id as string,
    sandbox: sbx.number as string,
    draftSandbox: draftSbx.number as string,
    genai: gai.number as string,
  };
}
