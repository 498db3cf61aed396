// Between a form's fields and the JSON a schema describes: a value drawn into fields (to pre-fill a
// form), fields read back into the value (types from the schema), and a refusal's field paths
// turned into the fields they are about.
import type { FieldError } from '../errors.js';
import type { JsonSchema } from '../schemas.js';
import { ROOT_VALUE, ROWS_CAP, childName, itemName, optionsOf, type Resolved, type SchemaFiles } from './form-schema.js';

/** What a browser posted: each field's values in order (a repeated name is several). */
export type Fields = Record<string, string[]>;

export const rowsField = (name: string) => `_rows.${name}`;
const first = (fields: Fields, name: string) => fields[name]?.[0] ?? '';
const isBlank = (s: string) => s.trim() === '';

/** Rows an array or map shows: as posted (one more when its "add" button was pressed), else enough for its minimum, within its maximum. */
export function rowsOf(r: Resolved, name: string, fields: Fields): number {
  const max = Math.min(r.node.maxItems ?? r.node.maxProperties as number ?? ROWS_CAP, ROWS_CAP);
  const posted = Number(first(fields, rowsField(name)));
  let rows = Number.isInteger(posted) && posted > 0 ? posted : Math.max(r.node.minItems ?? 1, 1);
  if (fields._add?.includes(name)) rows++;
  return Math.max(1, Math.min(rows, max));
}

// ---- the time zone of the forms: China Standard Time, as on the register's pages ----
const CST_MS = 8 * 3600 * 1000;
/** An RFC 3339 time as a datetime-local value in China Standard Time (seconds only when there are some). */
export function toLocalCst(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = new Date(t + CST_MS).toISOString().slice(0, 19);
  return s.endsWith(':00') ? s.slice(0, 16) : s;
}
/** A datetime-local value (China Standard Time) as RFC 3339 with +08:00; anything else as typed, for the schema to judge. */
export function fromLocalCst(s: string): string {
  const v = s.trim();
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$/.test(v)) return `${v.replace(' ', 'T')}:00+08:00`;
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$/.test(v)) return `${v.replace(' ', 'T')}+08:00`;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return `${v}T00:00:00+08:00`;
  return v;
}

