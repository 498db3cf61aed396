import type { Workflow } from './kit.js';
import { sandboxWorkflow } from './sandbox.js';
import { certificationWorkflow } from './certification.js';
import { genaiWorkflow } from './genai.js';

/** Every case kind the service runs, by its URL segment. */
export const workflows: Workflow[] = [sandboxWorkflow, certificationWorkflow, genaiWorkflow];

export const workflowByKind = new Map(workflows.map((w) => [w.kind, w]));
