// Certification (SPEC §3.2): an applicant asks for a product to be certified against a scheme;
// the regulator assigns an accredited lab, the lab tests and posts results, the regulator certifies
// or denies; a certificate then lives through surveillance, suspension, revocation and expiry.
import type { CertificationApplication, CertificationEventPayloads as Payloads } from '../src/generated/schemas.js';
import { and, assign, setup } from 'xstate';
import { AppError } from '../src/errors.js';
import { accreditationOf, labMayNotAct, labWasNotAccredited } from './accreditation.js';
import { defineWorkflow } from './define.js';
import type { AssignLabFacts, CertificationRecord, CertifyFacts, CriterionResult, LabFacts, PostResultsFacts, SubmitFacts } from './certification-record.js';
import { NOT_YOUR_PRODUCT, REPLACE_APPLICATION, addMonths, counted, deadlineActedOn, guardsOf, iso, l, noTally, payloadOf, refusal, type CaseContext, type CaseEventOf, type CertificateStatus, type EventDecl, type Label, type Lookup, type Refusal, type Rule, type StateMeta } from './kit.js';

export type * from './certification-record.js';
export type { CertificateStatus, CertificationApplication };

/** Certificates are numbered GDAIC-YYYY-NNNNNN, gap-free per year. */
export const CERTIFICATE_NUMBER_PREFIX = 'GDAIC';

/** Every event of the machine, declared once; its payload schema, if any, is schemas/certification/events/<TYPE>.json. */
const events = {
  REPLACE_APPLICATION: REPLACE_APPLICATION(),
  SUBMIT: { roles: ['applicant'], description: "Submit for certification; the product's kind must be one the scheme covers.", label: l('Submit', '提交申请') },
  WITHDRAW: { roles: ['applicant'], description: 'Withdraw the application before results are posted.', label: l('Withdraw', '撤回申请') },
  ASSIGN_LAB: { roles: ['regulator'], description: "Assign a lab accredited for the scheme (valid now, not the applicant's own organization).", label: l('Assign lab', '指派实验室') },
  ACCEPT_ASSIGNMENT: { roles: ['lab'], description: 'The assigned lab accepts and starts testing, while accredited for the scheme.', label: l('Accept assignment', '接受指派') },
  DECLINE_ASSIGNMENT: { roles: ['lab'], description: 'The assigned lab declines, with the reason; the case returns to submitted.', label: l('Decline assignment', '拒绝指派') },
  POST_RESULTS: { roles: ['lab'], description: 'The assigned lab, while accredited for the scheme, posts a round of results: every mandatory criterion once, none not_applicable.', label: l('Post results', '提交检测结果') },
  REQUEST_RETEST: { roles: ['regulator'], description: 'Send the product back for another round of testing; earlier rounds are kept.', label: l('Request retest', '要求复测') },
  CERTIFY: { roles: ['regulator'], description: "Issue the certificate; every mandatory criterion of the last round must have passed, tested by a lab accredited for the scheme on the results' tested_at.", label: l('Certify', '颁发证书') },
  DENY: { roles: ['regulator'], description: 'Refuse certification, with the reason.', label: l('Deny', '不予认证') },
  POST_SURVEILLANCE: { roles: ['lab'], description: 'The assigned lab, while accredited for the scheme, reports surveillance findings; a fail suspends the certificate.', label: l('Surveillance', '监督检查') },
  SUSPEND: { roles: ['regulator'], description: 'Suspend the certificate, with the reason.', label: l('Suspend', '暂停证书') },
  RESTORE: { roles: ['regulator'], description: 'Lift a suspension, while the certificate is still within its validity.', label: l('Restore', '恢复证书'), statusReason: l('Suspension lifted', '暂停已解除') },
  REVOKE: { roles: ['regulator'], description: 'Revoke the certificate, with the reason.', label: l('Revoke', '撤销证书') },
  EXPIRE: { roles: ['system'], description: 'Fired at valid_until: the certificate expires.', label: l('Expire', '证书到期'), statusReason: l('Validity period ended', '有效期届满') },
} satisfies Record<string, EventDecl>;

type Ctx = CaseContext<CertificationApplication, CertificationRecord>;
type Ev = CaseEventOf<Payloads, keyof typeof events>;

const time = (s: string) => new Date(s).getTime();

