// Generative-AI joint-laboratory projects (SPEC §3.3): a research team proposes a project of the
// Greater Bay Area generative-AI safety joint laboratory; the regulator approves it with an
// accredited evaluating lab, accepts its milestones one at a time, and completes it once every
// milestone is accepted and the lab has posted a passed safety evaluation.
import { sql } from '../src/db/kysely.js';
import { assign, setup } from 'xstate';
import type { GenaiApplication, GenaiEventPayloads as Payloads } from '../src/generated/schemas.js';
import { defineWorkflow } from './define.js';
import {
  REPLACE_APPLICATION,
  counted,
  deadlinePayload,
  guardsOf,
  iso,
  l,
  noTally,
  payloadOf,
  refusal,
  type CaseContext,
  type CaseEventOf,
  type Deadline,
  type EventDecl,
  type Rule,
  type StateMeta,
  type Tally,
} from './kit.js';

export type { GenaiApplication };

export type MilestoneStatus = 'pending' | 'submitted' | 'returned' | 'accepted';

export type GenaiMilestone = {
  id: string;
  title: string;
  due: string;
  status: MilestoneStatus;
  /** Due date passed while not accepted, as marked by the scheduler; cleared on acceptance. */
  overdue: boolean;
  marked_overdue_at?: string;
  accepted_at?: string;
  /** Each SUBMIT_MILESTONE of it. */
  submissions: Tally;
  /** The latest submission of it; earlier ones, returns and comments are events in the history (GET …/events). */
  last_submission?: { seq: number; at: string; by: string | null; deliverables: string[]; report_sha256: string };
  /** The latest return, if any. */
  returned_at?: string;
};

export type GenaiEvaluation = {
  seq: number;
  benchmark: string;
  metrics: Payloads['POST_SAFETY_EVALUATION']['metrics'];
  verdict: 'pass' | 'fail';
  /** interim while the project runs; final once the applicant asked for the final evaluation. */
  stage: 'interim' | 'final';
  lab_id: string;
  posted_at: string;
  by: string | null;
};

/**
 * A project's bounded record (SPEC §2): milestone statuses, the latest evaluation and suspension, and
 * for what accumulates (evaluations, the regulator's comments, suspensions) a count and the time of
 * the latest. The items themselves are events, read from the project's history.
 */
export type GenaiRecord = {
  submitted_at?: string;
  review_started_at?: string;
  approval?: { evaluating_lab: { id: string; name: string; accreditation_number: string }; approved_at: string; by: string | null };
  /**
   * Built from the application's plan at approval; the application itself never changes after draft.
   * Bounded by the plan (its schema's maxItems).
   */
  milestones: GenaiMilestone[];
  milestone_in_review: string | null;
  /** Each POST_SAFETY_EVALUATION. */
  evaluations: Tally;
  /** Those of them with verdict pass: COMPLETE needs at least one, at any stage. */
  passed_evaluations: Tally;
  /** The latest safety evaluation (interim or final). */
  latest_evaluation?: GenaiEvaluation;
  /** Each event that carried the regulator's comments (APPROVE, ACCEPT_MILESTONE, RETURN_MILESTONE, COMPLETE, RESUME). */
  review_comments: Tally;
  /** Each SUSPEND. */
  suspensions: Tally;
  /** The latest suspension, with when it was lifted. */
  suspension?: { seq: number; reason: string; at: string; by: string | null; resumed_at?: string; resume_comments?: string };
  final_evaluation_requested_at?: string;
  completion?: { completed_at: string; by: string | null };
  decision?: { type: string; at: string; by: string | null; reason?: string };
};

/** What APPROVE looked up about the named lab, stored with the event so replays need no database. */
export type ApproveFacts = {
  lab: { id: string; name: string; kind: string; accreditation: { accreditation_number: string; schemes: string[]; valid_until: string } | null } | null;
};

