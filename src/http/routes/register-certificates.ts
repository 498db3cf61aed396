import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { CERTIFICATE_STATUSES, certificateRegister, findCertificate } from '../../register/certificates.js';
import { pageQuery } from './common.js';
import { answer } from '../openapi.js';

/** Public certificate register and verification by number: no token (SPEC §4b). */
export default async function registerCertificateRoutes(app: FastifyInstance) {
  app.get(
    '/v1/register/certificates',
    {
      schema: {
        tags: ['register'],
        operationId: 'listCertificateRegister',
        summary: 'Public register of certificates',
        response: { 200: answer('A page of the register', 'responses/certificate-page.json') },
        querystring: pageQuery({
          q: { type: 'string', minLength: 1, maxLength: 200, description: 'Part of the certificate number, the holder name or the product name' },
          scheme: { type: 'string', pattern: '^[a-z0-9-]{1,64}$' },
          status: { enum: [...CERTIFICATE_STATUSES] },
        }),
      },
    },
    async (request) => certificateRegister(app.db, request.query as never, app.engine.now()),
  );
  app.get(
    '/v1/register/certificates/:number',
    {
      schema: {
        tags: ['register'],
        operationId: 'verifyCertificate',
        summary: 'Verify a certificate by its number',
        response: { 200: answer('The certificate and its status', 'responses/certificate.json') },
        params: { type: 'object', additionalProperties: false, required: ['number'], properties: { number: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (request) => {
      const cert = await findCertificate(app.db, (request.params as { number: string }).number, app.engine.now());
      if (!cert) throw notFound('certificate');
      return cert;
    },
  );
}
