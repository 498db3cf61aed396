// Sandbox admission (SPEC §3.1): an applicant asks to test a product under supervision; the
// regulator reviews, admits with conditions and a testing period, supervises, and concludes.
import { assign, setup } from 'xstate';
import type { SandboxApplication, SandboxEventPayloads as Payloads } from '../src/generated/schemas.js';
import { defineWorkflow } from './define.js';
import { NOT_YOUR_PRODUCT, REPLACE_APPLICATION, counted, deadlineActedOn, guardsOf, iso, l, noTally, payloadOf, refusal, withinMonths, type CaseContext, type CaseEventOf, type EventDecl, type Rule, type StateMeta, type Tally } from './kit.js';

export type SandboxRecord = {
  /** Every REQUEST_INFO, counted; the questions and the answers are the events' (GET …/events?type=REQUEST_INFO,PROVIDE_INFO). */
  info_requests: Tally;
  /** The latest information request (what respond_by and the pages act on); its answers are PROVIDE_INFO's event. */
  info_request?: { seq: number; questions: string[]; respond_by: string; requested_at: string; answered_at?: string };
  admission?: { conditions: string[]; admitted_at: string; by: string | null };
  testing_period?: { start: string; end: string };
  testing_started_at?: string;
  /** The EXTEND rule counts these (at most 2); each extension's new end is its event's. */
  extensions: Tally;
  /** Periodic reports (SUBMIT_REPORT events). */
  reports: Tally;
  /** Incidents (REPORT_INCIDENT events). */
  incidents: Tally;
  /** Suspensions, by SUSPEND or by a critical incident. */
  suspensions: Tally;
  /** The latest suspension, with when it was lifted. */
  suspension?: { seq: number; reason: string; at: string; by: string; reinstated_at?: string };
  /** CONCLUDE needs one (count > 0); their contents are SUBMIT_EXIT_REPORT events. */
  exit_reports: Tally;
  exit_requested_at?: string;
  /** The final decision with its payload; INFO_LAPSED's names the deadline that lapsed (deadline, due_at). */
  decision?: { type: string; at: string; reason?: string; outcome?: string; remarks?: string; deadline?: string; due_at?: string };
};

/** Every event of the machine, declared once; its payload schema, if any, is schemas/sandbox/events/<TYPE>.json. */
const events = {
  REPLACE_APPLICATION: REPLACE_APPLICATION(),
  SUBMIT: { roles: ['applicant'], description: 'Submit the application for review.', label: l('Submit', '提交申请') },
  WITHDRAW: { roles: ['applicant'], description: 'Withdraw the application before a decision.', label: l('Withdraw', '撤回申请') },
  START_REVIEW: { roles: ['regulator'], description: 'Start reviewing a submitted application.', label: l('Start review', '开始审查') },
  REQUEST_INFO: { roles: ['regulator'], description: 'Ask the applicant questions, to be answered by respond_by.', label: l('Request information', '要求补充材料') },
  PROVIDE_INFO: { roles: ['applicant'], description: 'Answer the open information request.', label: l('Provide information', '补充材料') },
  INFO_LAPSED: { roles: ['system'], description: 'Fired at respond_by when the questions went unanswered.', label: l('Information deadline passed', '补充材料逾期') },
  ADMIT: { roles: ['regulator'], description: 'Admit to the sandbox with conditions and a testing period of at most 24 months.', label: l('Admit', '准入') },
  REJECT: { roles: ['regulator'], description: 'Reject the application, with the reason.', label: l('Reject', '不予准入') },
  START_TESTING: { roles: ['applicant', 'system'], description: 'Start testing; fired by the system at testing_period.start (the applicant fires it without a payload).', label: l('Start testing', '开始测试') },
  SUBMIT_REPORT: { roles: ['applicant'], description: 'File a periodic testing report for a period within the testing period that has ended.', label: l('Submit report', '提交阶段报告') },
  REPORT_INCIDENT: { roles: ['applicant', 'regulator'], description: 'Report an incident; a critical one suspends testing.', label: l('Report incident', '报告安全事件') },
  SUSPEND: { roles: ['regulator'], description: 'Suspend testing, with the reason.', label: l('Suspend', '暂停测试') },
  REINSTATE: { roles: ['regulator'], description: 'Lift a suspension.', label: l('Reinstate', '恢复测试') },
  EXTEND: { roles: ['regulator'], description: 'Extend the testing period (at most twice, 36 months in all).', label: l('Extend testing period', '延长测试期') },
  REQUEST_EXIT: { roles: ['applicant'], description: 'Ask to leave the sandbox before the period ends.', label: l('Request exit', '申请退出') },
  PERIOD_ENDED: { roles: ['system'], description: 'Fired when the testing period ends.', label: l('Testing period ended', '测试期届满') },
  SUBMIT_EXIT_REPORT: { roles: ['applicant'], description: 'File the exit report: outcomes, lessons and a compliance statement.', label: l('Submit exit report', '提交退出报告') },
  CONCLUDE: { roles: ['regulator'], description: 'Conclude the exit review: graduated or not.', label: l('Conclude exit review', '完成退出评估') },
  TERMINATE: { roles: ['regulator'], description: 'Terminate participation, with the reason.', label: l('Terminate', '终止') },
} satisfies Record<string, EventDecl>;

