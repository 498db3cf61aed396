import type { AnyMachineSnapshot } from 'xstate';
import type { CaseContext, CaseEvent, Workflow } from '../../workflows/kit.js';
import { initialSnapshot, resolveSnapshot, step } from '../../src/engine/machine.js';

export const T0 = '2026-06-01T00:00:00.000Z';
export const at = (days: number, from = T0) => new Date(new Date(from).getTime() + days * 86_400_000).toISOString();

/** Given/when/then over a machine, no database: events are applied with the engine's pure step. */
export function given(wf: Workflow, application: unknown = {}) {
  let seq = 1;
  let snap: AnyMachineSnapshot = initialSnapshot(wf, {
    case_id: '00000000-0000-4000-8000-000000000001',
    number: 'X-2026-000001',
    organization_id: '00000000-0000-4000-8000-0000000000aa',
    application,
    record: wf.initialRecord(),
  } as CaseContext);
  const ev = (type: string, payload: any = {}, opts: { at?: string; role?: string; facts?: unknown } = {}): CaseEvent => ({
    type,
    payload,
    actor: { principal_id: null, role: (opts.role ?? 'regulator') as never },
    at: opts.at ?? at(0),
    seq: ++seq,
    facts: opts.facts ?? null,
  });
  const api = {
    /** Applies events that must all succeed. */
    events(...list: Array<[string, any?, { at?: string; role?: string; facts?: unknown }?]>) {
      for (const [type, payload, opts] of list) {
        const next = step(wf, snap, ev(type, payload, opts));
        if ('violation' in next) throw new Error(`given ${type} was refused: ${next.violation.message}`);
        snap = next;
      }
      return api;
    },
    /** The outcome of one more event: the next state and context, or the rule that refused it. */
    when(type: string, payload: any = {}, opts: { at?: string; role?: string; facts?: unknown } = {}) {
      const handled = wf.machine.root.states[String(snap.value)]?.transitions.has(type) ?? false;
      if (!handled) return { handled: false as const, state: String(snap.value) };
      const next = step(wf, snap, ev(type, payload, opts));
      if ('violation' in next) return { handled: true as const, violation: next.violation, state: String(snap.value) };
      return { handled: true as const, state: String(next.value), context: next.context as CaseContext };
    },
    get state() {
      return String(snap.value);
    },
    get context() {
      return snap.context as CaseContext;
    },
    at(state: string, record: unknown) {
      snap = resolveSnapshot(wf, state, { ...(snap.context as CaseContext), record: record as never });
      return api;
    },
  };
  return api;
}
