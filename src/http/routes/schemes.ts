import type { FastifyInstance } from 'fastify';
import { getScheme, listSchemes } from '../../registry/schemes.js';
import { pageQuery } from './common.js';
import { answer } from '../openapi.js';

/** Certification schemes and their criteria (SPEC §2, §3.2): public reference data. */
export default async function schemeRoutes(app: FastifyInstance) {
  app.get(
    '/v1/schemes',
    {
      schema: {
        tags: ['schemes'],
        operationId: 'listSchemes',
        summary: 'Certification schemes',
        response: { 200: answer('A page of schemes', 'responses/scheme-page.json') },
        querystring: pageQuery({ product_kind: { enum: ['ai_system', 'robot', 'embodied_ai', 'genai_service'] } }),
      },
    },
    async (request) => listSchemes(app.db, request.query as never),
  );
  app.get(
    '/v1/schemes/:code',
    {
      schema: {
        tags: ['schemes'],
        operationId: 'getScheme',
        summary: 'One certification scheme with its criteria',
        response: { 200: answer('The scheme', 'responses/scheme.json') },
        params: { type: 'object', additionalProperties: false, required: ['code'], properties: { code: { type: 'string', minLength: 1, maxLength: 64 } } },
      },
    },
    async (request) => getScheme(app.db, (request.params as { code: string }).code),
  );
}
