import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { sql } from '../../db/kysely.js';
import type { FastifyRequest } from 'fastify';
import { AppError, problemBody } from '../../errors.js';
import { keyInFlight, type KeyedRequest } from '../../idempotency.js';
import { canonicalJson } from '../../audit/canonical-json.js';

const WINDOW_HOURS = 24;
// Rows of status 0 are claims taken before the work by earlier releases (none are written now);
// one left by a crash stops blocking its key after this long, as it did then.
const PENDING = 0;
const LEGACY_PENDING_SECONDS = 60;
const expired = () => sql<boolean>`created_at < now() - make_interval(hours => ${WINDOW_HOURS}) or (status = ${PENDING} and created_at < now() - make_interval(secs => ${LEGACY_PENDING_SECONDS}))`;

type Claim = {
  principalId: string;
  key: string;
  method: string;
  path: string;
  hash: string;
  stored: boolean;
  /** The route's own serializer for a status (its response schema), so the stored answer is the bytes sent. */
  serialize: (status: number, value: unknown) => string;
};

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: Claim | null;
  }
  interface FastifyContextConfig {
    /** Top-level response fields never written to the idempotency store (secrets shown once, such as a new token); a replay leaves them out. */
    idempotencyOmit?: string[];
  }
}

/**
 * The request's Idempotency-Key for the service to store with its work, in the same transaction,
 * as the answer `status` with the result as its JSON body and these headers (undefined without a
 * key). The body is what the route sends: the result serialised with the route's response schema
 * for that status (fields in the schema's order, unlisted ones left out), so a replay is the first
 * answer byte for byte.
 */
export function keyedAnswer<T>(request: FastifyRequest, status: number, headers: (result: T) => Record<string, string> = () => ({})): KeyedRequest<T> | undefined {
  const claim = request.idempotency;
  if (!claim) return undefined;
  const omit = request.routeOptions.config.idempotencyOmit;
  return {
    principalId: claim.principalId,
    key: claim.key,
    method: claim.method,
    path: claim.path,
    hash: claim.hash,
    answer: (result) => {
      claim.stored = true;
      let body = claim.serialize(status, result);
      if (omit?.length) {
        const value = JSON.parse(body) as Record<string, unknown>;
        for (const field of omit) delete value[field];
        body = JSON.stringify(value);
      }
      return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers(result) }, body };
    },
  };
}

/**
 * Idempotency-Key on POST (SPEC §2). A stored answer is replayed for 24 h. No claim is written
 * before the work: the routes hand the key to their service (keyedAnswer), which writes it with its
 * answer in the work's own statement or transaction, so no crash can leave the work done and the
 * key free. A concurrent duplicate does the work too, and fails at the key's primary key when the
 * first commits (PostgreSQL makes it wait), rolling its work back: 409 `conflict`.
 */
export default fp(
  async (app) => {
    app.decorateRequest('idempotency', null);
    app.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST') return;
      const key = request.headers['idempotency-key'];
      if (key === undefined || !request.principal) return;
      if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
        throw new AppError('validation_failed', 'Idempotency-Key must be 1-255 visible ASCII characters', { errors: [{ path: 'header/idempotency-key', message: 'must be 1-255 visible ASCII characters' }] });
      }
      const principalId = request.principal.id;
      const path = request.url;
      const hash = createHash('sha256').update(`${request.method} ${path}\n${canonicalJson(request.body ?? null)}`).digest('hex');
      const db = app.db;
      const stored = await db
        .selectFrom('idempotency_keys')
        .selectAll()
        .select(expired().as('expired'))
        .where('principal_id', '=', principalId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!stored || stored.expired) {
        // Judged again in the delete: a concurrent request may have replaced the expired row.
        if (stored) await db.deleteFrom('idempotency_keys').where('principal_id', '=', principalId).where('key', '=', key).where(expired()).execute();
        const serialize = (status: number, value: unknown) => {
          const fn = reply.getSerializationFunction(String(status), 'application/json') as ((v: unknown) => string) | undefined;
          return fn ? fn(value) : JSON.stringify(value);
        };
        request.idempotency = { principalId, key, method: request.method, path, hash, stored: false, serialize };
        return;
      }
      if (stored.request_hash !== hash) {
        throw new AppError('idempotency_conflict', 'this Idempotency-Key was used with another request body or path in the last 24 hours');
      }
      if (stored.status === PENDING) throw keyInFlight();
      reply.code(stored.status);
      for (const [h, v] of Object.entries(stored.headers as Record<string, string>)) reply.header(h, v);
      reply.header('idempotent-replayed', 'true');
      return reply.send(stored.body);
    });
    app.addHook('onSend', async (request, reply, payload) => {
      const claim = request.idempotency;
      if (!claim) return payload;
      request.idempotency = null;
      const status = reply.statusCode;
      if (status >= 200 && status < 300) {
        if (claim.stored) return payload;
        // A route whose service does not store the answer with its work: stored after it, which a
        // crash in between loses (every POST route of the service today stores with its work).
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'location', 'etag']) {
          const v = reply.getHeader(h);
          if (v !== undefined) headers[h] = String(v);
        }
        let body = typeof payload === 'string' ? payload : String(payload ?? '');
        const omit = request.routeOptions.config.idempotencyOmit;
        if (omit?.length) {
          const value = JSON.parse(body) as Record<string, unknown>;
          for (const field of omit) delete value[field];
          body = JSON.stringify(value);
        }
        await app.db
          .insertInto('idempotency_keys')
          .values({ principal_id: claim.principalId, key: claim.key, method: claim.method, path: claim.path, request_hash: claim.hash, status, headers: JSON.stringify(headers), body })
          .onConflict((oc) => oc.columns(['principal_id', 'key']).doNothing())
          .execute();
        return payload;
      }
      if (status < 400 || status >= 500) return payload;
      // A refusal may only be the echo of a duplicate that ran at the same time and committed first
      // (the case moved on, If-Match no longer holds): then the answer is that duplicate's, not this.
      const taken = await app.db.selectFrom('idempotency_keys').select('request_hash').where('principal_id', '=', claim.principalId).where('key', '=', claim.key).executeTakeFirst();
      if (!taken) return payload;
      const problem =
        taken.request_hash === claim.hash
          ? problemBody('conflict', keyInFlight().detail)
          : problemBody('idempotency_conflict', 'this Idempotency-Key was used with another request body or path in the last 24 hours');
      reply.code(problem.status).type('application/problem+json; charset=utf-8');
      return JSON.stringify(problem);
    });
  },
  { name: 'idempotency', dependencies: ['db', 'auth'] },
);