/** Every event of the machine, declared once; its payload schema, if any, is schemas/genai/events/<TYPE>.json. */
const events = {
  REPLACE_APPLICATION: REPLACE_APPLICATION(l('Edit proposal', '修改申报')),
  SUBMIT: { roles: ['applicant'], description: 'Submit the project proposal for review.', label: l('Submit', '提交申报') },
  WITHDRAW: { roles: ['applicant'], description: 'Withdraw the proposal before a decision.', label: l('Withdraw', '撤回申报') },
  START_REVIEW: { roles: ['regulator'], description: 'Start reviewing a submitted proposal.', label: l('Start review', '开始审查') },
  APPROVE: { roles: ['regulator'], description: 'Approve the project, naming the accredited lab that evaluates it.', label: l('Approve', '批准立项') },
  REJECT: { roles: ['regulator'], description: 'Reject the proposal, with the reason.', label: l('Reject', '不予批准') },
  SUBMIT_MILESTONE: { roles: ['applicant'], description: 'Submit one milestone not yet accepted (a returned one may be resubmitted).', label: l('Submit milestone', '提交里程碑成果') },
  ACCEPT_MILESTONE: { roles: ['regulator'], description: 'Accept the milestone in review.', label: l('Accept milestone', '验收里程碑') },
  RETURN_MILESTONE: { roles: ['regulator'], description: 'Return the milestone in review for rework.', label: l('Return milestone', '退回里程碑') },
  POST_SAFETY_EVALUATION: { roles: ['lab'], description: 'The evaluating lab posts a safety evaluation: benchmark, metrics and verdict.', label: l('Post safety evaluation', '提交安全评估') },
  REQUEST_FINAL_EVALUATION: { roles: ['applicant'], description: 'Ask for the final evaluation once every milestone is accepted.', label: l('Request final evaluation', '申请最终评估') },
  COMPLETE: { roles: ['regulator'], description: 'Complete the project; needs at least one passed safety evaluation.', label: l('Complete', '结项') },
  MARK_MILESTONE_OVERDUE: { roles: ['system'], description: 'Fired when a milestone falls due before it is accepted: marks that milestone overdue.', label: l('Mark milestone overdue', '标记里程碑逾期') },
  SUSPEND: { roles: ['regulator'], description: 'Suspend the project, with the reason.', label: l('Suspend', '暂停项目') },
  RESUME: { roles: ['regulator'], description: 'Resume a suspended project.', label: l('Resume', '恢复项目') },
  TERMINATE: { roles: ['regulator'], description: 'Terminate the project, with the reason.', label: l('Terminate', '终止项目') },
} satisfies Record<string, EventDecl>;

type Ctx = CaseContext<GenaiApplication, GenaiRecord>;
type Ev = CaseEventOf<Payloads, keyof typeof events>;

const ms = (s: string) => new Date(s).getTime();
const recordOf = (c: CaseContext) => c.record as GenaiRecord;
const who = (e: Ev) => e.actor.principal_id;

/** Milestones whose due time has come by `at` and that nobody has accepted or marked yet. */
export const newlyOverdue = (record: GenaiRecord, at: string): GenaiMilestone[] =>
  record.milestones.filter((m) => m.status !== 'accepted' && !m.overdue && ms(m.due) <= ms(at));

/** Ids that appear more than once, in order of first repetition. */
export function duplicateMilestoneIds(application: { milestones?: Array<{ id: string }> }): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const m of application.milestones ?? []) (seen.has(m.id) ? dup : seen).add(m.id);
  return [...dup];
}

