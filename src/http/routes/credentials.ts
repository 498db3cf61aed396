import type { FastifyInstance } from 'fastify';
import { AppError, notFound } from '../../errors.js';
import { credentialOf } from '../../credentials/credential.js';
import { VC_JWT } from '../../credentials/sign.js';
import { LIST_SIZE, lastList, STATUS_PURPOSES, StatusListCache, type StatusPurpose } from '../../credentials/status-list.js';
import { answer, problem } from '../openapi.js';

const vcJwt = (description: string, headers: Record<string, unknown> = {}) => ({
  description,
  ...(Object.keys(headers).length ? { headers } : {}),
  content: { [VC_JWT]: { schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' } } },
});
/** Lists are numbered from 0; the highest list a JavaScript number's index could reach. */
const MAX_LIST = Math.floor(Number.MAX_SAFE_INTEGER / LIST_SIZE);

/** Verifiable certificates (SPEC §8): public, the same for every caller. */
export default async function credentialRoutes(app: FastifyInstance) {
  const keys = app.credentials.keys;
  const { issuerUrl, publicUrl, statusListTtlMs } = app.config;
  const lists = new StatusListCache({ issuerUrl, publicUrl, ttlMs: statusListTtlMs, key: () => keys.signer, now: app.engine.now });
  const tags = ['credentials'];

  app.get(
    '/v1/register/certificates/:number/credential',
    {
      schema: {
        tags,
        operationId: 'getCertificateCredential',
        summary: 'The certificate as a signed W3C Verifiable Credential (vc+jwt)',
        params: { type: 'object', additionalProperties: false, required: ['number'], properties: { number: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: { 200: vcJwt('The credential: a compact JWS (EdDSA) whose payload is the VC 2.0 credential; verify it with GET /.well-known/jwks.json') },
      },
    },
    async (request, reply) => {
      const jwt = await credentialOf(app.db, (request.params as { number: string }).number, { issuerUrl, publicUrl, key: keys.signer, now: app.engine.now });
      if (!jwt) throw notFound('certificate');
      return reply.type(VC_JWT).header('cache-control', 'no-cache').send(jwt);
    },
  );

  app.get(
    '/v1/register/certificates/:number/pdf',
    {
      schema: {
        tags,
        operationId: 'getCertificatePdf',
        summary: 'The printable certificate: A4, Chinese and English, with a QR code carrying the verification URL and the credential',
        params: { type: 'object', additionalProperties: false, required: ['number'], properties: { number: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: {
          200: {
            description: 'A one-page PDF; its QR code holds `<PUBLIC_URL>/register/certificates/<number>#vc=<credential>`, the credential GET …/credential serves',
            headers: { 'content-disposition': { type: 'string', description: 'inline; filename="<number>.pdf"' } },
            content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
          },
        },
      },
    },
    async (request, reply) => {
      // pdf-lib, fontkit and the font load on the first PDF asked for, not at every start.
      const { certificatePdfOf } = await import('../../credentials/pdf.js');
      const out = await certificatePdfOf(app.db, (request.params as { number: string }).number, { issuerUrl, publicUrl, key: keys.signer, now: app.engine.now });
      if (!out) throw notFound('certificate');
      return reply.type('application/pdf').header('content-disposition', `inline; filename="${out.number}.pdf"`).header('cache-control', 'no-cache').send(Buffer.from(out.pdf));
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        operationId: 'getIssuerKeys',
        summary: 'Every public key the issuer has signed credentials with, the signing one first',
        response: { 200: answer('The JSON Web Key Set', 'responses/jwks.json') },
      },
    },
    async () => ({ keys: keys.all.map((k) => k.jwk) }),
  );

  app.get(
    '/v1/status-lists/:purpose/:n',
    {
      schema: {
        tags,
        operationId: 'getStatusList',
        summary: `A Bitstring Status List credential (vc+jwt) of ${LIST_SIZE} entries`,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['purpose', 'n'],
          properties: {
            purpose: { type: 'string', enum: [...STATUS_PURPOSES], description: 'revocation or suspension' },
            n: { type: 'integer', minimum: 0, maximum: MAX_LIST, description: 'The list number, from 0 (a credential’s statusListCredential names it)' },
          },
        },
        response: {
          200: vcJwt('The signed BitstringStatusListCredential; its encodedList is the GZIP of the bitstring, multibase base64url', {
            etag: { type: 'string', description: 'Names the list’s content: send it back in If-None-Match.' },
            'cache-control': { type: 'string', description: 'public, max-age: the list’s ttl in seconds.' },
          }),
          304: answer('The list has not changed since the ETag given in If-None-Match', null),
          404: problem(404, 'No certificate has an index in that list yet'),
        },
      },
    },
    async (request, reply) => {
      const { purpose, n } = request.params as { purpose: StatusPurpose; n: number };
      if (n > 0 && n > (await lastList(app.db))) throw new AppError('not_found', `status list ${purpose}/${n} does not exist (params/n): no certificate has an index in it yet`);
      const list = await lists.get(app.db, purpose, n);
      reply.header('etag', list.etag).header('cache-control', `public, max-age=${Math.floor(statusListTtlMs / 1000)}`);
      if (request.headers['if-none-match'] === list.etag) return reply.code(304).send();
      return reply.type(VC_JWT).send(list.jwt);
    },
  );
}
