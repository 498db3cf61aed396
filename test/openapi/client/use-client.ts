// What an integrator writes with a client generated from the OpenAPI document (README, API):
// openapi-fetch over the types openapi-typescript made (./api.ts). `npm run typecheck` checks it
// against those types, so a request or a response field the document does not describe fails the
// type check; test/openapi/client.part.ts runs it against a listening service.
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function useClient(baseUrl: string, adminToken: string, creditCode: string) {
  const admin = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${adminToken}` } });
  const org = await admin.POST('/v1/organizations', {
    body: { name: 'Shenzhen Robotics Ltd', kind: 'enterprise', region: 'guangdong', credit_code: creditCode, contact_email: 'contact@example.cn' },
  });
  if (!org.data) throw new Error(`organization: ${org.response.status} ${org.error?.detail}`);
  const organizationId: string = org.data.id;
  const orgKind: 'enterprise' | 'university' | 'research_institute' | 'lab' | 'other' = org.data.kind;

  const principal = await admin.POST('/v1/principals', { body: { role: 'applicant', organization_id: organizationId } });
  if (!principal.data) throw new Error(`principal: ${principal.error?.detail}`);
  const token: string = principal.data.token;

  const applicant = createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
  const product = await applicant.POST('/v1/products', {
    body: { name: 'Triage assistant', version: '1.0', kind: 'ai_system', description: 'Suggests triage levels', intended_use: 'Hospital triage', domains: ['healthcare'], risk_level: 'medium' },
  });
  if (!product.data) throw new Error(`product: ${product.error?.detail}`);
  // The answer's fields are typed from ProductInput: a product's kind is one of its four kinds.
  const productKind: 'ai_system' | 'robot' | 'embodied_ai' | 'genai_service' = product.data.kind;

  const created = await applicant.POST('/v1/sandbox-cases', {
    body: {
      product_id: product.data.id,
      scenarios: ['hospital logistics'],
      test_scope: { regions: ['Shenzhen'], max_users: 50, duration_months: 6 },
      risks: [{ description: 'collision', level: 'medium' }],
      safeguards: ['speed limit'],
      contact: { name: 'Li Lei', email: 'li@example.cn' },
    },
  });
  if (!created.data) throw new Error(`case: ${created.error?.detail}`);
  const caseId: string = created.data.id;
  const number: string = created.data.number;
  const etag = created.response.headers.get('etag');

  const fired = await applicant.POST('/v1/sandbox-cases/{id}/events', { params: { path: { id: caseId }, header: { 'if-match': etag ?? undefined } }, body: { type: 'SUBMIT' } });
  if (!fired.data) throw new Error(`event: ${fired.error?.detail}`);
  const state: string = fired.data.case.state;
  const version: number = fired.data.case.version;
  const eventType: string = fired.data.event.type;

  // A refusal is typed as the Problem it is: a second SUBMIT is not allowed in state submitted.
  const refused = await applicant.POST('/v1/sandbox-cases/{id}/events', { params: { path: { id: caseId } }, body: { type: 'SUBMIT' } });
  const problem = refused.error ? { status: refused.response.status, code: refused.error.code, allowed: refused.error.allowed_events ?? [] } : null;

  return { organizationId, orgKind, productId: product.data.id, productKind, caseId, number, state, version, eventType, labId: fired.data.case.lab_id, problem };
}

// The event body is a union told apart by `type`, so each event's payload is typed exactly: these
// lines are only type-checked (npm run typecheck), and each @ts-expect-error fails it if the
// generated types ever accept what the service refuses.
type SandboxEventBody = NonNullable<paths['/v1/sandbox-cases/{id}/events']['post']['requestBody']>['content']['application/json'];
export const typedEvents: SandboxEventBody[] = [
  { type: 'ADMIT', payload: { conditions: ['Monthly reports'], testing_period: { start: '2027-01-01T00:00:00Z', end: '2027-12-31T00:00:00Z' } } },
  { type: 'SUBMIT' },
  // @ts-expect-error an ADMIT needs its testing period
  { type: 'ADMIT', payload: { conditions: ['Monthly reports'] } },
  // @ts-expect-error the scheduler's own events are not a caller's
  { type: 'PERIOD_ENDED', payload: { deadline: 'testing_ends_at', due_at: '2027-12-31T00:00:00Z' } },
];