const rules = {
  productKindCovered: ({ context, event }) => {
    const f = event.facts as SubmitFacts;
    if (!f?.scheme) return refusal(`no certification scheme ${context.application.scheme}`, `认证方案 ${context.application.scheme} 不存在`);
    if (!f.product) return refusal('the product of this application no longer exists', '本申请的产品已不存在');
    return f.scheme.product_kinds.includes(f.product.kind)
      ? null
      : refusal(
          `scheme ${f.scheme.code} covers products of kind ${f.scheme.product_kinds.join(', ')}, not ${f.product.kind}`,
          `认证方案 ${f.scheme.code} 适用的产品类别为 ${f.scheme.product_kinds.join('、')}，不含 ${f.product.kind}`,
        );
  },
  labEligible: ({ context, event }) => {
    const lab = (event.facts as AssignLabFacts)?.lab;
    const scheme = context.application.scheme;
    if (payloadOf(event, 'ASSIGN_LAB').lab_id === context.organization_id) return refusal("the lab may not be the applicant's own organization (conflict of interest)", '实验室不得为申请人本单位（利益冲突）');
    if (!lab) return refusal('lab_id names no organization', '所选实验室不是已登记的单位');
    if (lab.kind !== 'lab') return refusal(`organization ${lab.name} is not a lab`, `单位 ${lab.name} 不是实验室`);
    return labMayNotAct(lab, scheme, event.at);
  },
  labAccredited: ({ context, event }) => {
    const facts = event.facts as LabFacts | null;
    // Recorded before labs were checked at every act: replayed as it was judged then.
    if (!facts || !('lab' in facts)) return null;
    if (!facts.lab) return refusal('the assigned lab is no longer in the registry', '所指派的实验室已不在登记册中');
    return labMayNotAct(facts.lab, context.application.scheme, event.at);
  },
  resultsComplete: ({ event }) => {
    const criteria = (event.facts as PostResultsFacts)?.criteria ?? [];
    const posted = payloadOf(event, 'POST_RESULTS');
    const results = posted.results as CriterionResult[];
    const known = new Map(criteria.map((c) => [c.id, c]));
    const seen = new Set<string>();
    const problems: Refusal[] = [];
    for (const r of results) {
      if (seen.has(r.criterion_id)) problems.push(refusal(`criterion ${r.criterion_id} appears more than once`, `指标 ${r.criterion_id} 重复出现`));
      seen.add(r.criterion_id);
      const c = known.get(r.criterion_id);
      if (!c) problems.push(refusal(`criterion ${r.criterion_id} is not a criterion of the scheme`, `${r.criterion_id} 不是该认证方案的指标`));
      else if (c.mandatory && r.verdict === 'not_applicable') problems.push(refusal(`mandatory criterion ${r.criterion_id} cannot be not_applicable`, `必检指标 ${r.criterion_id} 不得为“不适用”`));
    }
    const missing = criteria.filter((c) => c.mandatory && !seen.has(c.id)).map((c) => c.id);
    if (missing.length) problems.push(refusal(`mandatory criteria missing: ${missing.join(', ')}`, `缺少必检指标：${missing.join('、')}`));
    if (time(posted.tested_at) > time(event.at)) problems.push(refusal('tested_at may not be in the future', '检测时间不得晚于当前时间'));
    return problems.length ? refusal(problems.map((p) => p.en).join('; '), problems.map((p) => p['zh-Hans']).join('；')) : null;
  },
  mandatoryPassed: ({ context }) => {
    const round = context.record.latest_results;
    if (!round) return refusal('no results have been posted', '尚未提交检测结果');
    const failed = round.mandatory_criteria.filter((id) => round.results.find((r) => r.criterion_id === id)?.verdict !== 'pass');
    return failed.length ? refusal(`every mandatory criterion must pass; not passed: ${failed.join(', ')}`, `每项必检指标均须通过；未通过：${failed.join('、')}`) : null;
  },
  resultsLabAccredited: ({ context, event }) => {
    const lab = (event.facts as CertifyFacts | null)?.results_lab;
    // Recorded before CERTIFY looked back at the lab's accreditation: replayed as it was judged then.
    return lab ? labWasNotAccredited(lab, context.application.scheme) : null;
  },
  surveillanceFailed: ({ event }) => (payloadOf(event, 'POST_SURVEILLANCE').verdict === 'fail' ? null : refusal('the surveillance verdict is not fail', '监督检查结论不是“不通过”')),
  withinValidity: ({ context, event }) => {
    const until = context.record.certificate?.valid_until;
    return until && time(event.at) < time(until) ? null : refusal(`the certificate's validity ended at ${until}; it cannot be restored`, `证书有效期已于 ${until} 届满，不能恢复`);
  },
  validityEnded: ({ context, event }) => {
    const until = context.record.certificate?.valid_until;
    return until && time(event.at) >= time(until) ? null : refusal(`the certificate is valid until ${until}; it cannot expire before then`, `证书有效期至 ${until}，此前不能到期`);
  },
  validUntilDeadline: deadlineActedOn('valid_until', (c) => (c.record as CertificationRecord).certificate?.valid_until),
} satisfies Record<string, Rule<Ctx, Ev>>;