const rules = {
  evaluatingLabAccredited: ({ context, event }) => {
    const lab = (event.facts as ApproveFacts | null)?.lab;
    if (!lab) return refusal('evaluating_lab_id names no organization', '所选评估实验室不是已登记的单位');
    if (lab.kind !== 'lab') return refusal(`evaluating_lab_id must name a lab; ${lab.name} is an organization of kind ${lab.kind}`, `评估实验室须为实验室；${lab.name} 是类别为 ${lab.kind} 的单位`);
    if (lab.id === context.organization_id) return refusal('a project cannot be evaluated by its own organization', '项目不得由本单位评估');
    if (!lab.accreditation) return refusal(`${lab.name} holds no accreditation`, `${lab.name} 未取得认可`);
    if (ms(lab.accreditation.valid_until) <= ms(event.at)) return refusal(`the accreditation of ${lab.name} expired at ${lab.accreditation.valid_until}`, `${lab.name} 的认可已于 ${lab.accreditation.valid_until} 到期`);
    return null;
  },
  milestoneSubmittable: ({ context, event }) => {
    const id = payloadOf(event, 'SUBMIT_MILESTONE').milestone_id;
    const milestones = recordOf(context).milestones;
    const m = milestones.find((x) => x.id === id);
    if (!m) {
      const ids = milestones.map((x) => x.id);
      return refusal(`milestone_id "${id}" is not a milestone of this project (milestones: ${ids.join(', ')})`, `“${id}”不是本项目的里程碑（本项目的里程碑：${ids.join('、')}）`);
    }
    if (m.status === 'accepted') return refusal(`milestone "${id}" is already accepted`, `里程碑“${id}”已验收`);
    return null;
  },
  allMilestonesAccepted: ({ context }) => {
    const open = recordOf(context).milestones.filter((m) => m.status !== 'accepted').map((m) => m.id);
    return open.length === 0
      ? null
      : refusal(`every milestone must be accepted before the final evaluation; not yet accepted: ${open.join(', ')}`, `所有里程碑验收后方可申请最终评估；尚未验收：${open.join('、')}`);
  },
  passedEvaluation: ({ context }) =>
    recordOf(context).passed_evaluations.count > 0
      ? null
      : refusal('COMPLETE needs at least one passed safety evaluation (POST_SAFETY_EVALUATION with verdict pass)', '结项须至少有一次结论为“通过”的安全评估'),
  milestoneDue: ({ context, event }) => {
    const p = event.payload as { milestone_id?: string; due?: string } | undefined;
    // Recorded before the scheduler named the milestone: every milestone then due was marked at once.
    if (p?.milestone_id === undefined)
      return newlyOverdue(recordOf(context), event.at).length > 0 ? null : refusal(`no milestone not yet accepted fell due by ${event.at}`, `截至 ${event.at}，没有未验收的里程碑到期`);
    const m = recordOf(context).milestones.find((x) => x.id === p.milestone_id);
    if (!m) return refusal(`milestone_id "${p.milestone_id}" is not a milestone of this project`, `“${p.milestone_id}”不是本项目的里程碑`);
    if (m.status === 'accepted') return refusal(`milestone "${m.id}" is already accepted`, `里程碑“${m.id}”已验收`);
    if (m.overdue) return refusal(`milestone "${m.id}" is already marked overdue`, `里程碑“${m.id}”已标记为逾期`);
    if (ms(m.due) !== ms(p.due!)) return refusal(`milestone "${m.id}" is due ${m.due}, not ${p.due}`, `里程碑“${m.id}”的到期时间为 ${m.due}，而非 ${p.due}`);
    if (ms(m.due) > ms(event.at)) return refusal(`milestone "${m.id}" falls due at ${m.due}, after ${event.at}`, `里程碑“${m.id}”于 ${m.due} 到期，晚于 ${event.at}`);
    return null;
  },
} satisfies Record<string, Rule<Ctx, Ev>>;

const withMilestone = (r: GenaiRecord, id: string, f: (m: GenaiMilestone) => GenaiMilestone): GenaiMilestone[] =>
  r.milestones.map((m) => (m.id === id ? f(m) : m));

/** The events whose payload may carry the regulator's comments. */
const COMMENTED = ['APPROVE', 'ACCEPT_MILESTONE', 'RETURN_MILESTONE', 'COMPLETE', 'RESUME'] as const;

/** The regulator's comments are counted; what they said is the event's payload, in the history. */
const reviewComment = (r: GenaiRecord, event: Ev): Tally =>
  payloadOf(event, ...COMMENTED).comments ? counted(r.review_comments, event.at) : r.review_comments;

/** A milestone decision (accept or return) on the milestone in review. */
const decideMilestone = (context: Ctx, event: Ev, status: 'accepted' | 'returned'): GenaiRecord => {
  const r = context.record;
  const id = r.milestone_in_review!;
  return {
    ...r,
    milestone_in_review: null,
    milestones: withMilestone(r, id, (m) => ({
      ...m,
      status,
      ...(status === 'accepted' ? { overdue: false, accepted_at: event.at } : { returned_at: event.at }),
    })),
    review_comments: reviewComment(r, event),
  };
};

const MILESTONE_DEADLINE = 'milestone:';

/** While the project runs, each milestone not yet accepted nor marked overdue is a deadline the scheduler fires. */
const milestoneDeadlines = (c: Ctx): Deadline[] =>
  c.record.milestones.filter((m) => m.status !== 'accepted' && !m.overdue).map((m) => ({ name: `${MILESTONE_DEADLINE}${m.id}`, at: m.due, event: 'MARK_MILESTONE_OVERDUE' }));

