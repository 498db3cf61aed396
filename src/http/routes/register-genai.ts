import type { FastifyInstance } from 'fastify';
import { PUBLIC_GENAI_STATES, genaiRegister } from '../../register/genai.js';
import { pageQuery } from './common.js';
import { answer } from '../openapi.js';

/** Public register of GenAI joint-laboratory projects: no token (SPEC §4b). */
export default async function registerGenaiRoutes(app: FastifyInstance) {
  app.get(
    '/v1/register/genai-projects',
    {
      schema: {
        tags: ['register'],
        operationId: 'listGenaiProjectRegister',
        summary: 'Public register of generative-AI joint-laboratory projects (active and completed)',
        response: { 200: answer('A page of the register', 'responses/genai-entry-page.json') },
        querystring: pageQuery({ q: { type: 'string', minLength: 1, maxLength: 200 }, state: { enum: [...PUBLIC_GENAI_STATES] } }),
      },
    },
    async (request) => genaiRegister(app.db, request.query as never),
  );
}
