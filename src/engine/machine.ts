// Reading a workflow's machine (the table of legal transitions) and stepping it, purely: the
// engine judges events with these, the audit replay re-runs them, the docs describe them.
import { createActor, type AnyActorScope, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { refusal, ruleNames, type CaseContext, type CaseEvent, type Deadline, type Refusal, type Workflow } from '../../workflows/kit.js';
import type { Caller } from './caller.js';

export const stateNode = (machine: AnyStateMachine, state: string) => machine.root.states[state];

/** Event types the machine handles in a state (the machine is the table of legal transitions). */
export function eventsInState(wf: Workflow, state: string): string[] {
  const node = stateNode(wf.machine, state);
  return node ? [...node.transitions.keys()].filter((t) => wf.events[t] && !wf.events[t]!.internal) : [];
}

export function finalStates(wf: Workflow): string[] {
  return Object.entries(wf.machine.root.states)
    .filter(([, n]) => n.type === 'final')
    .map(([name]) => name);
}

/** What this caller may fire now, by state and role (guards that need a payload are not run). */
export function allowedEvents(wf: Workflow, state: string, caller: Caller): string[] {
  return eventsInState(wf, state).filter((t) => wf.events[t]!.roles.includes(caller.role));
}

export function contextOf(row: { id: string; number: string; organization_id: string; application: unknown; record: unknown }): CaseContext {
  return { case_id: row.id, number: row.number, organization_id: row.organization_id, application: row.application as never, record: row.record as never };
}

export function deadlinesOf(wf: Workflow, state: string, context: CaseContext): Deadline[] {
  const spec = stateNode(wf.machine, state)?.meta?.deadlines as ((c: CaseContext) => Deadline[]) | undefined;
  return spec ? spec(context) : [];
}

// xstate's pure transition() and initialTransition() build a throw-away actor (running the
// machine's initial step) on every call; that was most of the cost of a replay. Our machines have
// only assign actions, no invoked or spawned actors and no delays, so one inert scope per machine
// serves every call: the same inert scope those functions build, made once.
const inertScopes = new WeakMap<AnyStateMachine, AnyActorScope>();
function inertScope(machine: AnyStateMachine): AnyActorScope {
  let scope = inertScopes.get(machine);
  if (!scope) {
    const self = createActor(machine);
    scope = { self, defer: () => {}, id: '', logger: () => {}, sessionId: '', stopChild: () => {}, system: self.system, emit: () => {}, actionExecutor: () => {} } as unknown as AnyActorScope;
    inertScopes.set(machine, scope);
  }
  return scope;
}

/** A refusal of the machine: the rule, its English (the problem's detail) and what it said in both languages. */
export type Violation = { rule: string; message: string; said: Refusal };

/** Runs one event through the machine: the pure step shared by the engine and the audit replay. */
export function step(wf: Workflow, snapshot: AnyMachineSnapshot, event: CaseEvent): AnyMachineSnapshot | { violation: Violation } {
  // xstate answers the very snapshot it was given when no transition is enabled (a refused guard,
  // an event the state ignores); only then are the transitions asked which rule refused.
  const next = wf.machine.transition(snapshot as never, event as never, inertScope(wf.machine)) as AnyMachineSnapshot;
  if (next !== snapshot || wf.machine.getTransitionData(snapshot as never, event as never).length > 0) return next;
  for (const t of stateNode(wf.machine, String(snapshot.value))?.transitions.get(event.type) ?? []) {
    for (const name of ruleNames(t.guard)) {
      const said = wf.rules[name]?.({ context: snapshot.context, event });
      if (said) return { violation: { rule: name, message: said.en, said } };
    }
  }
  const label = wf.labels.events[event.type]?.['zh-Hans'] ?? event.type;
  const said = refusal(`${event.type} is not possible now`, `当前不能办理“${label}”`);
  return { violation: { rule: 'unknown', message: said.en, said } };
}

export function initialSnapshot(wf: Workflow, context: CaseContext): AnyMachineSnapshot {
  return wf.machine.getInitialSnapshot(inertScope(wf.machine), context);
}

export function resolveSnapshot(wf: Workflow, state: string, context: CaseContext): AnyMachineSnapshot {
  return wf.machine.resolveState({ value: state, context });
}