/**
 * A state that holds a certificate and the status it means, declared once: for the register (its
 * meta's certificateStatus, which the engine writes to the certificates table with the case) and
 * for the record (certificate.status, set as the state is entered), so the two never differ.
 */
const holding = (certificateStatus: CertificateStatus, label: Label, deadlines?: StateMeta<Ctx>['deadlines']) => ({
  meta: { label, certificateStatus, ...(deadlines ? { deadlines } : {}) },
  entry: { type: 'recordCertificateStatus', params: { status: certificateStatus } } as const,
});

/** A certificate expires at valid_until whether it is valid or suspended. */
const expiry = (c: Ctx) => [{ name: 'valid_until', at: c.record.certificate!.valid_until, event: 'EXPIRE' }];

const machine = setup({
  types: { context: {} as Ctx, events: {} as Ev, input: {} as Ctx, meta: {} as StateMeta<Ctx> },
  guards: guardsOf(rules),
  actions: {
    replaceApplication: assign({ application: ({ event }) => payloadOf(event, 'REPLACE_APPLICATION') }),
    recordSubmission: assign({ record: ({ context, event }) => ({ ...context.record, submitted_at: event.at }) }),
    recordAssignment: assign({
      record: ({ context, event }) => {
        const lab = (event.facts as AssignLabFacts).lab!;
        const acc = lab.accreditation!;
        return {
          ...context.record,
          lab: {
            id: lab.id,
            name: lab.name,
            accreditation_number: acc.accreditation_number,
            accreditation_valid_until: iso(acc.valid_until),
            assigned_at: event.at,
            assigned_by: event.actor,
          },
          assignments: counted(context.record.assignments, event.at),
        };
      },
    }),
    recordAcceptance: assign({ record: ({ context, event }) => ({ ...context.record, lab: { ...context.record.lab!, accepted_at: event.at } }) }),
    // The decline and its reason are the DECLINE_ASSIGNMENT event; the case no longer has a lab.
    recordDecline: assign({ record: ({ context }) => ({ ...context.record, lab: null }) }),
    recordResults: assign({
      record: ({ context, event }) => {
        const criteria = (event.facts as PostResultsFacts).criteria;
        const posted = payloadOf(event, 'POST_RESULTS');
        const results = posted.results as CriterionResult[];
        const mandatory = criteria.filter((c) => c.mandatory).map((c) => c.id);
        return {
          ...context.record,
          results_rounds: counted(context.record.results_rounds, event.at),
          latest_results: {
            round: context.record.results_rounds.count + 1,
            seq: event.seq,
            lab_id: context.record.lab!.id,
            results,
            summary: posted.summary,
            report_sha256: posted.report_sha256,
            tested_at: iso(posted.tested_at),
            posted_at: event.at,
            posted_by: event.actor,
            mandatory_criteria: mandatory,
            mandatory_passed: mandatory.every((id) => results.find((r) => r.criterion_id === id)?.verdict === 'pass'),
          },
        };
      },
    }),
    // The round being retested stays the latest until the next is posted; the request and its reason are the event.
    recordRetest: assign({ record: ({ context, event }) => ({ ...context.record, retests: counted(context.record.retests, event.at) }) }),
    issueCertificate: assign({
      record: ({ context, event }) => {
        const f = event.facts as CertifyFacts;
        return {
          ...context.record,
          // Its status is the one the certified state means, set as the case enters it (holding).
          certificate: {
            number: f.certificate_number,
            issued_at: event.at,
            valid_until: addMonths(new Date(event.at), f.validity_months).toISOString(),
            scope: payloadOf(event, 'CERTIFY').scope ?? context.application.declared_scope,
          } as NonNullable<CertificationRecord['certificate']>,
          status_changes: counted(context.record.status_changes, event.at),
          decision: { type: event.type, at: event.at, by: event.actor },
        };
      },
    }),
    // The findings and verdict are the event's; a fail moves the case to suspended, whose entry sets the status.
    recordSurveillance: assign({
      record: ({ context, event }) => ({
        ...context.record,
        surveillance: counted(context.record.surveillance, event.at),
        status_changes: counted(context.record.status_changes, event.at),
      }),
    }),
    // Who changed the status, when and why is the event (SUSPEND, RESTORE, REVOKE, EXPIRE); the status is set by the state entered.
    recordStatusChange: assign({ record: ({ context, event }) => ({ ...context.record, status_changes: counted(context.record.status_changes, event.at) }) }),
    recordCertificateStatus: assign({
      record: ({ context }, params: { status: CertificateStatus }) => ({ ...context.record, certificate: { ...context.record.certificate!, status: params.status } }),
    }),
    recordDecision: assign({
      record: ({ context, event }) => {
        const reason = payloadOf(event, 'WITHDRAW', 'DENY').reason;
        return { ...context.record, decision: { type: event.type, at: event.at, by: event.actor, ...(reason ? { reason } : {}) } };
      },
    }),
  },
}).createMachine({
  id: 'certification',
  initial: 'draft',
  context: ({ input }) => input,
  states: {
    draft: {
      meta: { label: l('Draft', '草稿') },
      on: {
        REPLACE_APPLICATION: { actions: 'replaceApplication' },
        SUBMIT: { target: 'submitted', guard: 'productKindCovered', actions: 'recordSubmission' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    submitted: {
      meta: { label: l('Submitted', '已提交') },
      on: {
        ASSIGN_LAB: { target: 'lab_assigned', guard: 'labEligible', actions: 'recordAssignment' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    lab_assigned: {
      meta: { label: l('Lab assigned', '已指派实验室') },
      on: {
        ACCEPT_ASSIGNMENT: { target: 'testing', guard: 'labAccredited', actions: 'recordAcceptance' },
        DECLINE_ASSIGNMENT: { target: 'submitted', actions: 'recordDecline' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    testing: {
      meta: { label: l('Testing', '检测中') },
      on: {
        POST_RESULTS: { target: 'results_posted', guard: and(['labAccredited', 'resultsComplete']), actions: 'recordResults' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    results_posted: {
      meta: { label: l('Results posted', '检测结果已提交') },
      on: {
        REQUEST_RETEST: { target: 'testing', actions: 'recordRetest' },
        CERTIFY: { target: 'certified', guard: and(['mandatoryPassed', 'resultsLabAccredited']), actions: 'issueCertificate' },
        DENY: { target: 'not_certified', actions: 'recordDecision' },
      },
    },
    certified: {
      ...holding('valid', l('Certified', '已认证'), expiry),
      on: {
        POST_SURVEILLANCE: [
          { guard: and(['labAccredited', 'surveillanceFailed']), target: 'suspended', actions: 'recordSurveillance' },
          { guard: 'labAccredited', actions: 'recordSurveillance' },
        ],
        SUSPEND: { target: 'suspended', actions: 'recordStatusChange' },
        REVOKE: { target: 'revoked', actions: 'recordStatusChange' },
        EXPIRE: { target: 'expired', guard: and(['validityEnded', 'validUntilDeadline']), actions: 'recordStatusChange' },
      },
    },
    suspended: {
      ...holding('suspended', l('Suspended', '已暂停'), expiry),
      on: {
        RESTORE: { target: 'certified', guard: 'withinValidity', actions: 'recordStatusChange' },
        REVOKE: { target: 'revoked', actions: 'recordStatusChange' },
        EXPIRE: { target: 'expired', guard: and(['validityEnded', 'validUntilDeadline']), actions: 'recordStatusChange' },
      },
    },
    not_certified: { type: 'final', meta: { label: l('Not certified', '未通过认证') } },
    revoked: { type: 'final', ...holding('revoked', l('Revoked', '已撤销')) },
    expired: { type: 'final', ...holding('expired', l('Expired', '已过期')) },
    withdrawn: { type: 'final', meta: { label: l('Withdrawn', '已撤回') } },
  },
});

/**
 * The events that change a certificate's status, in the order declared: those with a transition
 * into a state that holds a certificate (CERTIFY, POST_SURVEILLANCE, SUSPEND, RESTORE, REVOKE,
 * EXPIRE). Each one a case holds is a change of the certificate's public status history
 * (src/register/certificates.ts), and counts in record.status_changes.
 */
export const CERTIFICATE_STATUS_EVENTS: readonly string[] = Object.keys(events).filter((type) =>
  Object.values(machine.root.states).some((node) => (node.transitions.get(type) ?? []).some((t) => (t.target?.[0]?.meta as StateMeta | undefined)?.certificateStatus)),
);

/** The lab assigned to the case and its accreditation as it stands now. */
async function assignedLab(lookup: Lookup, context: CaseContext): Promise<NonNullable<LabFacts['lab']> | null> {
  const id = (context.record as CertificationRecord).lab?.id;
  const org = id ? await lookup.organization(id) : null;
  return org && { id: org.id, name: org.name, accreditation: accreditationOf(org.accreditation) };
}

export const certificationWorkflow = defineWorkflow({
  kind: 'certification-cases',
  title: l('Safety and ethics certification', '安全与伦理认证'),
  schemaDir: 'certification',
  numberPrefix: 'CERT',
  machine,
  rules,
  events,
  productOf: (application) => application.product_id ?? null,
  labOf: (context) => (context.record as CertificationRecord).lab?.id ?? null,
  certificateOf(context) {
    const cert = (context.record as CertificationRecord).certificate;
    return cert ? { number: cert.number, scheme: (context.application as CertificationApplication).scheme, issued_at: cert.issued_at, valid_until: cert.valid_until } : null;
  },
  async checkApplication(lookup, application, organizationId) {
    const product = await lookup.product(application.product_id);
    if (!product || product.organization_id !== organizationId) return NOT_YOUR_PRODUCT;
    // Schemes are data, not schema: an unknown one is the same refusal here as on PUT …/accreditation.
    if (!(await lookup.scheme(application.scheme))) {
      const unknown = refusal(`no certification scheme ${application.scheme}`, `认证方案 ${application.scheme} 不存在`);
      throw new AppError('rule_violation', unknown.en, { rule: 'known_scheme', errors: [{ path: 'body/scheme', message: `is not a certification scheme (see GET /v1/schemes)` }] }, unknown);
    }
    return null;
  },
  facts: {
    async SUBMIT(lookup, context): Promise<SubmitFacts> {
      const product = await lookup.product(context.application.product_id);
      const scheme = await lookup.scheme(context.application.scheme);
      return { product: product && { id: product.id, kind: product.kind }, scheme: scheme && { code: scheme.code, product_kinds: scheme.product_kinds } };
    },
    async ASSIGN_LAB(lookup, _context, event): Promise<AssignLabFacts> {
      const org = await lookup.organization(event.payload.lab_id);
      if (!org) return { lab: null };
      return { lab: { id: org.id, name: org.name, kind: org.kind, accreditation: accreditationOf(org.accreditation) } };
    },
    ACCEPT_ASSIGNMENT: async (lookup, context): Promise<LabFacts> => ({ lab: await assignedLab(lookup, context) }),
    async POST_RESULTS(lookup, context): Promise<PostResultsFacts> {
      return { criteria: (await lookup.scheme(context.application.scheme))?.criteria ?? [], lab: await assignedLab(lookup, context) };
    },
    POST_SURVEILLANCE: async (lookup, context): Promise<LabFacts> => ({ lab: await assignedLab(lookup, context) }),
    async CERTIFY(lookup, context, event): Promise<CertifyFacts> {
      // Allocated inside the event's transaction: a refused CERTIFY rolls the number back, so the series stays gap-free.
      const scheme = await lookup.scheme(context.application.scheme);
      const facts: CertifyFacts = { certificate_number: await lookup.nextNumber(CERTIFICATE_NUMBER_PREFIX, new Date(event.at).getUTCFullYear()), validity_months: scheme!.validity_months };
      const round = (context.record as CertificationRecord).latest_results;
      if (round) {
        // As of tested_at, not now: an accreditation set again since (renewed, narrowed) says nothing of the day the lab tested.
        const org = await lookup.organization(round.lab_id);
        facts.results_lab = { id: round.lab_id, name: org?.name ?? round.lab_id, tested_at: round.tested_at, accreditation: await lookup.accreditationAt(round.lab_id, round.tested_at) };
      }
      return facts;
    },
  },
  initialRecord: (): CertificationRecord => ({ lab: null, assignments: noTally(), results_rounds: noTally(), retests: noTally(), surveillance: noTally(), status_changes: noTally() }),
});
