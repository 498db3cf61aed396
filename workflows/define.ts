// A workflow is written as its machine (whose states' meta carry their labels, deadlines and
// certificate status) and one declaration of each event; everything the service reads of it (the
// event catalogue, the labels, the certificate status of each state) is derived here, once, and
// checked against the machine, so no second table can fall out of step with it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLabel, type CertificateStatus, type EventDecl, type EventSpec, type Label, type StateMeta, type Workflow, type WorkflowLabels } from './kit.js';

/** The schemas/ folder, where schemas/<dir>/events/<TYPE>.json is the payload schema of event TYPE. */
export const schemasRoot = fileURLToPath(new URL('../schemas/', import.meta.url));

/** The event types of a workflow that have a payload schema file. */
export function eventSchemaTypes(schemaDir: string, root = schemasRoot): Set<string> {
  const dir = path.join(root, schemaDir, 'events');
  if (!fs.existsSync(dir)) return new Set();
  return new Set(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)));
}

export type WorkflowDeclaration = Omit<Workflow, 'title' | 'events' | 'labels' | 'certificateStatus'> & {
  title: Label;
  /** Every event the machine handles, declared once: in this order the docs and the API list them. */
  events: Record<string, EventDecl>;
};

/**
 * The workflow the service runs, derived from its declaration. Refuses (throws at start, and in
 * every test that imports it) a machine that handles an undeclared event, an event no state
 * handles, a payload schema of no declared event, or a state or event without a label in every
 * language.
 */
export function defineWorkflow(decl: WorkflowDeclaration, opts: { schemasRoot?: string } = {}): Workflow {
  const { events: declared, machine, title, ...rest } = decl;
  const withPayload = eventSchemaTypes(decl.schemaDir, opts.schemasRoot);
  const problems: string[] = [];
  const handled = new Set<string>();
  const stateLabels: Record<string, Label> = {};
  const certificateStatus: Record<string, CertificateStatus> = {};
  for (const [name, node] of Object.entries(machine.root.states)) {
    const meta = (node.meta ?? {}) as Partial<StateMeta>;
    if (isLabel(meta.label)) stateLabels[name] = meta.label;
    else problems.push(`state ${name} has no label in every language (meta.label)`);
    if (meta.certificateStatus) certificateStatus[name] = meta.certificateStatus;
    for (const type of node.transitions.keys()) handled.add(type);
  }
  for (const type of handled) if (!declared[type]) problems.push(`the machine handles ${type}, which is not declared`);
  const events: Record<string, EventSpec> = {};
  const eventLabels: Record<string, Label> = {};
  const statusReasons: Record<string, Label> = {};
  for (const [type, e] of Object.entries(declared)) {
    if (!handled.has(type)) problems.push(`${type} is declared but no state handles it`);
    if (!isLabel(e.label)) problems.push(`event ${type} has no label in every language`);
    events[type] = { roles: e.roles, ...(withPayload.has(type) ? { payload: true } : {}), ...(e.internal ? { internal: true } : {}), description: e.description };
    eventLabels[type] = e.label;
    if (e.statusReason) statusReasons[type] = e.statusReason;
  }
  for (const type of withPayload) if (!declared[type]) problems.push(`schemas/${decl.schemaDir}/events/${type}.json is the payload of no declared event`);
  if (problems.length) throw new Error(`workflow ${decl.kind}: ${problems.join('; ')}`);
  const labels: WorkflowLabels = { title, states: stateLabels, events: eventLabels, statusReasons };
  return { ...rest, title: title.en, machine, events, labels, certificateStatus };
}
