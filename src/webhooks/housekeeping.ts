// The dispatcher's housekeeping (SPEC §9), once per interval beside the deliveries: endpoints that
// have failed too long are disabled, and deliveries whose endpoint is gone are removed.
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import { appendRegistryEvent } from '../audit/chains.js';

type LogFn = (obj: object, msg?: string) => void;

/** An endpoint failing for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 86_400_000;

/** Endpoints that have failed without a success for DISABLE_AFTER_MS are disabled (their deliveries wait), on the registry chain. */
export async function disableFailing(db: Db, now: Date, log: { warn: LogFn }): Promise<number> {
  const n = await db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('webhook_endpoints')
      .set({ enabled: false, disabled_reason: 'failing for 5 days', updated_at: now })
      .where('enabled', '=', true)
      .where('failing_since', '<=', new Date(now.getTime() - DISABLE_AFTER_MS))
      .returning(['id', 'organization_id', 'url', 'events', 'description'])
      .execute();
    for (const w of rows) {
      const payload = { webhook_id: w.id, organization_id: w.organization_id, url: w.url, events: w.events, enabled: false, description: w.description, reason: 'failing for 5 days' };
      await appendRegistryEvent(trx, { kind: 'webhook', type: 'WEBHOOK_DISABLED', actor: { principal_id: null, role: 'system' }, payload, at: now });
    }
    return rows.length;
  });
  if (n > 0) log.warn({ endpoints: n }, 'webhook endpoints disabled after failing for 5 days');
  return n;
}

/**
 * Deliveries whose endpoint is gone: written by a transition that saw the endpoint and committed
 * after the transaction that deleted it and its deliveries (the outbox holds no foreign key to its
 * endpoint, migrations/2026-12-05T08). Never claimed (the claim joins the endpoint); removed here.
 * The outbox's endpoints are found by a skip scan of its endpoint index (one probe per endpoint,
 * however many deliveries wait), and the deliveries of those that no longer exist are deleted.
 */
export async function sweepOrphans(db: Db, log: { info: LogFn }): Promise<number> {
  const r = await sql`
    with recursive e(id) as (
      (select endpoint_id from webhook_deliveries order by endpoint_id limit 1)
      union all
      select (select d.endpoint_id from webhook_deliveries d where d.endpoint_id > e.id order by d.endpoint_id limit 1) from e where e.id is not null
    )
    delete from webhook_deliveries d using e
     where d.endpoint_id = e.id and not exists (select 1 from webhook_endpoints w where w.id = e.id)`.execute(db);
  const n = Number(r.numAffectedRows ?? 0);
  if (n > 0) log.info({ deliveries: n }, 'deliveries of deleted webhook endpoints removed');
  return n;
}
