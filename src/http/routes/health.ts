import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { sendProblem } from '../plugins/errors.js';

// A load balancer polls these: never rate-limited (a refused probe would take a healthy instance out).
const probe = { rateLimit: false } as const;

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/health/live', { config: probe, schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { config: probe, schema: { tags: ['health'] } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
    } catch (err) {
      request.log.warn({ err }, 'database not answering');
      return sendProblem(reply, 'unavailable', 'the database does not answer');
    }
    return { status: 'ready', database: app.database.embedded ? 'embedded' : 'postgresql', ...app.readiness() };
  });
}
