import type { FastifyInstance } from 'fastify';
import { sql } from '../../db/kysely.js';
import { sendProblem } from '../plugins/errors.js';
import { answer } from '../openapi.js';

// A load balancer polls these: never rate-limited (a refused probe would take a healthy instance out).
const probe = { rateLimit: false } as const;

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/health/live', { config: probe, schema: { tags: ['health'], operationId: 'getLiveness', summary: 'Liveness: the process answers', response: { 200: answer('Alive', 'responses/health.json') } } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { config: probe, schema: { tags: ['health'], operationId: 'getReadiness', summary: 'Readiness: the database answers', response: { 200: answer('Ready', 'responses/health.json') } } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
    } catch (err) {
      request.log.warn({ err }, 'database not answering');
      return sendProblem(reply, 'unavailable', 'the database does not answer');
    }
    return { status: 'ready', database: app.database.embedded ? 'embedded' : 'postgresql', ...app.readiness() };
  });
}
