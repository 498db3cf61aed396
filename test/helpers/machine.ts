import type { AnyMachineSnapshot } from 'xstate';
import type { ActorRole, CaseContext, CaseEvent, Workflow } from '../../workflows/kit.js';
import { initialSnapshot, resolveSnapshot, step } from '../../src/engine/machine.js';

export const T0 = '2026-06-01T00:00:00.000Z';
export const at = (days: number, from = T0) => new Date(new Date(from).getTime() + days * 86_400_000).toISOString();

export type EventOpts = { at?: string; role?: ActorRole; facts?: unknown };
/** One event: its type, payload (default {}) and who fires it when, with what facts. */
export type Step = [type: string, payload?: unknown, opts?: EventOpts];

export type GivenOpts = {
  application?: unknown;
  organization_id?: string;
  number?: string;
  /** When an event happens unless it says: T0 by default. */
  at?: string;
  /**
   * Who fires an event that names no role: a role, or 'declared' for the first role the
   * workflow declares for that event (regulator by default; the machine itself does not check roles).
   */
  role?: ActorRole | 'declared';
};

/** The outcome of one more event: not handled in this state, refused by a rule, or the next state. */
export type Outcome<R> =
  | { handled: false; state: string; violation?: undefined; context?: undefined; record?: undefined }
  | { handled: true; state: string; violation: { rule: string; message: string }; context?: undefined; record?: undefined }
  | { handled: true; state: string; violation?: undefined; context: CaseContext<any, R>; record: R };

/** Given/when/then over a workflow's machine, no database: events are applied with the engine's pure step. */
export function given<R = any>(wf: Workflow, opts: GivenOpts = {}) {
  let seq = 1;
  let snap: AnyMachineSnapshot = initialSnapshot(wf, {
    case_id: '00000000-0000-4000-8000-000000000001',
    number: opts.number ?? 'X-2026-000001',
    organization_id: opts.organization_id ?? '00000000-0000-4000-8000-0000000000aa',
    application: opts.application ?? {},
    record: wf.initialRecord(),
  } as CaseContext);
  const roleOf = (type: string): ActorRole => {
    const role = opts.role ?? 'regulator';
    return role === 'declared' ? (wf.events[type]?.roles[0] ?? 'regulator') : role;
  };
  const ev = ([type, payload, o]: Step): CaseEvent => ({
    type,
    payload: payload ?? {},
    actor: { principal_id: null, role: o?.role ?? roleOf(type) },
    at: o?.at ?? opts.at ?? T0,
    seq: ++seq,
    facts: o?.facts ?? null,
  });
  const api = {
    /** Applies events that must all succeed. */
    events(...list: Step[]) {
      for (const e of list) {
        const next = step(wf, snap, ev(e));
        if ('violation' in next) throw new Error(`given ${e[0]} was refused: ${next.violation.message}`);
        snap = next;
      }
      return api;
    },
    /** The outcome of one more event; the machine stays where it was. */
    when(...e: Step): Outcome<R> {
      const state = String(snap.value);
      if (!wf.machine.root.states[state]?.transitions.has(e[0])) return { handled: false, state };
      const next = step(wf, snap, ev(e));
      if ('violation' in next) return { handled: true, state, violation: next.violation };
      const context = next.context as CaseContext<any, R>;
      return { handled: true, state: String(next.value), context, record: context.record };
    },
    get state() {
      return String(snap.value);
    },
    get context() {
      return snap.context as CaseContext<any, R>;
    },
    get record() {
      return (snap.context as CaseContext<any, R>).record;
    },
    /** Puts the machine in a state with this record, as if events had brought it there. */
    at(state: string, record: unknown) {
      snap = resolveSnapshot(wf, state, { ...(snap.context as CaseContext), record: record as never });
      return api;
    },
  };
  return api;
}
