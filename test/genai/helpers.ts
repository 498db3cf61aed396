import type { TestApp } from '../helpers/app.js';
import { given as machine, type Step } from '../helpers/machine.js';
import { genaiWorkflow } from '../../workflows/genai.js';

export const T0 = '2026-03-01T00:00:00.000Z';
export const day = 86_400_000;
export const after = (days: number, from: string | Date = T0) => new Date(new Date(from).getTime() + days * day).toISOString();
export const SHA = 'a'.repeat(64);

export const APPLICANT_ORG = '00000000-0000-4000-8000-0000000000aa';
export const LAB_ID = '00000000-0000-4000-8000-0000000000bb';

/** A complete, valid application; milestones fall due 30 and 60 days after `from`. */
export function application(from: string | Date = T0, over: Record<string, unknown> = {}) {
  return {
    title: 'Red-teaming Cantonese chat models',
    summary: 'Adversarial testing of Cantonese-language generative models for content-safety failures.',
    research_areas: ['red_teaming', 'content_safety'],
    partners: [
      { name: 'HK Institute of AI Safety', region: 'hong_kong' },
      { name: 'Macao Language Lab', region: 'macao' },
    ],
    model_under_study: { name: 'Pearl-7B', provider: 'Pearl River AI', filing_number: 'Guangdong-PearlRiver-202501' },
    milestones: [
      { id: 'm1', title: 'Attack taxonomy', due: after(30, from) },
      { id: 'm2', title: 'Benchmark release', due: after(60, from) },
    ],
    duration_months: 12,
    data_handling: 'Prompts and outputs stay on servers in Guangdong; personal data is removed before analysis.',
    ...over,
  };
}

export const labFacts = (over: Record<string, unknown> = {}) => ({
  lab: {
    id: LAB_ID,
    name: 'GBA GenAI Test Lab',
    kind: 'lab',
    accreditation: { accreditation_number: 'CNAS-L0001', schemes: ['genai-security'], valid_until: after(365) },
    ...over,
  },
});

/** Given/when/then over the GenAI machine, no database; an event is fired by the first role it declares unless it says. */
export const given = (app: unknown = application()) =>
  machine(genaiWorkflow, { application: app, organization_id: APPLICANT_ORG, number: 'GAI-2026-000001', at: T0, role: 'declared' });

/** Events that bring a project to `active` with the accredited lab of labFacts(). */
export const TO_ACTIVE: Step[] = [
  ['SUBMIT'],
  ['START_REVIEW'],
  ['APPROVE', { evaluating_lab_id: LAB_ID }, { facts: labFacts() }],
];

// ---- over HTTP ----------------------------------------------------------------------------------

export const BASE = '/v1/genai-projects';

/** An organization of kind lab, accredited until `validUntil`, with a lab principal. */
export async function accreditedLab(ta: TestApp, f: { org(over?: Record<string, unknown>): Promise<any>; principal(role: string, org?: string): Promise<any>; regulator: any }, validUntil = after(730, ta.clock.now())) {
  const org = await f.org({ kind: 'lab', name: `Lab ${Math.random().toString(36).slice(2, 8)}` });
  const r = await ta.req({
    method: 'PUT',
    url: `/v1/organizations/${org.id}/accreditation`,
    token: f.regulator.token,
    payload: { accreditation_number: `CNAS-L${Math.floor(Math.random() * 1e4)}`, schemes: ['genai-security'], valid_until: validUntil },
  });
  if (r.statusCode !== 200) throw new Error(`accreditation: ${r.statusCode} ${r.body}`);
  const principal = await f.principal('lab', org.id);
  return { org, principal };
}

export function projectApi(ta: TestApp) {
  return {
    create: (token: string, body: unknown) => ta.req({ method: 'POST', url: BASE, token, payload: body as never }),
    get: (token: string, id: string) => ta.req({ method: 'GET', url: `${BASE}/${id}`, token }),
    fire: (token: string, id: string, type: string, payload?: unknown) =>
      ta.req({ method: 'POST', url: `${BASE}/${id}/events`, token, payload: (payload === undefined ? { type } : { type, payload }) as never }),
    list: (token: string, query = '') => ta.req({ method: 'GET', url: `${BASE}${query}`, token }),
  };
}