type Ctx = CaseContext<SandboxApplication, SandboxRecord>;
type Ev = CaseEventOf<Payloads, keyof typeof events>;

const MAX_PERIOD_MONTHS = 24;
const MAX_TOTAL_MONTHS = 36;
const MAX_EXTENSIONS = 2;

const rules = {
  respondByInFuture: ({ event }) =>
    new Date(payloadOf(event, 'REQUEST_INFO').respond_by).getTime() > new Date(event.at).getTime() ? null : refusal('respond_by must be in the future', '答复期限须晚于当前时间'),
  testingPeriodValid: ({ event }) => {
    const { start, end } = payloadOf(event, 'ADMIT').testing_period;
    if (new Date(end).getTime() <= new Date(start).getTime()) return refusal('testing_period.end must be after testing_period.start', '测试期的结束时间须晚于开始时间');
    if (!withinMonths(start, end, MAX_PERIOD_MONTHS)) return refusal(`the testing period may last at most ${MAX_PERIOD_MONTHS} months`, `测试期最长为 ${MAX_PERIOD_MONTHS} 个月`);
    if (new Date(end).getTime() <= new Date(event.at).getTime()) return refusal('testing_period.end must be in the future', '测试期的结束时间须晚于当前时间');
    return null;
  },
  extensionAllowed: ({ context, event }) => {
    const period = context.record.testing_period!;
    const { new_end } = payloadOf(event, 'EXTEND');
    if (context.record.extensions.count >= MAX_EXTENSIONS) return refusal(`a testing period may be extended at most ${MAX_EXTENSIONS} times`, `测试期最多可延长 ${MAX_EXTENSIONS} 次`);
    if (new Date(new_end).getTime() <= new Date(period.end).getTime()) return refusal('new_end must be later than the current end of the testing period', '新的测试结束时间须晚于测试期当前的结束时间');
    if (!withinMonths(period.start, new_end, MAX_TOTAL_MONTHS)) return refusal(`the testing period may total at most ${MAX_TOTAL_MONTHS} months`, `测试期合计最长为 ${MAX_TOTAL_MONTHS} 个月`);
    return null;
  },
  exitReportIn: ({ context }) => (context.record.exit_reports.count > 0 ? null : refusal('CONCLUDE needs an exit report (SUBMIT_EXIT_REPORT) first', '须先提交退出报告，方可完成退出评估')),
  reportPeriodValid: ({ context, event }) => {
    const report = payloadOf(event, 'SUBMIT_REPORT');
    const start = ms(report.period_start);
    const end = ms(report.period_end);
    if (end <= start) return refusal('period_end must be after period_start', '报告期结束须晚于报告期开始');
    // Testing may start before the planned period (the applicant fires START_TESTING); it counts.
    const period = context.record.testing_period!;
    const from = Math.min(ms(period.start), ms(context.record.testing_started_at ?? period.start));
    if (start < from) return refusal(`the report period must lie within the testing period: period_start is before ${iso(new Date(from))}, when testing began`, `报告期须在测试期内：报告期开始早于测试开始的时间 ${iso(new Date(from))}`);
    if (end > ms(period.end)) return refusal(`the report period must lie within the testing period: period_end is after its end, ${period.end}`, `报告期须在测试期内：报告期结束晚于测试期的结束时间 ${period.end}`);
    if (end > ms(event.at)) return refusal('the report period must end by now: period_end is in the future', '报告期须已结束：报告期结束晚于当前时间');
    return null;
  },
  criticalIncident: ({ event }) => (payloadOf(event, 'REPORT_INCIDENT').severity === 'critical' ? null : refusal('the incident is not critical', '该事件并非危急事件')),
  respondByDeadline: deadlineActedOn('respond_by', (c) => (c.record as SandboxRecord).info_request?.respond_by),
  testingStartsDeadline: deadlineActedOn('testing_starts_at', (c) => (c.record as SandboxRecord).testing_period?.start),
  testingEndsDeadline: deadlineActedOn('testing_ends_at', (c) => (c.record as SandboxRecord).testing_period?.end),
} satisfies Record<string, Rule<Ctx, Ev>>;

