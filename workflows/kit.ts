// Shared vocabulary of the case machines. A workflow is an XState v5 machine plus the facts the
// machine cannot know by itself (roles of each event, rule messages, deadlines, what to look up).
import { and, type AnyStateMachine } from 'xstate';

export type ActorRole = 'admin' | 'regulator' | 'lab' | 'applicant' | 'system';

export type EventActor = { principal_id: string | null; role: ActorRole };

/** The event a machine receives: what the caller sent plus who, when, and looked-up facts. */
export type CaseEvent<P = any, F = any, T extends string = string> = {
  type: T;
  payload: P;
  actor: EventActor;
  at: string;
  seq: number;
  facts: F;
};

/** The payload of an event that has no schema file: nothing. */
export type NoPayload = Record<string, never>;

/**
 * A machine's events, each with its own payload type: `P` maps an event type to the type generated
 * from its schema file (src/generated/schemas.ts, e.g. SandboxEventPayloads); the others carry {}.
 * Actions and rules read an event's payload with payloadOf.
 */
export type CaseEventOf<P, K extends string> = { [T in K]: CaseEvent<T extends keyof P ? P[T] : NoPayload, any, T> }[K];

/**
 * The payload of an action's or rule's event, typed as the event's own: the machine sends every
 * event through the same actions and guards, so one that reads a payload names the events it serves
 * (and throws if another reaches it, a mistake in the machine).
 */
export function payloadOf<E extends { type: string; payload: unknown }, K extends E['type']>(event: E, ...types: K[]): Extract<E, { type: K }>['payload'] {
  if (!(types as string[]).includes(event.type)) throw new Error(`${event.type} reached an action or rule of ${types.join(', ')} only`);
  return event.payload as Extract<E, { type: K }>['payload'];
}

export type CaseContext<A = any, R = any> = {
  case_id: string;
  number: string;
  organization_id: string;
  application: A;
  record: R;
};

/**
 * What a record keeps of a kind of item that accumulates (reports, incidents, retest rounds, …):
 * how many there are and when the latest came (SPEC §2). The items themselves are events, read from
 * the case's history (GET /v1/:kind/:id/events?type=…), so a record stays the same size however long
 * its case lives, and an event costs the same on the first day and after five years.
 */
export type Tally = { count: number; latest_at: string | null };

/** No items yet. */
export const noTally = (): Tally => ({ count: 0, latest_at: null });

/** One more item, at `at` (the event's time). */
export const counted = (t: Tally, at: string): Tally => ({ count: t.count + 1, latest_at: at });

// ---- what people read: every name in Simplified Chinese and English ----