const machine = setup({
  types: { context: {} as Ctx, events: {} as Ev, input: {} as Ctx, meta: {} as StateMeta<Ctx> },
  guards: guardsOf(rules),
  actions: {
    replaceApplication: assign({ application: ({ event }) => payloadOf(event, 'REPLACE_APPLICATION') }),
    recordSubmission: assign({ record: ({ context, event }) => ({ ...context.record, submitted_at: event.at }) }),
    recordReviewStart: assign({ record: ({ context, event }) => ({ ...context.record, review_started_at: event.at }) }),
    recordApproval: assign({
      record: ({ context, event }) => {
        const lab = (event.facts as ApproveFacts).lab!;
        return {
          ...context.record,
          approval: { evaluating_lab: { id: lab.id, name: lab.name, accreditation_number: lab.accreditation!.accreditation_number }, approved_at: event.at, by: who(event) },
          milestones: context.application.milestones.map((m) => ({ id: m.id, title: m.title, due: iso(m.due), status: 'pending' as const, overdue: false, submissions: noTally() })),
          review_comments: reviewComment(context.record, event),
        };
      },
    }),
    recordMilestoneSubmission: assign({
      record: ({ context, event }) => {
        const { milestone_id, deliverables, report_sha256 } = payloadOf(event, 'SUBMIT_MILESTONE');
        return {
          ...context.record,
          milestone_in_review: milestone_id,
          milestones: withMilestone(context.record, milestone_id, (m) => ({
            ...m,
            status: 'submitted',
            submissions: counted(m.submissions, event.at),
            last_submission: { seq: event.seq, at: event.at, by: who(event), deliverables, report_sha256 },
          })),
        };
      },
    }),
    recordAcceptance: assign({ record: ({ context, event }) => decideMilestone(context, event, 'accepted') }),
    recordReturn: assign({ record: ({ context, event }) => decideMilestone(context, event, 'returned') }),
    recordOverdue: assign({
      record: ({ context, event }) => {
        const named = (payloadOf(event, 'MARK_MILESTONE_OVERDUE') as { milestone_id?: string }).milestone_id;
        const due = new Set(named !== undefined ? [named] : newlyOverdue(context.record, event.at).map((m) => m.id));
        return {
          ...context.record,
          milestones: context.record.milestones.map((m) =>
            due.has(m.id) ? { ...m, overdue: true, marked_overdue_at: event.at } : m,
          ),
        };
      },
    }),
    recordEvaluation: assign({
      record: ({ context, event }): GenaiRecord => {
        const r = context.record;
        const { benchmark, metrics, verdict } = payloadOf(event, 'POST_SAFETY_EVALUATION');
        return {
          ...r,
          evaluations: counted(r.evaluations, event.at),
          passed_evaluations: verdict === 'pass' ? counted(r.passed_evaluations, event.at) : r.passed_evaluations,
          latest_evaluation: {
            seq: event.seq,
            benchmark,
            metrics,
            verdict,
            stage: r.final_evaluation_requested_at ? 'final' : 'interim',
            lab_id: r.approval!.evaluating_lab.id,
            posted_at: event.at,
            by: who(event),
          },
        };
      },
    }),
    recordFinalEvaluationRequest: assign({ record: ({ context, event }) => ({ ...context.record, final_evaluation_requested_at: event.at }) }),
    recordCompletion: assign({
      record: ({ context, event }) => ({ ...context.record, completion: { completed_at: event.at, by: who(event) }, review_comments: reviewComment(context.record, event) }),
    }),
    recordSuspension: assign({
      record: ({ context, event }) => ({
        ...context.record,
        suspensions: counted(context.record.suspensions, event.at),
        suspension: { seq: event.seq, reason: payloadOf(event, 'SUSPEND').reason, at: event.at, by: who(event) },
      }),
    }),
    recordResumption: assign({
      record: ({ context, event }) => {
        const { suspension } = context.record;
        const comments = payloadOf(event, 'RESUME').comments;
        return {
          ...context.record,
          ...(suspension ? { suspension: { ...suspension, resumed_at: event.at, ...(comments ? { resume_comments: comments } : {}) } } : {}),
          review_comments: reviewComment(context.record, event),
        };
      },
    }),
    recordDecision: assign({
      record: ({ context, event }) => {
        const reason = payloadOf(event, 'WITHDRAW', 'REJECT', 'TERMINATE').reason;
        return { ...context.record, decision: { type: event.type, at: event.at, by: who(event), ...(reason ? { reason } : {}) } };
      },
    }),
  },
}).createMachine({
  id: 'genai',
  initial: 'draft',
  context: ({ input }) => input,
  states: {
    draft: {
      meta: { label: l('Draft', '草稿') },
      on: {
        REPLACE_APPLICATION: { actions: 'replaceApplication' },
        SUBMIT: { target: 'submitted', actions: 'recordSubmission' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    submitted: {
      meta: { label: l('Submitted', '已提交') },
      on: {
        START_REVIEW: { target: 'under_review', actions: 'recordReviewStart' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    under_review: {
      meta: { label: l('Under review', '审查中') },
      on: {
        APPROVE: { target: 'active', guard: 'evaluatingLabAccredited', actions: 'recordApproval' },
        REJECT: { target: 'rejected', actions: 'recordDecision' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    active: {
      meta: { label: l('Active', '进行中'), deadlines: milestoneDeadlines },
      on: {
        SUBMIT_MILESTONE: { target: 'milestone_review', guard: 'milestoneSubmittable', actions: 'recordMilestoneSubmission' },
        POST_SAFETY_EVALUATION: { actions: 'recordEvaluation' },
        REQUEST_FINAL_EVALUATION: { target: 'final_evaluation', guard: 'allMilestonesAccepted', actions: 'recordFinalEvaluationRequest' },
        MARK_MILESTONE_OVERDUE: { guard: 'milestoneDue', actions: 'recordOverdue' },
        SUSPEND: { target: 'suspended', actions: 'recordSuspension' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    milestone_review: {
      meta: { label: l('Milestone review', '里程碑评审中'), deadlines: milestoneDeadlines },
      on: {
        ACCEPT_MILESTONE: { target: 'active', actions: 'recordAcceptance' },
        RETURN_MILESTONE: { target: 'active', actions: 'recordReturn' },
        MARK_MILESTONE_OVERDUE: { guard: 'milestoneDue', actions: 'recordOverdue' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    final_evaluation: {
      meta: { label: l('Final evaluation', '最终评估中') },
      on: {
        // Beyond the SPEC's active → active: the final evaluation is the lab's to post, and without
        // it a project whose interim evaluations all failed could never be completed.
        POST_SAFETY_EVALUATION: { actions: 'recordEvaluation' },
        COMPLETE: { target: 'completed', guard: 'passedEvaluation', actions: 'recordCompletion' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    suspended: {
      meta: { label: l('Suspended', '已暂停') },
      on: {
        RESUME: { target: 'active', actions: 'recordResumption' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    completed: { type: 'final', meta: { label: l('Completed', '已完成') } },
    rejected: { type: 'final', meta: { label: l('Rejected', '不予批准') } },
    withdrawn: { type: 'final', meta: { label: l('Withdrawn', '已撤回') } },
    terminated: { type: 'final', meta: { label: l('Terminated', '已终止') } },
  },
});

/** States in which a project's milestones run; an overdue filter only looks at these. */
export const RUNNING_STATES = ['active', 'milestone_review', 'suspended'] as const;

export const genaiWorkflow = defineWorkflow({
  kind: 'genai-projects',
  title: l('Generative-AI joint-laboratory project', '生成式人工智能联合实验室项目'),
  schemaDir: 'genai',
  numberPrefix: 'GAI',
  machine,
  rules,
  events,
  productOf: () => null,
  // Each milestone is its own deadline (milestone:<id>); its event names the milestone and its due date.
  deadlinePayload: (d) => (d.name.startsWith(MILESTONE_DEADLINE) ? { milestone_id: d.name.slice(MILESTONE_DEADLINE.length), due: d.due_at } : deadlinePayload(d)),
  labOf: (c) => (c.record as GenaiRecord).approval?.evaluating_lab.id ?? null,
  async checkApplication(_lookup, application) {
    const dup = duplicateMilestoneIds(application);
    return dup.length ? refusal(`milestones: each id must be unique; repeated: ${dup.join(', ')}`, `里程碑：编号不得重复；重复的编号：${dup.join('、')}`) : null;
  },
  facts: {
    async APPROVE(lookup, _context, event): Promise<ApproveFacts> {
      const org = await lookup.organization(event.payload.evaluating_lab_id);
      if (!org) return { lab: null };
      const a = org.accreditation as { accreditation_number: string; schemes: string[]; valid_until: string } | null;
      return {
        lab: {
          id: org.id,
          name: org.name,
          kind: org.kind,
          accreditation: a ? { accreditation_number: a.accreditation_number, schemes: a.schemes, valid_until: a.valid_until } : null,
        },
      };
    },
  },
  initialRecord: (): GenaiRecord => ({
    milestones: [],
    milestone_in_review: null,
    evaluations: noTally(),
    passed_evaluations: noTally(),
    review_comments: noTally(),
    suspensions: noTally(),
  }),
  listFilters: {
    overdue: { type: 'boolean', description: 'true: running projects with a milestone past its due date and not accepted; false: none such' },
  },
  applyListFilters(query, q, now) {
    if (typeof q.overdue !== 'boolean') return query;
    const overdue = sql<boolean>`(${sql.ref('cases.state')} in (${sql.join([...RUNNING_STATES])}) and exists (
      select 1 from jsonb_array_elements(${sql.ref('cases.record')}->'milestones') as m
      where m->>'status' <> 'accepted' and (m->>'due')::timestamptz <= ${now.toISOString()}::timestamptz))`;
    return query.where(q.overdue ? overdue : sql<boolean>`not ${overdue}`);
  },
});
