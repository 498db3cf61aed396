import type { Workflow } from './kit.js';
import { sandboxWorkflow } from './sandbox.js';

/** Every case kind the service runs, by its URL segment. */
export const workflows: Workflow[] = [sandboxWorkflow];

export const workflowByKind = new Map(workflows.map((w) => [w.kind, w]));
