// The people behind the loaded data, created through the API like any client would.
import { randomBytes } from 'node:crypto';
import { http } from './common.js';
import type { Cast } from './load.js';

export type HttpCast = Cast & { applicantToken: string; regulatorToken: string };

export const adminToken = () => `bench_admin_${randomBytes(24).toString('hex')}`;

export async function createCast(url: string, admin: string): Promise<HttpCast> {
  const org = await http(url, 'POST', '/v1/organizations', {
    name: `Bench Robotics ${randomBytes(3).toString('hex')}`,
    kind: 'enterprise',
    region: 'hong_kong',
    registration_number: String(10_000_000 + Math.floor(Math.random() * 89_999_999)),
    contact_email: 'bench@example.hk',
  }, admin);
  const applicant = await http(url, 'POST', '/v1/principals', { role: 'applicant', organization_id: org.id, name: 'bench applicant' }, admin);
  const regulator = await http(url, 'POST', '/v1/principals', { role: 'regulator', name: 'bench regulator' }, admin);
  const product = await http(url, 'POST', '/v1/products', {
    name: 'Triage assistant',
    version: '2.1',
    kind: 'ai_system',
    description: 'Ranks emergency patients by urgency',
    intended_use: 'Hospital triage support',
    domains: ['healthcare'],
    risk_level: 'high',
  }, applicant.token);
  return { organizationId: org.id, productId: product.id, applicantId: applicant.id, regulatorId: regulator.id, applicantToken: applicant.token, regulatorToken: regulator.token };
}

/** A SUBMIT_REPORT payload of about 300 bytes of JSON, as the pgbench baseline inserts. */
const DAY_MS = 86_400_000;

/**
 * A monthly report. Its period must lie within the case's testing period and end by the time it is
 * filed (SPEC 3.1): by default the three days ending a day ago, which suits every benchmark case
 * (their testing started five days before the run); the loader gives the period of a report it
 * writes straight into a case's history.
 */
export function reportPayload(i: number, period: { start: Date; end: Date } = { start: new Date(Date.now() - 4 * DAY_MS), end: new Date(Date.now() - DAY_MS) }) {
  return {
    period_start: period.start.toISOString(),
    period_end: period.end.toISOString(),
    summary: `Monthly report ${i}: 1,204 triage sessions, no serious incidents, two clinician overrides reviewed and closed.`,
    metrics: { sessions: 1204, overrides: 2, median_latency_ms: 180.5, uptime: 0.9991 },
  };
}
