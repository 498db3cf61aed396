// A person's notifications (SPEC §9, last bullet): what their organization's webhooks would carry
// (regulators: every case, as a regulators' endpoint hears), from the notifications table that the
// audit trigger and the reminder round fill (migrations/2026-12-05T07-notifications.ts), less what
// the person did themselves. Unread first, then read, each newest first, in keyset pages.
//
// Read state is per person: a "read up to" watermark (mark all read) and marks for the ones read
// one by one after it. Every query walks the audience's index (organization_id, id) from the newest
// down, and stops at its limit: unread ones are those above the watermark without a mark, read ones
// are those at or below it merged with the marked ones (the marks' primary key, newest first). A page
// costs its rows and what it skips (the person's own actions, read ones above the watermark), never
// the whole history: no OFFSET, no count of everything.
import type { RawBuilder } from 'kysely';
import { sql } from '../db/kysely.js';
import type { Db } from '../db/types.js';
import type { Principal } from '../registry/principals.js';
import { decodeCursor, encodeCursor } from '../paging.js';

/** The unread count shown in the nav stops here ("99+"): counting past it would cost the backlog. */
export const UNREAD_CAP = 99;

export const NOTIFICATIONS_PATH = '/workbench/notifications';

/** The unread count of the signed-in person, read once per page request (a hook) for the nav (layout.ts), which has no request. */
export const unreadShown = new WeakMap<Principal, number>();
export const unreadFor = (p: Principal | null): number | null => (p ? (unreadShown.get(p) ?? null) : null);
export const countText = (n: number): string => (n > UNREAD_CAP ? `${UNREAD_CAP}+` : String(n));

/** Whose notifications a person reads: an organization's, the regulators' (organization null), or none (admins). */
export type Audience = { principal_id: string; organization_id: string | null };

export function audienceOf(p: Principal): Audience | null {
  if (p.role === 'regulator') return { principal_id: p.id, organization_id: null };
  if ((p.role === 'applicant' || p.role === 'lab') && p.organization_id) return { principal_id: p.id, organization_id: p.organization_id };
  return null;
}

export type Notification = {
  id: string;
  type: string;
  read: boolean;
  at: Date;
  case_id: string | null;
  number: string | null;
  kind: string | null;
  /** The audit event told of (a case event, a disabled endpoint). */
  event: string | null;
  actor_role: string | null;
  from_state: string | null;
  to_state: string | null;
  deadline: string | null;
  due_at: Date | null;
  /** A disabled endpoint's address and description. */
  endpoint: { url: string; description: string | null } | null;
};

type Row = { id: string; type: string; at: Date; case_id: string | null; audit_id: string | null; deadline: string | null; due_at: Date | null };
type Key = { read: boolean; id: string };

const ID = /^[1-9][0-9]{0,17}$/;
/** A notification id as it comes in a path or a form (a bigint's digits), or null. */
export const notificationId = (s: string): string | null => (ID.test(s) ? s : null);

const decodeKey = (cursor: string | undefined) => decodeCursor(cursor, ([section, id]) => ((section === 'u' || section === 'r') && typeof id === 'string' && ID.test(id) ? ({ read: section === 'r', id } as Key) : undefined));

const inAudience = (a: Audience): RawBuilder<unknown> => (a.organization_id === null ? sql`n.organization_id is null` : sql`n.organization_id = ${a.organization_id}::uuid`);
const notMine = (a: Audience) => sql`n.actor_principal_id is distinct from ${a.principal_id}::uuid`;
const COLUMNS = sql`n.id::text as id, n.type, n.at, n.case_id, n.audit_id::text as audit_id, n.deadline, n.due_at`;

async function watermark(db: Db, a: Audience): Promise<string> {
  const r = await db.selectFrom('notification_read_up_to').select(sql<string>`read_up_to::text`.as('w')).where('principal_id', '=', a.principal_id).executeTakeFirst();
  return r?.w ?? '0';
}

/** Unread: above the watermark, not marked, not the person's own; newest first, below `before`. */
function unread(db: Db, a: Audience, w: string, before: string | null, limit: number) {
  return sql<Row>`
    select ${COLUMNS} from notifications n
     where ${inAudience(a)} and n.id > ${w}::bigint ${before ? sql`and n.id < ${before}::bigint` : sql``} and ${notMine(a)}
       and not exists (select 1 from notification_read_marks m where m.principal_id = ${a.principal_id}::uuid and m.notification_id = n.id)
     order by n.id desc limit ${limit}`.execute(db);
}

/** Read: at or below the watermark, merged with those marked above it; newest first, below `before`. */
function read(db: Db, a: Audience, w: string, before: string | null, limit: number) {
  const below = before ? sql`and n.id < ${before}::bigint` : sql``;
  return sql<Row>`
    select * from (
      (select ${COLUMNS} from notifications n
        where ${inAudience(a)} and n.id <= ${w}::bigint ${below} and ${notMine(a)}
        order by n.id desc limit ${limit})
      union all
      (select ${COLUMNS} from notification_read_marks m join notifications n on n.id = m.notification_id
        where m.principal_id = ${a.principal_id}::uuid and m.notification_id > ${w}::bigint ${before ? sql`and m.notification_id < ${before}::bigint` : sql``}
          and ${inAudience(a)} and ${notMine(a)}
        order by m.notification_id desc limit ${limit})
    ) x order by x.id::bigint desc limit ${limit}`.execute(db);
}

