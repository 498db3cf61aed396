import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { AppError } from '../errors.js';

const WINDOW_HOURS = 24;
// A claim left by a crashed request stops blocking its key after this long.
const STALE_PENDING_MS = 60_000;
const PENDING = 0;

/**
 * Canonical JSON (keys sorted, no whitespace; the same text as the `canonicalize` package gives for
 * JSON values), built with an explicit stack: a body nested 100 000 deep, which a route whose
 * payload is checked later lets through, cannot overflow the call stack here.
 */
export function canonicalJson(root: unknown): string {
  let out = '';
  const tasks: Array<{ text: string } | { value: unknown }> = [{ value: root }];
  while (tasks.length) {
    const task = tasks.pop()!;
    if ('text' in task) {
      out += task.text;
      continue;
    }
    const v = task.value;
    if (v === null || typeof v !== 'object') {
      out += JSON.stringify(v) ?? 'null';
    } else if (Array.isArray(v)) {
      tasks.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        tasks.push({ value: v[i] });
        if (i > 0) tasks.push({ text: ',' });
      }
      tasks.push({ text: '[' });
    } else {
      const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
      tasks.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        tasks.push({ value: (v as Record<string, unknown>)[keys[i]!] });
        tasks.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
      tasks.push({ text: '{' });
    }
  }
  return out;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { key: string; principalId: string; hash: string } | null;
  }
  interface FastifyContextConfig {
    /** Top-level response fields never written to the idempotency store (secrets shown once, such as a new token); a replay leaves them out. */
    idempotencyOmit?: string[];
  }
}

/**
 * Idempotency-Key on POST (SPEC §2): the key is claimed before the handler runs, so two
 * concurrent requests with one key cannot both act; a 2xx answer is stored and replayed for 24 h.
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
      await db
        .deleteFrom('idempotency_keys')
        .where('principal_id', '=', principalId)
        .where('key', '=', key)
        .where((eb) =>
          eb.or([
            eb('created_at', '<', sql<Date>`now() - make_interval(hours => ${WINDOW_HOURS})`),
            eb.and([eb('status', '=', PENDING), eb('created_at', '<', new Date(Date.now() - STALE_PENDING_MS))]),
          ]),
        )
        .execute();
      const claimed = await db
        .insertInto('idempotency_keys')
        .values({ principal_id: principalId, key, method: request.method, path, request_hash: hash, status: PENDING, headers: '{}', body: '', created_at: new Date() })
        .onConflict((oc) => oc.columns(['principal_id', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (claimed) {
        request.idempotency = { key, principalId, hash };
        return;
      }
      const stored = await db.selectFrom('idempotency_keys').selectAll().where('principal_id', '=', principalId).where('key', '=', key).executeTakeFirst();
      if (!stored) throw new AppError('conflict', 'a request with this Idempotency-Key is being processed; retry shortly');
      if (stored.request_hash !== hash) {
        throw new AppError('idempotency_conflict', 'this Idempotency-Key was used with another request body or path in the last 24 hours');
      }
      if (stored.status === PENDING) throw new AppError('conflict', 'a request with this Idempotency-Key is being processed; retry shortly');
      reply.code(stored.status);
      for (const [h, v] of Object.entries(stored.headers as Record<string, string>)) reply.header(h, v);
      reply.header('idempotent-replayed', 'true');
      return reply.send(stored.body);
    });
    app.addHook('onSend', async (request, reply, payload) => {
      const idem = request.idempotency;
      if (!idem) return payload;
      request.idempotency = null;
      if (reply.statusCode >= 200 && reply.statusCode < 300) {
        const headers: Record<string, string> = {};
        for (const h of ['content-type', 'location', 'etag']) {
          const v = reply.getHeader(h);
          if (v !== undefined) headers[h] = String(v);
        }
        let body = typeof payload === 'string' ? payload : String(payload ?? '');
        const omit = request.routeOptions.config.idempotencyOmit;
        if (omit?.length) {
          const stored = JSON.parse(body) as Record<string, unknown>;
          for (const field of omit) delete stored[field];
          body = JSON.stringify(stored);
        }
        await app.db
          .updateTable('idempotency_keys')
          .set({ status: reply.statusCode, headers: JSON.stringify(headers), body })
          .where('principal_id', '=', idem.principalId)
          .where('key', '=', idem.key)
          .execute();
      } else {
        // Only successes are remembered: a refused request may be retried with the same key.
        await app.db.deleteFrom('idempotency_keys').where('principal_id', '=', idem.principalId).where('key', '=', idem.key).where('status', '=', PENDING).execute();
      }
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['db', 'auth'] },
);