/** A value drawn into form fields (the inverse of readFields). */
export function toFields(files: SchemaFiles, root: Resolved, value: unknown): Fields {
  const out: Fields = {};
  const put = (name: string, v: string) => (out[name] ??= []).push(v);
  const walk = (r: Resolved, name: string, v: unknown) => {
    if (v === undefined || v === null) return;
    switch (r.kind) {
      case 'object':
        for (const [key, schema] of Object.entries(r.node.properties!)) walk(files.child(r, schema), childName(name, key), (v as Record<string, unknown>)[key]);
        return;
      case 'map': {
        const entries = Object.entries(v as Record<string, unknown>);
        entries.forEach(([k, x], i) => {
          put(`${itemName(name, i)}.name`, k);
          put(`${itemName(name, i)}.value`, String(x));
        });
        put(rowsField(name), String(Math.max(entries.length, 1)));
        return;
      }
      case 'array': {
        const items = v as unknown[];
        const item = files.child(r, r.node.items ?? {});
        items.forEach((x, i) => walk(item, itemName(name, i), x));
        put(rowsField(name), String(Math.max(items.length, 1)));
        return;
      }
      case 'choices':
        for (const x of v as unknown[]) put(name, String(x));
        return;
      case 'datetime':
        put(name, toLocalCst(String(v)));
        return;
      case 'none':
        return;
      default:
        put(name, String(v));
    }
  };
  walk(root, root.kind === 'object' ? '' : ROOT_VALUE, value);
  return out;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * The value a form's fields describe, typed by the schema: blank fields and blank rows are left
 * out (so "required" is the schema's to say), numbers and booleans are read as such, times in
 * China Standard Time become RFC 3339. What cannot be read as its type is kept as typed, and the
 * schema's check names it.
 */
export function readFields(files: SchemaFiles, root: Resolved, fields: Fields): unknown {
  const walk = (r: Resolved, name: string, isRoot: boolean): unknown => {
    switch (r.kind) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [key, schema] of Object.entries(r.node.properties!)) {
          const v = walk(files.child(r, schema), childName(name, key), false);
          if (v !== undefined) out[key] = v;
        }
        return isRoot || Object.keys(out).length ? out : undefined;
      }
      case 'map': {
        const out: Record<string, unknown> = {};
        const value = files.child(r, r.node.additionalProperties as JsonSchema);
        for (let i = 0; i < rowsOf(r, name, fields); i++) {
          const k = first(fields, `${itemName(name, i)}.name`).trim();
          const v = walk(value, `${itemName(name, i)}.value`, false);
          if (k || v !== undefined) out[k] = v ?? null;
        }
        return Object.keys(out).length ? out : isRoot ? {} : undefined;
      }
      case 'array': {
        const item = files.child(r, r.node.items ?? {});
        const out: unknown[] = [];
        for (let i = 0; i < rowsOf(r, name, fields); i++) {
          const v = walk(item, itemName(name, i), false);
          if (v !== undefined) out.push(v);
        }
        return out.length ? out : undefined;
      }
      case 'choices': {
        const options = optionsOf(files.child(r, r.node.items ?? {}).node);
        const picked = (fields[name] ?? []).filter((s) => !isBlank(s)).map((s) => options.find((o) => String(o) === s) ?? s);
        return picked.length ? picked : undefined;
      }
      case 'enum': {
        const s = first(fields, name);
        if (isBlank(s)) return undefined;
        return optionsOf(r.node).find((o) => String(o) === s) ?? s;
      }
      case 'boolean': {
        const s = first(fields, name);
        return s === 'true' ? true : s === 'false' ? false : isBlank(s) ? undefined : s;
      }
      case 'number':
      case 'integer': {
        const s = first(fields, name).trim();
        return s === '' ? undefined : NUMBER.test(s) ? Number(s) : s;
      }
      case 'datetime': {
        const s = first(fields, name);
        return isBlank(s) ? undefined : fromLocalCst(s);
      }
      case 'text':
      case 'textarea': {
        // Browsers send a text area's line breaks as CRLF.
        const s = first(fields, name).replace(/\r\n?/g, '\n');
        return isBlank(s) ? undefined : s;
      }
      default:
        return undefined;
    }
  };
  return walk(root, root.kind === 'object' ? '' : ROOT_VALUE, true);
}

/**
 * The form field a refusal's path is about: `body/payload/results/0/verdict` → `results[0].verdict`.
 * A path into something drawn as one control (a map's key, a list of choices) names that control;
 * a path the form does not draw (an unknown field) names the form ('').
 */
export function fieldOfPath(files: SchemaFiles, root: Resolved, path: string, prefix: string): string {
  const rest = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  const segments = rest.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let r = root;
  let name = root.kind === 'object' ? '' : ROOT_VALUE;
  for (const seg of segments) {
    if (r.kind === 'object' && r.node.properties?.[seg]) {
      name = childName(name, seg);
      r = files.child(r, r.node.properties[seg]!);
    } else if (r.kind === 'array' && /^\d+$/.test(seg)) {
      name = itemName(name, Number(seg));
      r = files.child(r, r.node.items ?? {});
    } else break;
  }
  return name;
}

/** Each field's messages; '' holds those about the form as a whole. */
export function errorsByField(files: SchemaFiles, root: Resolved, errors: FieldError[], prefix: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of errors) {
    const field = fieldOfPath(files, root, e.path, prefix);
    const list = out.get(field) ?? [];
    if (!list.includes(e.message)) list.push(e.message);
    out.set(field, list);
  }
  return out;
}
