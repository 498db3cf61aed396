// Webhook endpoints and their deliveries as the API shows them (SPEC §9). An applicant's or a lab's
// endpoints belong to its organization and are managed by its principals; regulators' endpoints
// (organization_id null) hear every case and are managed by any regulator. Another owner's endpoint
// answers 404. Every change is an event on the registry chain, never with the secret.
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { AppError, notFound, validationFailed } from '../errors.js';
import { appendRegistryEvent } from '../audit/chains.js';
import type { Actor } from '../audit/audit.js';
import { afterKeyset, decodeCursor, decodeKeyset, encodeCursor, toPage, type Page } from '../paging.js';
import type { Principal } from '../registry/principals.js';
import { newSecret, type SecretBox } from './secrets.js';
import { unknownPatterns } from './messages.js';
import { storeAnswer, type KeyedRequest } from '../idempotency.js';
import { urlProblem } from './http.js';

export type EndpointInput = { url: string; events: string[]; description?: string };
export type EndpointPatch = { url?: string; events?: string[]; enabled?: boolean; description?: string | null };
export type EndpointView = {
  id: string;
  organization_id: string | null;
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
};
export type DeliveryView = { id: string; type: string; status: 'pending' | 'delivered' | 'failed'; attempts: number; last_status_code: number | null; next_attempt_at: string | null; created_at: string };

type Deps = { db: Db; now: () => Date; box: SecretBox; allowPrivate: boolean };

/** Whose endpoints the caller manages: its organization's, or (regulators) the regulators' own. */
const ownerOf = (p: Principal): string | null => {
  if (p.role === 'regulator') return null;
  if (!p.organization_id) throw new AppError('forbidden', 'this principal belongs to no organization');
  return p.organization_id;
};

const view = (r: { id: string; organization_id: string | null; url: string; events: string[]; enabled: boolean; description: string | null; disabled_reason: string | null; created_at: Date; updated_at: Date }): EndpointView => ({
  id: r.id,
  organization_id: r.organization_id,
  url: r.url,
  events: r.events,
  enabled: r.enabled,
  description: r.description,
  disabled_reason: r.disabled_reason,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export const deliveryView = (d: { id: string; type: string; status: DeliveryView['status']; attempts: number; last_status_code: number | null; next_attempt_at: Date; created_at: Date }): DeliveryView => ({
  id: d.id,
  type: d.type,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.last_status_code,
  next_attempt_at: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
  created_at: d.created_at.toISOString(),
});

function checkInput(deps: Deps, b: { url?: string; events?: string[] }) {
  const errors: Array<{ path: string; message: string }> = [];
  if (b.url !== undefined) {
    const problem = urlProblem(b.url, deps.allowPrivate);
    if (problem) errors.push({ path: 'body/url', message: problem });
  }
  for (const u of unknownPatterns(b.events ?? [])) errors.push({ path: `body/events/${u.index}`, message: `${JSON.stringify(u.pattern)} is not an event this service sends (e.g. "*", "sandbox-cases.*", "certification-cases.ASSIGN_LAB", "reminder.respond_by")` });
  if (errors.length) throw validationFailed(errors);
}

const auditPayload = (v: EndpointView) => ({ webhook_id: v.id, organization_id: v.organization_id, url: v.url, events: v.events, enabled: v.enabled, description: v.description });

export async function createEndpoint(deps: Deps, p: Principal, actor: Actor, input: EndpointInput, keyed?: KeyedRequest<EndpointView & { secret: string }>): Promise<EndpointView & { secret: string }> {
  checkInput(deps, input);
  const organization = ownerOf(p);
  const secret = newSecret();
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const { id } = await trx.selectNoFrom(sql<string>`gen_random_uuid()`.as('id')).executeTakeFirstOrThrow();
    const row = await trx
      .insertInto('webhook_endpoints')
      .values({ id, organization_id: organization, url: input.url, events: input.events, description: input.description ?? null, secret_ciphertext: deps.box.seal(secret, id), created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    const v = view(row);
    await appendRegistryEvent(trx, { kind: 'webhook', type: 'WEBHOOK_CREATED', actor, payload: auditPayload(v), at: now });
    const result = { ...v, secret };
    // A replay of the same request answers the endpoint without its secret (idempotencyOmit).
    await storeAnswer(trx, keyed, result);
    return result;
  });
}

/** The caller's endpoint (404 when it is another owner's). */
export async function getEndpoint(db: Db, p: Principal, id: string): Promise<EndpointView> {
  const owner = ownerOf(p);
  const row = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where(owner === null ? sql<boolean>`organization_id is null` : sql<boolean>`organization_id = ${owner}`)
    .executeTakeFirst();
  if (!row) throw notFound('webhook');
  return view(row);
}

export async function listEndpoints(db: Db, p: Principal, q: { limit?: number; cursor?: string }): Promise<Page<EndpointView>> {
  const owner = ownerOf(p);
  const limit = q.limit ?? 50;
  const after = decodeKeyset(q.cursor);
  let query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where(owner === null ? sql<boolean>`organization_id is null` : sql<boolean>`organization_id = ${owner}`);
  if (after) query = query.where((eb) => afterKeyset(eb, after));
  const rows = await query.orderBy('created_at').orderBy('id').limit(limit + 1).execute();
  return toPage(rows, limit, view);
}

export async function updateEndpoint(deps: Deps, p: Principal, actor: Actor, id: string, patch: EndpointPatch): Promise<EndpointView> {
  await getEndpoint(deps.db, p, id);
  checkInput(deps, patch);
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const set: Record<string, unknown> = { updated_at: now };
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.events !== undefined) set.events = patch.events;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.enabled !== undefined) {
      set.enabled = patch.enabled;
      // Enabled again by hand: its failing streak starts anew.
      if (patch.enabled) Object.assign(set, { disabled_reason: null, failing_since: null });
      else set.disabled_reason = 'disabled by its owner';
    }
    const row = await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw notFound('webhook');
    const v = view(row);
    await appendRegistryEvent(trx, { kind: 'webhook', type: 'WEBHOOK_UPDATED', actor, payload: auditPayload(v), at: now });
    return v;
  });
}

