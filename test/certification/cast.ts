import { createHash } from 'node:crypto';
import { fixtures, uniq, type TestApp } from '../helpers/app.js';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const DAY = 86_400_000;

const STANDARD: Record<string, string> = { 'robot-safety': 'ISO 10218-1:2025', 'genai-security': 'GB/T 45654-2025' };

type Criterion = { id: string; title: string; title_zh: string | null; mandatory: boolean };

/** The cast of a certification: a regulator, an applicant with products, accredited labs, and helpers over HTTP. */
export async function certificationCast(ta: TestApp) {
  const f = await fixtures(ta);
  const ok = (r: Awaited<ReturnType<TestApp['req']>>, status = 200) => {
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
    return r.json();
  };

  /** A lab organization, accredited for `schemes` until `validUntil` (none when schemes is null), with a lab principal. */
  async function lab(schemes: string[] | null = ['robot-safety', 'genai-security', 'ai-safety-risk', 'ai-ethics'], validUntil = new Date(ta.clock.now().getTime() + 365 * DAY).toISOString(), name = `Lab ${uniq()}`) {
    const org = await f.org({ kind: 'lab', name });
    if (schemes) {
      ok(await ta.req({ method: 'PUT', url: `/v1/organizations/${org.id}/accreditation`, token: f.regulator.token, payload: { accreditation_number: `CNAS L${uniq()}`, schemes, valid_until: validUntil } }));
    }
    const principal = await f.principal('lab', org.id);
    return { org, token: principal.token as string };
  }

  const robot = (token = f.applicant.token, over: Record<string, unknown> = {}) =>
    f.product(token, {
      kind: 'robot',
      name: `Cobot ${uniq()}`,
      version: '2.1',
      domains: ['industry'],
      robot: { payload_kg: 10, max_speed_mps: 1.5, operating_environment: 'factory cell shared with workers', human_collaboration: true },
      ...over,
    });
  const genai = (token = f.applicant.token, over: Record<string, unknown> = {}) =>
    f.product(token, { kind: 'genai_service', name: `Assistant ${uniq()}`, version: '3.0', domains: ['education'], genai: { foundation_model: 'in-house 70B', filing_number: 'Guangdong-001' }, ...over });

  const schemeCache = new Map<string, Criterion[]>();
  async function criteria(scheme: string): Promise<Criterion[]> {
    if (!schemeCache.has(scheme)) schemeCache.set(scheme, ok(await ta.req({ method: 'GET', url: `/v1/schemes/${scheme}` })).criteria);
    return schemeCache.get(scheme)!;
  }
  /** A complete round: every criterion of the scheme once, passing unless named in `fail`. */
  async function results(scheme: string, fail: string[] = [], over: Record<string, unknown> = {}) {
    const cs = await criteria(scheme);
    return {
      results: cs.map((c) => ({ criterion_id: c.id, verdict: fail.includes(c.id) ? 'fail' : 'pass', notes: `checked ${c.id}`, evidence_sha256: sha256(c.id) })),
      summary: fail.length ? `failed: ${fail.join(', ')}` : 'all criteria passed',
      report_sha256: sha256(`report ${uniq()}`),
      tested_at: ta.clock.now().toISOString(),
      ...over,
    };
  }

  async function createCase(product: { id: string }, scheme: string, token = f.applicant.token) {
    return ok(await ta.req({ method: 'POST', url: '/v1/certification-cases', token, payload: { product_id: product.id, scheme, standards: [STANDARD[scheme] ?? 'ISO/IEC 42001:2023'], declared_scope: 'The product as registered, version 2.x' } }), 201);
  }
  const fire = (token: string, id: string, type: string, payload?: unknown) =>
    ta.req({ method: 'POST', url: `/v1/certification-cases/${id}/events`, token, payload: payload === undefined ? { type } : { type, payload } });
  const get = (token: string, id: string) => ta.req({ method: 'GET', url: `/v1/certification-cases/${id}`, token });

  /** Carries a case to `results_posted` with the given lab; returns the case id. */
  async function toResultsPosted(opts: { product: { id: string }; scheme: string; lab: { org: { id: string }; token: string }; fail?: string[]; applicantToken?: string }) {
    const c = await createCase(opts.product, opts.scheme, opts.applicantToken);
    ok(await fire(opts.applicantToken ?? f.applicant.token, c.id, 'SUBMIT'));
    ok(await fire(f.regulator.token, c.id, 'ASSIGN_LAB', { lab_id: opts.lab.org.id }));
    ok(await fire(opts.lab.token, c.id, 'ACCEPT_ASSIGNMENT'));
    ok(await fire(opts.lab.token, c.id, 'POST_RESULTS', await results(opts.scheme, opts.fail ?? [])));
    return c.id as string;
  }
  /** Carries a case to `certified`; returns the case. */
  async function certify(opts: Parameters<typeof toResultsPosted>[0]) {
    const id = await toResultsPosted(opts);
    return ok(await fire(f.regulator.token, id, 'CERTIFY')).case;
  }

  return { ...f, ok, lab, robot, genai, criteria, results, createCase, fire, get, toResultsPosted, certify };
}

export const PUBLIC_CERTIFICATE_KEYS = ['holder', 'issued_at', 'lab', 'number', 'product', 'scheme', 'status', 'valid_until'];
