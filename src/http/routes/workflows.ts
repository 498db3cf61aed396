import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { describeWorkflow, mermaid } from '../../engine/workflow-docs.js';
import { verifyAudit } from '../../audit/verify.js';
import { workflowByKind, workflows } from '../../../workflows/index.js';
import { answer } from '../openapi.js';

export default async function workflowRoutes(app: FastifyInstance) {
  app.get('/v1/workflows', { schema: { tags: ['workflows'], operationId: 'listWorkflows', summary: 'Every workflow', response: { 200: answer('Every workflow, with its states, events and transitions', 'responses/workflow-page.json') } } }, async () => ({ items: workflows.map(describeWorkflow), next_cursor: null }));
  app.get(
    '/v1/workflows/:kind',
    {
      schema: {
        tags: ['workflows'],
        operationId: 'getWorkflow',
        summary: 'One workflow: states, events, roles, transitions',
        description: 'As JSON, or with `format=mermaid` as a Mermaid state diagram (text/plain).',
        response: {
          200: {
            description: 'The workflow',
            content: { 'application/json': { schema: { $ref: 'responses/workflow.json#' } }, 'text/plain': { schema: { type: 'string', description: 'A Mermaid stateDiagram-v2' } } },
          },
        },
        params: { type: 'object', required: ['kind'], properties: { kind: { enum: workflows.map((w) => w.kind) } } },
        querystring: { type: 'object', additionalProperties: false, properties: { format: { enum: ['json', 'mermaid'], default: 'json' } } },
      },
    },
    async (request, reply) => {
      const wf = workflowByKind.get((request.params as { kind: string }).kind);
      if (!wf) throw new AppError('not_found', 'no such workflow');
      if ((request.query as { format: string }).format === 'mermaid') return reply.type('text/plain; charset=utf-8').send(mermaid(wf));
      return describeWorkflow(wf);
    },
  );
  app.get('/v1/audit/verify', { config: { roles: ['regulator'] }, schema: { tags: ['audit'], operationId: 'verifyAudit', summary: 'Verify every hash chain of the audit trail', response: { 200: answer('The verification report', 'responses/audit-report.json') } } }, async () => {
    return verifyAudit(app.db, { databaseUrl: app.database.url, log: { verifiers: app.transparency.keys.verifiers, origin: app.transparency.origin } });
  });
}
