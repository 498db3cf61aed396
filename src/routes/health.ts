import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { sendProblem } from '../plugins/errors.js';

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/health/live', { schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { schema: { tags: ['health'] } }, async (request, reply) => {
    try {
      await sql`select 1`.execute(app.db);
    } catch (err) {
      request.log.warn({ err }, 'database not answering');
      return sendProblem(reply, 'unavailable', 'the database does not answer');
    }
    return { status: 'ready', database: app.database.embedded ? 'embedded' : 'postgresql', ...app.readiness() };
  });
}