/** A page of the person's notifications: unread first, then read, each newest first. `newest` is what "mark all read" may cover. */
export async function notificationPage(db: Db, a: Audience, q: { cursor?: string; limit: number }) {
  const after = decodeKey(q.cursor);
  const w = await watermark(db, a);
  const rows: Array<Row & { read: boolean }> = [];
  if (!after || !after.read) {
    const u = await unread(db, a, w, after?.id ?? null, q.limit + 1);
    rows.push(...u.rows.map((r) => ({ ...r, read: false })));
  }
  if (rows.length <= q.limit) {
    const r = await read(db, a, w, after?.read ? after.id : null, q.limit + 1 - rows.length);
    rows.push(...r.rows.map((x) => ({ ...x, read: true })));
  }
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  const next_cursor = rows.length > q.limit && last ? encodeCursor([last.read ? 'r' : 'u', last.id]) : null;
  return { items: await details(db, page), next_cursor, newest: await newestId(db, a) };
}

/** What each notification tells: its case and audit event, read by primary keys for the page's rows only. */
async function details(db: Db, rows: Array<Row & { read: boolean }>): Promise<Notification[]> {
  if (rows.length === 0) return [];
  const audits = rows.flatMap((r) => (r.audit_id ? [r.audit_id] : []));
  const cases = [...new Set(rows.flatMap((r) => (r.case_id ? [r.case_id] : [])))];
  const events = audits.length
    ? await db.selectFrom('audit_events').select([sql<string>`id::text`.as('id'), 'type', 'actor_role', 'from_state', 'to_state', 'case_id', 'payload']).where('id', 'in', audits).execute()
    : [];
  const numbers = cases.length ? await db.selectFrom('cases').select(['id', 'number', 'kind']).where('id', 'in', cases).execute() : [];
  return rows.map((r) => {
    const e = r.audit_id ? events.find((x) => x.id === r.audit_id) : undefined;
    const c = r.case_id ? numbers.find((x) => x.id === r.case_id) : undefined;
    const p = !r.case_id && e ? (e.payload as Record<string, unknown>) : null;
    return {
      id: r.id,
      type: r.type,
      read: r.read,
      at: new Date(r.at),
      case_id: r.case_id,
      number: c?.number ?? null,
      kind: c?.kind ?? null,
      event: e?.type ?? null,
      actor_role: e?.actor_role ?? null,
      from_state: e?.from_state ?? null,
      to_state: e?.to_state ?? null,
      deadline: r.deadline,
      due_at: r.due_at ? new Date(r.due_at) : null,
      endpoint: p ? { url: String(p.url ?? ''), description: typeof p.description === 'string' ? p.description : null } : null,
    };
  });
}

async function newestId(db: Db, a: Audience): Promise<string> {
  const r = await sql<{ id: string }>`select n.id::text as id from notifications n where ${inAudience(a)} order by n.id desc limit 1`.execute(db);
  return r.rows[0]?.id ?? '0';
}

/** Unread notifications, counted up to UNREAD_CAP + 1 (more shows as "99+"). */
export async function unreadCount(db: Db, a: Audience): Promise<number> {
  const w = await watermark(db, a);
  return (await unread(db, a, w, null, UNREAD_CAP + 1)).rows.length;
}

/** One of the person's notifications (their audience's, not their own doing), or null. */
export async function findNotification(db: Db, a: Audience, id: string): Promise<{ id: string; case_id: string | null; kind: string | null } | null> {
  const r = await sql<{ id: string; case_id: string | null; kind: string | null }>`
    select n.id::text as id, n.case_id, c.kind from notifications n left join cases c on c.id = n.case_id
     where n.id = ${id}::bigint and ${inAudience(a)} and ${notMine(a)}`.execute(db);
  return r.rows[0] ?? null;
}

/** Marks one read: a mark above the watermark (at or below it, it is read already). */
export async function markRead(db: Db, a: Audience, id: string): Promise<void> {
  await sql`
    insert into notification_read_marks (principal_id, notification_id)
    select ${a.principal_id}::uuid, ${id}::bigint
     where ${id}::bigint > coalesce((select read_up_to from notification_read_up_to where principal_id = ${a.principal_id}::uuid), 0)
    on conflict do nothing`.execute(db);
}

/**
 * Marks read everything up to `upTo` (the newest the person's page showed: what arrived since stays
 * unread), never past the audience's newest, and never moving the watermark back; the marks it now
 * covers are dropped. Answers the watermark.
 */
export async function markAllRead(db: Db, a: Audience, upTo: string): Promise<string> {
  const newest = await newestId(db, a);
  const to = BigInt(upTo) < BigInt(newest) ? upTo : newest;
  return db.transaction().execute(async (trx) => {
    const r = await sql<{ w: string }>`
      insert into notification_read_up_to (principal_id, read_up_to) values (${a.principal_id}::uuid, ${to}::bigint)
      on conflict (principal_id) do update set read_up_to = greatest(notification_read_up_to.read_up_to, excluded.read_up_to)
      returning read_up_to::text as w`.execute(trx);
    const w = r.rows[0]!.w;
    await trx.deleteFrom('notification_read_marks').where('principal_id', '=', a.principal_id).where(sql<boolean>`notification_id <= ${w}::bigint`).execute();
    return w;
  });
}
