import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isDataException, problemBody, type ErrorCode } from '../errors.js';
import { fieldErrors } from '../schemas.js';

const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const body = problemBody(code, detail, extra);
  return reply.code(body.status).type('application/problem+json').send(body);
}

/**
 * Fastify's own refusals before any route or hook runs (Fastify's `frameworkErrors` option): a URL
 * with a malformed percent-encoding, a path parameter over the router's length limit. Problems too.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff');
  const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'has a segment longer than the router accepts' : 'is not a valid URL (malformed percent-encoding)';
  return sendProblem(reply, 'validation_failed', `the request path ${message}`, { errors: [{ path: 'path', message }] });
}

/** The root handler: our AppErrors, ajv's validation errors and Fastify's own become problem+json. */
export default fp(
  async (app) => {
    // JSON is the only request body (SPEC §2): without Fastify's default text/plain parser a text
    // body is a 415, instead of a string that reaches the schema and comes back as a 400.
    app.removeContentTypeParser('text/plain');
    // JSON is UTF-8 (RFC 8259 §8.1): bytes that are not are refused, not silently turned into U+FFFD
    // and stored; a body declared in another charset is a 415.
    const parseJson = app.getDefaultJsonParser('error', 'error');
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(request.headers['content-type']))?.[1];
      if (charset && !/^utf-?8$/i.test(charset)) return done(new AppError('unsupported_media_type', `send JSON as UTF-8, not ${charset}`), undefined);
      let text: string;
      try {
        text = utf8.decode(body as Buffer);
      } catch {
        return done(new AppError('validation_failed', 'the body is not valid UTF-8', { errors: [{ path: 'body', message: 'is not valid UTF-8' }] }), undefined);
      }
      parseJson(request, text, done);
    });
    app.setErrorHandler((err: FastifyError & { validationContext?: string }, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof AppError) return sendProblem(reply, err.code, err.detail, err.extra);
      if (err.validation) {
        const errors = fieldErrors(err.validation as never, PART[err.validationContext ?? 'body'] ?? 'body');
        return sendProblem(reply, 'validation_failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
      }
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return sendProblem(reply, 'payload_too_large', `request body exceeds ${app.initialConfig.bodyLimit} bytes`);
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return sendProblem(reply, 'unsupported_media_type', 'send the request body as application/json');
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
          return sendProblem(reply, 'validation_failed', 'the JSON body is empty', { errors: [{ path: 'body', message: 'is required' }] });
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
          return sendProblem(reply, 'validation_failed', 'Content-Length does not match the body', { errors: [{ path: 'header/content-length', message: 'does not match the body' }] });
      }
      if (isDataException(err)) {
        request.log.warn({ err }, 'the database refused a value from the request');
        return sendProblem(reply, 'validation_failed', 'a value in the request cannot be stored', { errors: [{ path: 'request', message: 'holds a value that cannot be stored' }] });
      }
      const status = err.statusCode ?? 500;
      if (status === 429) return sendProblem(reply, 'rate_limited', err.message || 'too many requests, slow down');
      if (status === 413) return sendProblem(reply, 'payload_too_large', err.message);
      if (status === 415) return sendProblem(reply, 'unsupported_media_type', err.message);
      if (status === 404) return sendProblem(reply, 'not_found', 'not found');
      if (status === 405) return sendProblem(reply, 'method_not_allowed', err.message);
      if (status >= 400 && status < 500) {
        // Malformed JSON, prototype-poisoning keys, bad encodings: the body could not be read.
        return sendProblem(reply, 'validation_failed', `the request could not be read: ${err.message}`, { errors: [{ path: 'body', message: err.message }] });
      }
      request.log.error({ err }, 'unhandled error');
      return sendProblem(reply, 'internal_error', `an internal error occurred; quote request id ${request.id}`);
    });
    app.setNotFoundHandler((request, reply) => sendProblem(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  },
  { name: 'errors' },
);
