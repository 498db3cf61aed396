import fp from 'fastify-plugin';
import type { RouteOptions } from 'fastify';

type DocRoute = { schema?: Record<string, unknown>; url: string; route: RouteOptions };

/** @fastify/swagger's transform: the request headers a route reads join its documented parameters. */
export function documentRoute({ schema, url, route }: DocRoute) {
  const headers = requestHeaders(route);
  return { schema: headers && schema && !schema.headers ? { ...schema, headers } : schema, url };
}
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Role } from '../registry/principals.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads `If-Match: "<version>"` (412 when the case has moved on). */
    ifMatch?: boolean;
  }
}

type Schema = Record<string, unknown>;

const header = (description: string, schema: Schema = { type: 'string' }) => ({ ...schema, description });
export const HEADERS = {
  etag: header('The case version, quoted: send it back in If-Match.', { type: 'string', pattern: '^"[0-9]+"$' }),
  location: header('The URL of the created resource.'),
  replayed: header('`true` when this is the stored answer to an earlier request with the same Idempotency-Key.', { type: 'string', enum: ['true'] }),
  retryAfter: header('Seconds to wait before retrying.', { type: 'string', pattern: '^[0-9]+$' }),
};

/** A success answer: its status description, the schema it is serialised with, and the headers it sends. */
export function answer(description: string, schemaId: string | null, headers: Record<string, Schema> = {}) {
  return {
    description,
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(schemaId ? { content: { 'application/json': { schema: { $ref: `${schemaId}#` } } } } : { type: 'null' }),
  };
}

const problemContent = { 'application/problem+json': { schema: { $ref: 'common/problem.json#' } } };
const codesOf = (status: number) => (Object.entries(ERRORS) as Array<[ErrorCode, { status: number }]>).filter(([, e]) => e.status === status).map(([c]) => `\`${c}\``);

/** A problem answer for a status and when it is sent (routes add the ones their declaration does not imply). */
export function problem(status: number, when: string) {
  const headers = status === 429 || status === 503 ? { headers: { 'retry-after': HEADERS.retryAfter } } : {};
  return { description: `${when} (${codesOf(status).join(' or ')})`, ...headers, content: problemContent };
}

/**
 * The problems a route can answer, from what it declares: a body (400, 413, 415), roles (401, and
 * 403 unless any principal may call it), a path parameter (404), a write by a principal (409 for a
 * conflict or a key in flight, 422 for a rule or a reused Idempotency-Key), If-Match (412), rate
 * limiting (429) and the database (503). Every route can answer 400 (a malformed request).
 */
export function problemsOf(route: RouteOptions): Record<string, unknown> {
  const schema = (route.schema ?? {}) as Schema;
  const config = (route.config ?? {}) as { roles?: Role[]; rateLimit?: boolean; ifMatch?: boolean };
  const methods = ([] as string[]).concat(route.method);
  const writes = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
  const out: Record<string, unknown> = { 400: problem(400, 'The request, its body, query, path or headers break their schema') };
  if (config.roles) out[401] = problem(401, 'No bearer token, or an unknown or revoked one');
  if (config.roles?.length) out[403] = problem(403, 'The caller’s role may not do this');
  if (schema.params) out[404] = problem(404, 'No such resource, or not visible to this caller');
  if (writes && config.roles) out[409] = problem(409, 'The event is not allowed in the current state, a unique fact already exists, or the same Idempotency-Key is in flight');
  if (config.ifMatch) out[412] = problem(412, 'If-Match is not the current version');
  if (schema.body) {
    out[413] = problem(413, 'The body is over the size limit');
    out[415] = problem(415, 'The body is not application/json');
  }
  if (writes && config.roles) out[422] = problem(422, 'A rule refused the request, or an Idempotency-Key was reused with another body');
  if (config.rateLimit !== false) out[429] = problem(429, 'Too many requests');
  if (route.url !== '/health/live') out[503] = problem(503, 'The database cannot be reached');
  return out;
}

/**
 * The request headers a route reads, for the document only (swagger's transform): validating them
 * with a schema would refuse a bad value before the route judges role and state, in other words.
 */
export function requestHeaders(route: RouteOptions): Schema | undefined {
  const config = (route.config ?? {}) as { roles?: Role[]; ifMatch?: boolean };
  const props: Record<string, Schema> = {};
  if (config.ifMatch) props['if-match'] = { type: 'string', maxLength: 64, description: 'The version the change is based on, e.g. `"3"`: refused with 412 when the case has moved on.' };
  if (route.method === 'POST' && config.roles) {
    props['idempotency-key'] = { type: 'string', minLength: 1, maxLength: 255, description: 'Replays the first answer to the same request from the same principal within 24 hours (1-255 visible ASCII characters).' };
  }
  return Object.keys(props).length ? { type: 'object', properties: props } : undefined;
}

/**
 * Completes every documented route's OpenAPI operation from what the route declares, in one place:
 * its security (`[]` on public routes, bearer otherwise), who may call it (stated once in its
 * description), the problems it can answer and the headers it reads. Every documented route must
 * name its operationId and summary: the service does not start without them.
 */
export default fp(
  async (app) => {
    app.addHook('onRoute', (route) => {
      const schema = route.schema as Schema | undefined;
      if (!schema || schema.hide) return;
      // A HEAD route shares its GET route's schema object: completed once.
      if (route.method === 'HEAD' || schema['x-completed']) return;
      if (!schema.operationId || !schema.summary) throw new Error(`route ${String(route.method)} ${route.url} needs an operationId and a summary in its schema`);
      const roles = (route.config as { roles?: Role[] } | undefined)?.roles;
      schema.security = roles ? [{ bearer: [] }] : [];
      const who = !roles ? 'Public: no token needed.' : roles.length ? `Roles: ${roles.join(', ')}.` : 'Any authenticated principal.';
      schema.description = schema.description ? `${String(schema.description)}\n\n${who}` : who;
      schema.response = { ...problemsOf(route), ...((schema.response as Schema | undefined) ?? {}) };
      Object.defineProperty(schema, 'x-completed', { value: true, enumerable: false });
    });
  },
  { name: 'openapi-operations' },
);
