import type { FastifyInstance } from 'fastify';
import { PUBLIC_SANDBOX_STATES, sandboxRegister } from '../../register/sandbox.js';
import { pageQuery } from './common.js';
import { answer } from '../openapi.js';

/** Public register: no token (SPEC §4b). */
export default async function registerRoutes(app: FastifyInstance) {
  app.get(
    '/v1/register/sandbox',
    {
      schema: {
        tags: ['register'],
        operationId: 'listSandboxRegister',
        summary: 'Public register of sandbox participants',
        response: { 200: answer('A page of the register', 'responses/sandbox-entry-page.json') },
        description: 'Cases admitted, testing, suspended, in exit review or exited. `ended_at` is when testing actually ended (at an exit request or the end of the testing period), absent while testing goes on.',
        querystring: pageQuery({ q: { type: 'string', minLength: 1, maxLength: 200 }, state: { enum: [...PUBLIC_SANDBOX_STATES] } }),
      },
    },
    async (request) => sandboxRegister(app.db, request.query as never),
  );
}