export const LANGS = ['zh-Hans', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export type Label = Record<Lang, string>;
/** A label in both languages. */
export const l = (en: string, zh: string): Label => ({ en, 'zh-Hans': zh });
export const isLabel = (x: unknown): x is Label =>
  typeof x === 'object' && x !== null && LANGS.every((lang) => typeof (x as Record<string, unknown>)[lang] === 'string' && (x as Record<string, string>)[lang]!.trim() !== '');

export type WorkflowLabels = {
  title: Label;
  states: Record<string, Label>;
  events: Record<string, Label>;
  /** What the certificate register's Reason column says of a status change the event made without a reason of the regulator's. */
  statusReasons: Record<string, Label>;
};

/** The public status of a certificate (SPEC §4b): what a certification state means on the register. */
export type CertificateStatus = 'valid' | 'suspended' | 'revoked' | 'expired';
/** What the register copies of a case's certificate (the holder, product and lab come from the case's columns). */
export type IssuedCertificate = { number: string; scheme: string; issued_at: string; valid_until: string };

// ---- events and states, each declared once beside the machine ----

/**
 * What a workflow declares of an event, once, beside the machine's transitions. Whether it carries
 * a payload is not declared: it does when schemas/<dir>/events/<TYPE>.json exists (defineWorkflow).
 */
export type EventDecl = {
  /** Who may fire it. `system` means the scheduler fires it when a deadline falls due. */
  roles: ActorRole[];
  description: string;
  label: Label;
  /** Not fired through POST …/events (e.g. the draft edit behind PATCH). */
  internal?: boolean;
  /** The register's Reason for a certificate status change this event made without a reason given (see WorkflowLabels). */
  statusReason?: Label;
};

/** What each state's `meta` declares: its label, the deadlines it sets, the certificate status it means. */
export type StateMeta<C = any> = {
  label: Label;
  deadlines?: (context: C) => Deadline[];
  /** A certification state that holds a certificate: the status the register shows (written with the case). */
  certificateStatus?: CertificateStatus;
};

/** The event catalogue as the engine, routes and docs read it: derived from the declarations by defineWorkflow. */
export type EventSpec = {
  roles: ActorRole[];
  /** True when the event carries a payload, validated by schemas/<dir>/events/<TYPE>.json. */
  payload?: boolean;
  internal?: boolean;
  description: string;
};

/**
 * Why a rule refused, in both languages, declared where the rule is. The API's problem `detail` is
 * its English, unchanged; the workbench shows it in the page's language. Values (ids, dates, names,
 * numbers) appear in both as they are.
 */
export type Refusal = Label;
/** A refusal in both languages (the same as l, named for what it is). */
export const refusal = (en: string, zh: string): Refusal => l(en, zh);

/** An application's check: the product it names must be one of the applicant's organization. */
export const NOT_YOUR_PRODUCT: Refusal = refusal('product_id must name a product of your organization', '所选产品须为本单位的产品');

/** A rule answers null when satisfied, otherwise the refusal that explains it. */
export type Rule<C = CaseContext, E = CaseEvent> = (args: { context: C; event: E }) => Refusal | null;
export type RuleArgs = { context: CaseContext; event: CaseEvent };

export type Deadline = { name: string; at: string; event?: string };

export type Accreditation = { accreditation_number: string; schemes: string[]; valid_until: string };

/** What a workflow may look up in the registry (implemented over the database by the engine). */
export interface Lookup {
  organization(id: string): Promise<{ id: string; name: string; kind: string; accreditation: any | null } | null>;
  /** The accreditation the organization held at a past time: the one last set at or before it (null if none was). */
  accreditationAt(organizationId: string, at: string): Promise<Accreditation | null>;
  product(id: string): Promise<{ id: string; organization_id: string; kind: string; name: string; version: string } | null>;
  scheme(code: string): Promise<{ code: string; product_kinds: string[]; validity_months: number; criteria: Array<{ id: string; title: string; mandatory: boolean }> } | null>;
  nextNumber(prefix: string, year: number): Promise<string>;
}

export type Workflow = {
  /** URL segment and stored kind: sandbox-cases, certification-cases, genai-projects. */
  kind: string;
  /** Its English title (labels.title has both languages). */
  title: string;
  /** Folder under schemas/ with application.json and events/<TYPE>.json. */
  schemaDir: string;
  numberPrefix: string;
  machine: AnyStateMachine;
  events: Record<string, EventSpec>;
  /** The labels of its title, states and events, from their declarations. */
  labels: WorkflowLabels;
  /** The certificate status each state that holds a certificate means (state meta certificateStatus). */
  certificateStatus: Record<string, CertificateStatus>;
  /**
   * The certificate a case holds, if any: the engine writes its row of the public register (with the
   * status its state means) in the same statement as the event.
   */
  certificateOf?(context: CaseContext): IssuedCertificate | null;
  rules: Record<string, Rule<any, any>>;
  /** The product a case concerns, if any, read from its application. */
  productOf(application: any): string | null;
  /** The lab organization currently involved (assigned or evaluating), who may then see the case. */
  labOf(context: CaseContext): string | null;
  /** Checks on an application that need the registry (e.g. the product is the applicant's). */
  checkApplication?(lookup: Lookup, application: any, organizationId: string): Promise<Refusal | null>;
  /** The payload of the system event fired for a due deadline: what it acted on (default: deadlinePayload). */
  deadlinePayload?(deadline: { name: string; due_at: string }): Record<string, unknown>;
  /** Facts looked up before an event and recorded with it, so replays need no database. */
  facts?: Record<string, (lookup: Lookup, context: CaseContext, event: Omit<CaseEvent, 'facts'>) => Promise<unknown>>;
  initialRecord(): Record<string, unknown>;
  /** Extra list filters of this kind: their query-string schema, and how they narrow the query. */
  listFilters?: Record<string, unknown>;
  applyListFilters?(query: any, q: Record<string, unknown>, now: Date): any;
};

/** Guards for xstate's setup(), derived from the rules: one definition of each rule. */
export function guardsOf<R extends Record<string, Rule<any, any>>>(rules: R): { [K in keyof R]: (args: Parameters<R[K]>[0]) => boolean } {
  const out: Record<string, (args: never) => boolean> = {};
  for (const [name, rule] of Object.entries(rules)) out[name] = (args) => rule(args) === null;
  return out as { [K in keyof R]: (args: Parameters<R[K]>[0]) => boolean };
}

// xstate's and([...]) guards are recognised by their check function, the same for every and().
const AND_CHECK = (and([]) as unknown as { check: unknown }).check;

/**
 * The rules a transition's guard stands for, in the order they are judged: one named guard, or each
 * guard of an and([...]). The engine names the first that refuses; the workflow docs show them all.
 */
export function ruleNames(guard: unknown): string[] {
  if (typeof guard === 'string') return [guard];
  const g = guard as { type?: unknown; check?: unknown; guards?: unknown[] } | undefined;
  if (g && g.check === AND_CHECK && Array.isArray(g.guards)) return g.guards.flatMap(ruleNames);
  return typeof g?.type === 'string' ? [g.type] : [];
}

/** What the scheduler says a system event acted on: the deadline and when it fell due. */
export const deadlinePayload = (d: { name: string; due_at: string }): Record<string, unknown> => ({ deadline: d.name, due_at: d.due_at });

/** The event a due deadline fires: its payload says which deadline it acted on, so the history does (the scheduler fires it, verify looks for it). */
export const deadlineEvent = (wf: Pick<Workflow, 'deadlinePayload'>, d: { name: string; event_type: string; due_at: Date | string }) => ({
  type: d.event_type,
  payload: (wf.deadlinePayload ?? deadlinePayload)({ name: d.name, due_at: new Date(d.due_at).toISOString() }),
});

/**
 * The rule of a system event fired for a deadline: the deadline its payload names must be the case's
 * own (`dueOf`). Whether it may fire before then is the event's own rule (an operator may end a
 * period early with `cli fire`; the history then shows it fired before due_at). Only the system names
 * a deadline; events recorded before system events carried payloads name none, and replay as they were.
 */
export function deadlineActedOn(name: string, dueOf: (context: CaseContext) => string | undefined): Rule {
  return ({ context, event }) => {
    const { deadline, due_at } = (event.payload ?? {}) as { deadline?: string; due_at?: string };
    if (deadline === undefined && due_at === undefined) return null;
    if (event.actor.role !== 'system') return refusal(`only the scheduler names the deadline ${name} an event acted on`, `只有系统调度程序才能指明事件所依据的期限 ${name}`);
    if (deadline !== name || due_at === undefined) return refusal(`a system event acting on a deadline names it (deadline: ${name}) and its due_at`, `依据期限办理的系统事件须指明该期限（${name}）及其到期时间`);
    const due = dueOf(context);
    if (due === undefined || new Date(due).getTime() !== new Date(due_at).getTime())
      return refusal(`the case's deadline ${name} is ${due ?? 'not set'}, not ${due_at}`, `本案件的期限 ${name} ${due === undefined ? '未设定' : `为 ${due}`}，而非 ${due_at}`);
    return null;
  };
}

/** True when end is no later than start plus n calendar months. */
export const withinMonths = (start: string | Date, end: string | Date, n: number): boolean =>
  new Date(end).getTime() <= addMonths(new Date(start), n).getTime();

/** Adds calendar months, clamping to the last day of a shorter month (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(d: Date, months: number): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const target = new Date(Date.UTC(y, m, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target;
}

export const iso = (s: string | Date): string => (typeof s === 'string' ? new Date(s) : s).toISOString();

/** The draft edit behind PATCH: replaces the application, recorded like any other event. */
export const REPLACE_APPLICATION = (label = l('Edit application', '修改申请')): EventDecl => ({
  roles: ['applicant'],
  internal: true,
  description: 'Replace the application while the case is a draft (PATCH).',
  label,
});