export async function deleteEndpoint(deps: Deps, p: Principal, actor: Actor, id: string): Promise<void> {
  const v = await getEndpoint(deps.db, p, id);
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    const r = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound('webhook');
    // Its deliveries (and their attempts, by their key) go with it; the outbox holds no key to the
    // endpoint (migrations/2026-12-05T08), and the dispatcher sweeps any written by a racing event.
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
    await appendRegistryEvent(trx, { kind: 'webhook', type: 'WEBHOOK_DELETED', actor, payload: { webhook_id: v.id, organization_id: v.organization_id, url: v.url }, at: now });
  });
}

export async function listDeliveries(db: Db, p: Principal, id: string, q: { limit?: number; cursor?: string; status?: string }): Promise<Page<DeliveryView>> {
  await getEndpoint(db, p, id);
  const limit = q.limit ?? 50;
  // In the order they were written (the events of one statement share their time).
  const after = decodeCursor(q.cursor, ([seq]) => (typeof seq === 'string' && /^[0-9]{1,18}$/.test(seq) ? seq : undefined));
  let query = db.selectFrom('webhook_deliveries').select(['id', 'seq', 'type', 'status', 'attempts', 'last_status_code', 'next_attempt_at', 'created_at']).where('endpoint_id', '=', id);
  if (q.status) query = query.where('status', '=', q.status as DeliveryView['status']);
  if (after !== null) query = query.where('seq', '>', after);
  const rows = await query.orderBy('seq').limit(limit + 1).execute();
  const items = rows.slice(0, limit);
  return { items: items.map(deliveryView), next_cursor: rows.length > limit ? encodeCursor([String(items.at(-1)!.seq)]) : null };
}

/** Sends a delivery again, whatever became of it: pending now, with one more attempt (a failure leaves it failed). */
export async function retryDelivery(deps: Deps, p: Principal, id: string, deliveryId: string): Promise<DeliveryView> {
  await getEndpoint(deps.db, p, id);
  const now = deps.now();
  const row = await deps.db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, expires_at: now, locked_until: null })
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', id)
    .returning(['id', 'type', 'status', 'attempts', 'last_status_code', 'next_attempt_at', 'created_at'])
    .executeTakeFirst();
  if (!row) throw notFound('delivery');
  return deliveryView(row);
}

/** A ping, queued like any delivery (the route then sends it at once): `{type: "ping", timestamp, data: {}}`. */
export async function queuePing(deps: Deps, p: Principal, id: string): Promise<string> {
  await getEndpoint(deps.db, p, id);
  const now = deps.now();
  const row = await deps.db
    .insertInto('webhook_deliveries')
    .values({ endpoint_id: id, type: 'ping', data: JSON.stringify({}), created_at: now, next_attempt_at: now, expires_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function deliveryById(db: Db, id: string): Promise<DeliveryView> {
  const row = await db.selectFrom('webhook_deliveries').select(['id', 'type', 'status', 'attempts', 'last_status_code', 'next_attempt_at', 'created_at']).where('id', '=', id).executeTakeFirstOrThrow();
  return deliveryView(row);
}
