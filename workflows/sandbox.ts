// Sandbox admission (SPEC §3.1): an applicant asks to test a product under supervision; the
// regulator reviews, admits with conditions and a testing period, supervises, and concludes.
import { assign, setup } from 'xstate';
import type { SandboxApplication } from '../src/generated/schemas.js';
import { REPLACE_APPLICATION, deadlineActedOn, guardsOf, iso, withinMonths, type CaseContext, type CaseEvent, type Rule, type Workflow } from './kit.js';

export type SandboxRecord = {
  info_requests: Array<{ seq: number; questions: string[]; respond_by: string; requested_at: string; answers?: string[]; answered_at?: string }>;
  admission?: { conditions: string[]; admitted_at: string; by: string | null };
  testing_period?: { start: string; end: string };
  testing_started_at?: string;
  extensions: Array<{ seq: number; previous_end: string; new_end: string; at: string }>;
  reports: Array<{ seq: number; period_start: string; period_end: string; summary: string; metrics?: Record<string, number>; submitted_at: string }>;
  incidents: Array<{ seq: number; severity: 'minor' | 'serious' | 'critical'; occurred_at: string; description: string; reported_at: string; reported_by: string }>;
  suspensions: Array<{ seq: number; reason: string; at: string; by: string; reinstated_at?: string }>;
  exit_reports: Array<{ seq: number; outcomes: string; lessons: string; compliance_statement: string; submitted_at: string }>;
  exit_requested_at?: string;
  /** The final decision with its payload; INFO_LAPSED's names the deadline that lapsed (deadline, due_at). */
  decision?: { type: string; at: string; reason?: string; outcome?: string; remarks?: string; deadline?: string; due_at?: string };
};

type Ctx = CaseContext<SandboxApplication, SandboxRecord>;
type Ev = CaseEvent;

const MAX_PERIOD_MONTHS = 24;
const MAX_TOTAL_MONTHS = 36;
const MAX_EXTENSIONS = 2;

const rules = {
  respondByInFuture: ({ event }) =>
    new Date(event.payload.respond_by).getTime() > new Date(event.at).getTime() ? null : 'respond_by must be in the future',
  testingPeriodValid: ({ event }) => {
    const { start, end } = event.payload.testing_period;
    if (new Date(end).getTime() <= new Date(start).getTime()) return 'testing_period.end must be after testing_period.start';
    if (!withinMonths(start, end, MAX_PERIOD_MONTHS)) return `the testing period may last at most ${MAX_PERIOD_MONTHS} months`;
    if (new Date(end).getTime() <= new Date(event.at).getTime()) return 'testing_period.end must be in the future';
    return null;
  },
  extensionAllowed: ({ context, event }) => {
    const period = context.record.testing_period!;
    if (context.record.extensions.length >= MAX_EXTENSIONS) return `a testing period may be extended at most ${MAX_EXTENSIONS} times`;
    if (new Date(event.payload.new_end).getTime() <= new Date(period.end).getTime()) return 'new_end must be later than the current end of the testing period';
    if (!withinMonths(period.start, event.payload.new_end, MAX_TOTAL_MONTHS)) return `the testing period may total at most ${MAX_TOTAL_MONTHS} months`;
    return null;
  },
  exitReportIn: ({ context }) => (context.record.exit_reports.length > 0 ? null : 'CONCLUDE needs an exit report (SUBMIT_EXIT_REPORT) first'),
  reportPeriodValid: ({ context, event }) => {
    const start = ms(event.payload.period_start);
    const end = ms(event.payload.period_end);
    if (end <= start) return 'period_end must be after period_start';
    // Testing may start before the planned period (the applicant fires START_TESTING); it counts.
    const period = context.record.testing_period!;
    const from = Math.min(ms(period.start), ms(context.record.testing_started_at ?? period.start));
    if (start < from) return `the report period must lie within the testing period: period_start is before ${iso(new Date(from))}, when testing began`;
    if (end > ms(period.end)) return `the report period must lie within the testing period: period_end is after its end, ${period.end}`;
    if (end > ms(event.at)) return 'the report period must end by now: period_end is in the future';
    return null;
  },
  criticalIncident: ({ event }) => (event.payload.severity === 'critical' ? null : 'the incident is not critical'),
  respondByDeadline: deadlineActedOn('respond_by', (c) => (c.record as SandboxRecord).info_requests.at(-1)?.respond_by),
  testingStartsDeadline: deadlineActedOn('testing_starts_at', (c) => (c.record as SandboxRecord).testing_period?.start),
  testingEndsDeadline: deadlineActedOn('testing_ends_at', (c) => (c.record as SandboxRecord).testing_period?.end),
} satisfies Record<string, Rule>;

