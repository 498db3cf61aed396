// What a webhook says (SPEC §9): the event types an endpoint may subscribe to, the message body and
// its Standard Webhooks signature.
import { createHmac } from 'node:crypto';
import { workflows } from '../../workflows/index.js';
import { historyTypes } from '../cases/read.js';

/** The deadlines an applicant organization must meet, by the reminder they get: `reminder.<name>`. */
export const REMINDED_DEADLINES = ['respond_by', 'testing_ends_at', 'valid_until', 'milestone'] as const;
/** Days before a deadline that a reminder goes out. */
export const REMINDER_OFFSETS_DAYS = [3, 1] as const;

/** The reminder of a deadline row's name (genai milestones are `milestone:<id>`), or null for one nobody is reminded of. */
export function reminderOf(deadline: string): string | null {
  const name = deadline.startsWith('milestone:') ? 'milestone' : deadline;
  return (REMINDED_DEADLINES as readonly string[]).includes(name) ? `reminder.${name}` : null;
}

/** Every event type a delivery may have, by which an endpoint subscribes (besides `*` and `<kind>.*`). */
export const EVENT_TYPES: string[] = [...workflows.flatMap((wf) => historyTypes(wf).map((t) => `${wf.kind}.${t}`)), ...REMINDED_DEADLINES.map((d) => `reminder.${d}`)];
const PATTERNS = new Set(['*', 'reminder.*', ...workflows.map((wf) => `${wf.kind}.*`), ...EVENT_TYPES]);

/** The patterns of `events` this service does not know, each with its index. */
export function unknownPatterns(events: string[]): Array<{ index: number; pattern: string }> {
  return events.flatMap((pattern, index) => (PATTERNS.has(pattern) ? [] : [{ index, pattern }]));
}

/** Whether an endpoint subscribed to `events` hears a delivery of `type` (the trigger decides the same for case events). */
export function matches(events: string[], type: string): boolean {
  return events.includes('*') || events.includes(type) || events.includes(`${type.slice(0, type.indexOf('.'))}.*`);
}

export type Message = { type: string; timestamp: string; data: Record<string, unknown> };

/** The body's bytes: the same for every attempt, as they are rebuilt from rows that do not change. */
export const bodyOf = (m: Message): string => JSON.stringify({ type: m.type, timestamp: m.timestamp, data: m.data });

/** Standard Webhooks: `v1,` and the base64 HMAC-SHA256, keyed by the bytes after `whsec_`, of `id.timestamp.body`. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export function signedHeaders(secret: string, id: string, at: Date, body: string): Record<string, string> {
  const ts = Math.floor(at.getTime() / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature(secret, id, ts, body) };
}
