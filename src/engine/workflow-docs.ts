import { ruleNames, type Workflow } from '../../workflows/kit.js';
import { eventsInState, finalStates } from './machine.js';

/** A workflow described from its machine: states, events with roles, transitions, final states. */
export function describeWorkflow(wf: Workflow) {
  const states = Object.keys(wf.machine.root.states);
  const transitions: Array<{ from: string; event: string; to: string; guard: string | null; roles: string[] }> = [];
  for (const from of states) {
    const node = wf.machine.root.states[from]!;
    for (const event of eventsInState(wf, from)) {
      for (const t of node.transitions.get(event) ?? []) {
        const target = t.target?.[0]?.key ?? from;
        const guard = ruleNames(t.guard).join(' and ') || null;
        transitions.push({ from, event, to: target, guard, roles: wf.events[event]!.roles });
      }
    }
  }
  return {
    kind: wf.kind,
    title: wf.title,
    initial: String(wf.machine.root.initial?.target?.[0]?.key ?? 'draft'),
    states,
    final_states: finalStates(wf),
    events: Object.entries(wf.events)
      .filter(([, s]) => !s.internal)
      .map(([type, s]) => ({ type, roles: s.roles, description: s.description, payload_schema: s.payload ? `${wf.schemaDir}/events/${type}.json` : null })),
    transitions,
  };
}

/** The machine as a Mermaid stateDiagram-v2. */
export function mermaid(wf: Workflow): string {
  const d = describeWorkflow(wf);
  const lines = ['stateDiagram-v2', `    [*] --> ${d.initial}`];
  for (const t of d.transitions) lines.push(`    ${t.from} --> ${t.to}: ${t.event} (${t.roles.join(', ')})${t.guard ? ` if ${t.guard}` : ''}`);
  for (const f of d.final_states) lines.push(`    ${f} --> [*]`);
  return lines.join('\n') + '\n';
}