const who = (e: Ev) => e.actor.principal_id;
const ms = (s: string) => new Date(s).getTime();

const machine = setup({
  types: { context: {} as Ctx, events: {} as Ev, input: {} as Ctx, meta: {} as StateMeta<Ctx> },
  guards: guardsOf(rules),
  actions: {
    replaceApplication: assign({ application: ({ event }) => payloadOf(event, 'REPLACE_APPLICATION') }),
    recordInfoRequest: assign({
      record: ({ context, event }) => {
        const { questions, respond_by } = payloadOf(event, 'REQUEST_INFO');
        return {
          ...context.record,
          info_requests: counted(context.record.info_requests, event.at),
          info_request: { seq: event.seq, questions, respond_by: iso(respond_by), requested_at: event.at },
        };
      },
    }),
    recordAnswers: assign({
      record: ({ context, event }) => ({ ...context.record, info_request: { ...context.record.info_request!, answered_at: event.at } }),
    }),
    recordAdmission: assign({
      record: ({ context, event }) => {
        const { conditions, testing_period } = payloadOf(event, 'ADMIT');
        return {
          ...context.record,
          admission: { conditions, admitted_at: event.at, by: who(event) },
          testing_period: { start: iso(testing_period.start), end: iso(testing_period.end) },
        };
      },
    }),
    recordTestingStart: assign({ record: ({ context, event }) => ({ ...context.record, testing_started_at: event.at }) }),
    recordReport: assign({ record: ({ context, event }) => ({ ...context.record, reports: counted(context.record.reports, event.at) }) }),
    recordIncident: assign({ record: ({ context, event }) => ({ ...context.record, incidents: counted(context.record.incidents, event.at) }) }),
    recordSuspension: assign({
      record: ({ context, event }) => ({
        ...context.record,
        suspensions: counted(context.record.suspensions, event.at),
        suspension: {
          seq: event.seq,
          reason: event.type === 'REPORT_INCIDENT' ? `critical incident: ${event.payload.description}` : payloadOf(event, 'SUSPEND').reason,
          at: event.at,
          by: event.actor.role,
        },
      }),
    }),
    recordReinstatement: assign({
      record: ({ context, event }) => ({ ...context.record, suspension: { ...context.record.suspension!, reinstated_at: event.at } }),
    }),
    recordExtension: assign({
      record: ({ context, event }) => ({
        ...context.record,
        extensions: counted(context.record.extensions, event.at),
        testing_period: { ...context.record.testing_period!, end: iso(payloadOf(event, 'EXTEND').new_end) },
      }),
    }),
    recordExitRequest: assign({ record: ({ context, event }) => ({ ...context.record, exit_requested_at: event.at }) }),
    recordExitReport: assign({ record: ({ context, event }) => ({ ...context.record, exit_reports: counted(context.record.exit_reports, event.at) }) }),
    recordDecision: assign({
      record: ({ context, event }) => ({ ...context.record, decision: { type: event.type, at: event.at, ...(event.payload ?? {}) } }),
    }),
  },
}).createMachine({
  id: 'sandbox',
  initial: 'draft',
  context: ({ input }) => input,
  states: {
    draft: {
      meta: { label: l('Draft', '草稿') },
      on: {
        REPLACE_APPLICATION: { actions: 'replaceApplication' },
        SUBMIT: { target: 'submitted' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    submitted: {
      meta: { label: l('Submitted', '已提交') },
      on: {
        START_REVIEW: { target: 'under_review' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    under_review: {
      meta: { label: l('Under review', '审查中') },
      on: {
        REQUEST_INFO: { target: 'info_requested', guard: 'respondByInFuture', actions: 'recordInfoRequest' },
        ADMIT: { target: 'admitted', guard: 'testingPeriodValid', actions: 'recordAdmission' },
        REJECT: { target: 'rejected', actions: 'recordDecision' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    info_requested: {
      meta: {
        label: l('Information requested', '待补充材料'),
        deadlines: (c: Ctx) => [{ name: 'respond_by', at: c.record.info_request!.respond_by, event: 'INFO_LAPSED' }],
      },
      on: {
        PROVIDE_INFO: { target: 'under_review', actions: 'recordAnswers' },
        INFO_LAPSED: { target: 'lapsed', guard: 'respondByDeadline', actions: 'recordDecision' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    admitted: {
      meta: {
        label: l('Admitted', '已准入'),
        deadlines: (c: Ctx) => [{ name: 'testing_starts_at', at: c.record.testing_period!.start, event: 'START_TESTING' }, { name: 'testing_ends_at', at: c.record.testing_period!.end }],
      },
      on: {
        START_TESTING: { target: 'testing', guard: 'testingStartsDeadline', actions: 'recordTestingStart' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    testing: {
      meta: {
        label: l('Testing', '测试中'),
        deadlines: (c: Ctx) => [{ name: 'testing_ends_at', at: c.record.testing_period!.end, event: 'PERIOD_ENDED' }],
      },
      on: {
        SUBMIT_REPORT: { guard: 'reportPeriodValid', actions: 'recordReport' },
        REPORT_INCIDENT: [
          { guard: 'criticalIncident', target: 'suspended', actions: ['recordIncident', 'recordSuspension'] },
          { actions: 'recordIncident' },
        ],
        SUSPEND: { target: 'suspended', actions: 'recordSuspension' },
        EXTEND: { guard: 'extensionAllowed', actions: 'recordExtension' },
        REQUEST_EXIT: { target: 'exit_review', actions: 'recordExitRequest' },
        PERIOD_ENDED: { target: 'exit_review', guard: 'testingEndsDeadline' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    suspended: {
      meta: {
        label: l('Suspended', '已暂停'),
        deadlines: (c: Ctx) => [{ name: 'testing_ends_at', at: c.record.testing_period!.end, event: 'PERIOD_ENDED' }],
      },
      on: {
        REINSTATE: { target: 'testing', actions: 'recordReinstatement' },
        PERIOD_ENDED: { target: 'exit_review', guard: 'testingEndsDeadline' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    exit_review: {
      meta: { label: l('Exit review', '退出评估中') },
      on: {
        SUBMIT_EXIT_REPORT: { actions: 'recordExitReport' },
        CONCLUDE: { target: 'exited', guard: 'exitReportIn', actions: 'recordDecision' },
      },
    },
    exited: { type: 'final', meta: { label: l('Exited', '已退出') } },
    rejected: { type: 'final', meta: { label: l('Rejected', '不予准入') } },
    withdrawn: { type: 'final', meta: { label: l('Withdrawn', '已撤回') } },
    lapsed: { type: 'final', meta: { label: l('Lapsed', '逾期失效') } },
    terminated: { type: 'final', meta: { label: l('Terminated', '已终止') } },
  },
});

export const sandboxWorkflow = defineWorkflow({
  kind: 'sandbox-cases',
  title: l('Regulatory sandbox admission', '监管沙盒准入'),
  schemaDir: 'sandbox',
  numberPrefix: 'SBX',
  machine,
  events,
  rules,
  productOf: (application) => application.product_id ?? null,
  labOf: () => null,
  async checkApplication(lookup, application, organizationId) {
    const product = await lookup.product(application.product_id);
    if (!product || product.organization_id !== organizationId) return NOT_YOUR_PRODUCT;
    return null;
  },
  initialRecord: (): SandboxRecord => ({ info_requests: noTally(), extensions: noTally(), reports: noTally(), incidents: noTally(), suspensions: noTally(), exit_reports: noTally() }),
});