const who = (e: Ev) => e.actor.principal_id;
const ms = (s: string) => new Date(s).getTime();

const machine = setup({
  types: { context: {} as Ctx, events: {} as Ev, input: {} as Ctx },
  guards: guardsOf(rules),
  actions: {
    replaceApplication: assign({ application: ({ event }) => event.payload }),
    recordInfoRequest: assign({
      record: ({ context, event }) => ({
        ...context.record,
        info_requests: [...context.record.info_requests, { seq: event.seq, questions: event.payload.questions, respond_by: iso(event.payload.respond_by), requested_at: event.at }],
      }),
    }),
    recordAnswers: assign({
      record: ({ context, event }) => ({
        ...context.record,
        info_requests: context.record.info_requests.map((r, i, all) => (i === all.length - 1 ? { ...r, answers: event.payload.answers, answered_at: event.at } : r)),
      }),
    }),
    recordAdmission: assign({
      record: ({ context, event }) => ({
        ...context.record,
        admission: { conditions: event.payload.conditions, admitted_at: event.at, by: who(event) },
        testing_period: { start: iso(event.payload.testing_period.start), end: iso(event.payload.testing_period.end) },
      }),
    }),
    recordTestingStart: assign({ record: ({ context, event }) => ({ ...context.record, testing_started_at: event.at }) }),
    recordReport: assign({
      record: ({ context, event }) => ({
        ...context.record,
        reports: [...context.record.reports, { seq: event.seq, ...event.payload, submitted_at: event.at }],
      }),
    }),
    recordIncident: assign({
      record: ({ context, event }) => ({
        ...context.record,
        incidents: [...context.record.incidents, { seq: event.seq, ...event.payload, reported_at: event.at, reported_by: event.actor.role }],
      }),
    }),
    recordSuspension: assign({
      record: ({ context, event }) => ({
        ...context.record,
        suspensions: [
          ...context.record.suspensions,
          {
            seq: event.seq,
            reason: event.type === 'REPORT_INCIDENT' ? `critical incident: ${event.payload.description}` : event.payload.reason,
            at: event.at,
            by: event.actor.role,
          },
        ],
      }),
    }),
    recordReinstatement: assign({
      record: ({ context, event }) => ({
        ...context.record,
        suspensions: context.record.suspensions.map((s, i, all) => (i === all.length - 1 ? { ...s, reinstated_at: event.at } : s)),
      }),
    }),
    recordExtension: assign({
      record: ({ context, event }) => ({
        ...context.record,
        extensions: [...context.record.extensions, { seq: event.seq, previous_end: context.record.testing_period!.end, new_end: iso(event.payload.new_end), at: event.at }],
        testing_period: { ...context.record.testing_period!, end: iso(event.payload.new_end) },
      }),
    }),
    recordExitRequest: assign({ record: ({ context, event }) => ({ ...context.record, exit_requested_at: event.at }) }),
    recordExitReport: assign({
      record: ({ context, event }) => ({
        ...context.record,
        exit_reports: [...context.record.exit_reports, { seq: event.seq, ...event.payload, submitted_at: event.at }],
      }),
    }),
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
      on: {
        REPLACE_APPLICATION: { actions: 'replaceApplication' },
        SUBMIT: { target: 'submitted' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    submitted: {
      on: {
        START_REVIEW: { target: 'under_review' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    under_review: {
      on: {
        REQUEST_INFO: { target: 'info_requested', guard: 'respondByInFuture', actions: 'recordInfoRequest' },
        ADMIT: { target: 'admitted', guard: 'testingPeriodValid', actions: 'recordAdmission' },
        REJECT: { target: 'rejected', actions: 'recordDecision' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    info_requested: {
      meta: { deadlines: (c: Ctx) => [{ name: 'respond_by', at: c.record.info_requests.at(-1)!.respond_by, event: 'INFO_LAPSED' }] },
      on: {
        PROVIDE_INFO: { target: 'under_review', actions: 'recordAnswers' },
        INFO_LAPSED: { target: 'lapsed', guard: 'respondByDeadline', actions: 'recordDecision' },
        WITHDRAW: { target: 'withdrawn', actions: 'recordDecision' },
      },
    },
    admitted: {
      meta: { deadlines: (c: Ctx) => [{ name: 'testing_starts_at', at: c.record.testing_period!.start, event: 'START_TESTING' }, { name: 'testing_ends_at', at: c.record.testing_period!.end }] },
      on: {
        START_TESTING: { target: 'testing', guard: 'testingStartsDeadline', actions: 'recordTestingStart' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    testing: {
      meta: { deadlines: (c: Ctx) => [{ name: 'testing_ends_at', at: c.record.testing_period!.end, event: 'PERIOD_ENDED' }] },
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
      meta: { deadlines: (c: Ctx) => [{ name: 'testing_ends_at', at: c.record.testing_period!.end, event: 'PERIOD_ENDED' }] },
      on: {
        REINSTATE: { target: 'testing', actions: 'recordReinstatement' },
        PERIOD_ENDED: { target: 'exit_review', guard: 'testingEndsDeadline' },
        TERMINATE: { target: 'terminated', actions: 'recordDecision' },
      },
    },
    exit_review: {
      on: {
        SUBMIT_EXIT_REPORT: { actions: 'recordExitReport' },
        CONCLUDE: { target: 'exited', guard: 'exitReportIn', actions: 'recordDecision' },
      },
    },
    exited: { type: 'final' },
    rejected: { type: 'final' },
    withdrawn: { type: 'final' },
    lapsed: { type: 'final' },
    terminated: { type: 'final' },
  },
});

export const sandboxWorkflow: Workflow = {
  kind: 'sandbox-cases',
  title: 'Regulatory sandbox admission',
  schemaDir: 'sandbox',
  numberPrefix: 'SBX',
  machine,
  rules,
  events: {
    REPLACE_APPLICATION,
    SUBMIT: { roles: ['applicant'], description: 'Submit the application for review.' },
    WITHDRAW: { roles: ['applicant'], description: 'Withdraw the application before a decision.' },
    START_REVIEW: { roles: ['regulator'], description: 'Start reviewing a submitted application.' },
    REQUEST_INFO: { roles: ['regulator'], payload: true, description: 'Ask the applicant questions, to be answered by respond_by.' },
    PROVIDE_INFO: { roles: ['applicant'], payload: true, description: 'Answer the open information request.' },
    INFO_LAPSED: { roles: ['system'], payload: true, description: 'Fired at respond_by when the questions went unanswered.' },
    ADMIT: { roles: ['regulator'], payload: true, description: 'Admit to the sandbox with conditions and a testing period of at most 24 months.' },
    REJECT: { roles: ['regulator'], payload: true, description: 'Reject the application, with the reason.' },
    START_TESTING: { roles: ['applicant', 'system'], payload: true, description: 'Start testing; fired by the system at testing_period.start (the applicant fires it without a payload).' },
    SUBMIT_REPORT: { roles: ['applicant'], payload: true, description: 'File a periodic testing report for a period within the testing period that has ended.' },
    REPORT_INCIDENT: { roles: ['applicant', 'regulator'], payload: true, description: 'Report an incident; a critical one suspends testing.' },
    SUSPEND: { roles: ['regulator'], payload: true, description: 'Suspend testing, with the reason.' },
    REINSTATE: { roles: ['regulator'], description: 'Lift a suspension.' },
    EXTEND: { roles: ['regulator'], payload: true, description: 'Extend the testing period (at most twice, 36 months in all).' },
    REQUEST_EXIT: { roles: ['applicant'], description: 'Ask to leave the sandbox before the period ends.' },
    PERIOD_ENDED: { roles: ['system'], payload: true, description: 'Fired when the testing period ends.' },
    SUBMIT_EXIT_REPORT: { roles: ['applicant'], payload: true, description: 'File the exit report: outcomes, lessons and a compliance statement.' },
    CONCLUDE: { roles: ['regulator'], payload: true, description: 'Conclude the exit review: graduated or not.' },
    TERMINATE: { roles: ['regulator'], payload: true, description: 'Terminate participation, with the reason.' },
  },
  productOf: (application) => application.product_id ?? null,
  labOf: () => null,
  async checkApplication(lookup, application, organizationId) {
    const product = await lookup.product(application.product_id);
    if (!product || product.organization_id !== organizationId) return 'product_id must name a product of your organization';
    return null;
  },
  initialRecord: (): SandboxRecord => ({ info_requests: [], extensions: [], reports: [], incidents: [], suspensions: [], exit_reports: [] }),
};
