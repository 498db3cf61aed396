import { randomUUID } from 'node:crypto';
import { STATUS_CODES, maxHeaderSize, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError, isDataException, isUnavailable, problemBody, type ErrorCode } from '../../errors.js';
import { fieldErrors, mayHoldNonFinite, nonFinitePointer } from '../../schemas.js';

const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Seconds a client is asked to wait when the database cannot be reached. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const body = problemBody(code, detail, extra);
  if (code === 'unavailable') reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
  return reply.code(body.status).type('application/problem+json').send(body);
}

// What each refusal of Node's HTTP parser (llhttp's error codes) says, and which part it names.
const PARSER_REFUSALS: Record<string, { path: string; message: string }> = {
  HPE_INVALID_HEADER_TOKEN: { path: 'header', message: 'holds a character not allowed in a header name or value (such as NUL or another control character)' },
  HPE_INVALID_CONTENT_LENGTH: { path: 'header/content-length', message: 'is not a single valid length' },
  HPE_UNEXPECTED_CONTENT_LENGTH: { path: 'header/content-length', message: 'must not be sent with Transfer-Encoding' },
  HPE_INVALID_TRANSFER_ENCODING: { path: 'header/transfer-encoding', message: 'is not valid: chunked must be its last coding, and Content-Length must not be sent with it' },
  HPE_INVALID_CHUNK_SIZE: { path: 'body', message: 'has a chunk whose size is not a hexadecimal number' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { path: 'body', message: 'has chunk extensions that are too long' },
  HPE_INVALID_METHOD: { path: 'request', message: 'has a request line whose method is not valid' },
  HPE_INVALID_URL: { path: 'request', message: 'has a request target that is not valid (percent-encode anything but ASCII)' },
  HPE_INVALID_VERSION: { path: 'request', message: 'has a request line whose HTTP version is not valid' },
};

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request (an over-long header, a
 * control character in one, a bad chunk size, a malformed request line) before any route or hook
 * could run, so the problem is written to the socket by hand, and the connection closed (the rest
 * of the stream cannot be trusted to be where the parser stopped).
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket) {
  // A connection reset: nobody is left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const id = randomUUID();
  let code: ErrorCode = 'validation_failed';
  let detail: string;
  let extra: Record<string, unknown> = {};
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'header_too_large';
    detail = `the request's header fields exceed ${maxHeaderSize} bytes`;
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'request_timeout';
    detail = 'the request was not received in time';
  } else {
    const refusal = PARSER_REFUSALS[err.code ?? ''] ?? { path: 'request', message: 'is not a valid HTTP/1.1 message' };
    detail = refusal.path === 'request' ? `the request ${refusal.message}` : `the request's ${refusal.path.replace('/', ' ')} ${refusal.message}`;
    extra = { errors: [{ path: refusal.path, message: refusal.message }] };
  }
  // Its code and message only: the error also holds the raw bytes, which may carry a token.
  this.log.debug({ reqId: id, code: err.code, reason: err.message }, 'refused by the HTTP parser');
  // As Node itself does: no answer once a response to an earlier request on this socket has begun.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const problem = problemBody(code, detail, extra);
    const body = JSON.stringify(problem);
    const status = problem.status;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\nx-request-id: ${id}\r\nx-content-type-options: nosniff\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, is a 400 (Node's own check
 * answers an empty 400, so it is turned off in app.ts and done here, as a problem).
 */
export const requireOneHost: onRequestHookHandler = (request, _reply, done) => {
  const raw = request.raw;
  let hosts = 0;
  for (let i = 0; i < raw.rawHeaders.length; i += 2) if (raw.rawHeaders[i]!.length === 4 && raw.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1 || (hosts === 0 && raw.httpVersion === '1.1')) {
    const message = hosts ? 'must be sent once' : 'is required in HTTP/1.1';
    return done(new AppError('validation_failed', `the Host header ${message}`, { errors: [{ path: 'header/host', message }] }));
  }
  done();
};

// A body refused part-way (over the limit) is read to its end, up to this many times the limit and
// this long, before the answer: a connection closed while the client is still sending is reset, and
// most clients (Node's fetch among them) then report that reset instead of the 413 they were sent.
const DRAIN_FACTOR = 4;
const DRAIN_MS = 30_000;

function discardRest(raw: IncomingMessage, maxBytes: number): Promise<void> {
  const declared = Number(raw.headers['content-length']);
  if (raw.complete || raw.destroyed || declared > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) done();
    };
    const timer = setTimeout(done, DRAIN_MS);
    raw.on('data', onData).once('end', done).once('error', done).once('close', done);
    raw.resume();
  });
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
      parseJson(request, text, (err: Error | null, value?: unknown) => {
        // A number too large for a double (1e400) parses to ±Infinity: refused, not stored as null.
        // Only text with a three-digit exponent or a 309-digit run can hold one: others are not walked.
        const at = err || !mayHoldNonFinite(text) ? null : nonFinitePointer(value);
        if (at !== null) return done(new AppError('validation_failed', `body${at}: must be a finite number`, { errors: [{ path: `body${at}`, message: 'must be a finite number' }] }), undefined);
        done(err, value);
      });
    });
    app.setErrorHandler(async (err: FastifyError & { validationContext?: string }, request: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof AppError) return sendProblem(reply, err.code, err.detail, err.extra);
      if (err.validation) {
        const errors = fieldErrors(err.validation as never, PART[err.validationContext ?? 'body'] ?? 'body');
        return sendProblem(reply, 'validation_failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
      }
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          await discardRest(request.raw, DRAIN_FACTOR * app.initialConfig.bodyLimit!);
          return sendProblem(reply, 'payload_too_large', `request body exceeds ${app.initialConfig.bodyLimit} bytes`);
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return sendProblem(reply, 'unsupported_media_type', 'send the request body as application/json');
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
          return sendProblem(reply, 'validation_failed', 'the JSON body is empty', { errors: [{ path: 'body', message: 'is required' }] });
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
          return sendProblem(reply, 'validation_failed', 'Content-Length does not match the body', { errors: [{ path: 'header/content-length', message: 'does not match the body' }] });
      }
      // After the client's own errors (an aborted upload also reports ECONNRESET, with a 4xx status).
      const clientFault = typeof err.statusCode === 'number' && err.statusCode < 500;
      if (!clientFault && isUnavailable(err)) {
        request.log.warn({ err: { code: err.code, message: err.message } }, 'the database cannot be reached');
        return sendProblem(reply, 'unavailable', 'the database cannot be reached; retry later');
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
