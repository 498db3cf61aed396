import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldError } from './errors.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export const schemasDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schemas');

export type JsonSchema = Record<string, unknown> & { $id?: string };

/** Every JSON Schema file under schemas/, each with its $id (the path below schemas/). */
export function loadSchemaFiles(dir = schemasDir): JsonSchema[] {
  const out: JsonSchema[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.json')) {
        const schema = JSON.parse(fs.readFileSync(p, 'utf8')) as JsonSchema;
        const expected = path.relative(dir, p).split(path.sep).join('/');
        if (schema.$id !== expected) throw new Error(`schema ${expected} must have "$id": "${expected}"`);
        out.push(schema);
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * A copy of a schema file whose references name their targets by whole $id
 * (`../common/text.json#/definitions/short` in products/product.json becomes
 * `common/text.json#/definitions/short`, `#/definitions/medium` in common/text.json
 * `common/text.json#/definitions/medium`): Fastify's serializer resolves only those, and an
 * answer that refers to an input schema's declaration (a product's fields) reaches through it.
 */
export function withWholeRefs(schema: JsonSchema): JsonSchema {
  const base = schema.$id ?? '';
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node as Record<string, unknown>).map(([k, v]) => {
        if (k !== '$ref' || typeof v !== 'string') return [k, k === 'examples' || k === 'enum' || k === 'const' ? v : rewrite(v)];
        const [file = '', fragment] = v.split('#');
        const target = !file ? base : file.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(base), file)) : file;
        return [k, fragment === undefined ? target : `${target}#${fragment}`];
      }),
    );
  };
  return rewrite(schema) as JsonSchema;
}

function makeAjv(schemas: JsonSchema[], coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false,
    strictTypes: false,
    removeAdditional: false,
    useDefaults: coerce,
    coerceTypes: coerce ? 'array' : false,
    discriminator: true,
    allowUnionTypes: true,
    keywords: ['example', 'x-enum-descriptions'],
  });
  addFormats(ajv);
  for (const s of schemas) ajv.addSchema(s);
  return ajv;
}

/**
 * Two validators over the same schema files: bodies and payloads are checked exactly (no type
 * coercion), query strings and path parameters are coerced from text as HTTP requires.
 */
export class Schemas {
  readonly files: JsonSchema[];
  readonly body: Ajv;
  readonly params: Ajv;
  constructor(files = loadSchemaFiles()) {
    this.files = files;
    this.body = makeAjv(files, false);
    this.params = makeAjv(files, true);
  }
  /**
   * The validator of one part of a request: bodies exactly; query strings, path parameters and
   * headers coerced from text, and their numbers finite.
   */
  forRequestPart(schema: JsonSchema, httpPart: string | undefined): ValidateFunction {
    const ajv = httpPart === 'body' ? this.body : this.params;
    const validate = (schema.$id && ajv.getSchema(schema.$id)) || ajv.compile(schema);
    return httpPart === 'body' ? validate : finiteOnly(validate);
  }
  has(id: string): boolean {
    return this.files.some((f) => f.$id === id);
  }
  validator(id: string): ValidateFunction {
    const v = this.body.getSchema(id);
    if (!v) throw new Error(`no schema ${id}`);
    return v;
  }
  /** Validates data against a schema file; returns the field errors (empty when valid). */
  check(id: string, data: unknown, prefix: string): FieldError[] {
    const v = this.validator(id);
    return v(data) ? [] : fieldErrors(v.errors ?? [], prefix);
  }
}

/**
 * ajv coerces "Infinity", "1e400" or a 400-digit number from a query string to ±Infinity, and then
 * skips every numeric keyword (`maximum` too) for a number that is not finite: such a value would
 * reach the database. A number coerced from text must be finite.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const wrapped = function (this: unknown, data: unknown, ctx?: { parentData: Record<string, unknown>; parentDataProperty: string }) {
    const ok = validate.call(this, data, ctx as never) as boolean;
    const at = ok ? nonFinitePointer(ctx ? ctx.parentData[ctx.parentDataProperty] : data) : null;
    wrapped.errors = at === null ? validate.errors : [{ instancePath: at, schemaPath: '#/type', keyword: 'type', params: { type: 'number' }, message: 'must be a finite number' }];
    return ok && at === null;
  } as ValidateFunction;
  // Fastify passes the parent (so ajv may replace the root value) only to a function with schemaEnv.
  return Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv });
}

/**
 * The most field errors one answer lists. A body of 50,000 wrong array items (100 kB) had an answer
 * of 20 MB naming each, and cost a second of CPU to write: past this, one more entry says how many
 * were not listed. No form or API body has nearly as many fields.
 */
export const MAX_FIELD_ERRORS = 100;

/**
 * Whether JSON text may hold a number past a double's range: one with a three-digit exponent
 * (`1e400`, `1.5e999`) or a run of 309 digits or more. In time linear in the text, whatever it holds
 * (a regular expression such as /\d{309}/ re-reads each digit of a shorter run, ~0.6 s for 1 MB of them).
 */
export function mayHoldNonFinite(text: string): boolean {
  if (/\d[eE]\+?\d{3}/.test(text)) return true;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++run >= 309) return true;
    } else run = 0;
  }
  return false;
}

/**
 * The JSON pointer of the first number that is not finite, or null: JSON text such as `1e400`
 * parses to Infinity, which no schema keyword bounds and JSON.stringify would store as null.
 * Iterative, as a body may nest deeper than the stack; the pointer is only spelled out when found.
 */
export function nonFinitePointer(root: unknown): string | null {
  type Frame = { value: unknown; key: string; parent: Frame | null };
  const stack: Frame[] = [{ value: root, key: '', parent: null }];
  while (stack.length) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) continue;
      const keys: string[] = [];
      for (let f: Frame | null = frame; f?.parent; f = f.parent) keys.push(f.key.replace(/~/g, '~0').replace(/\//g, '~1'));
      return keys.reverse().map((k) => `/${k}`).join('');
    }
    if (typeof v !== 'object' || v === null) continue;
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], key: entries[i]![0], parent: frame });
  }
  return null;
}

// The date-time schema's pattern (no leap second) and ajv's format check each fail on its own
// words ("must match pattern ..."); the reader is told the one fact they both check.
const isDateTimeCheck = (e: ErrorObject) =>
  (e.keyword === 'format' && (e.params as { format?: string }).format === 'date-time') ||
  (e.keyword === 'pattern' && /(^|\/)common\/date-time\.json[#/]/.test(e.schemaPath));

export function fieldErrors(errors: ErrorObject[], prefix: string): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  let unlisted = 0;
  for (const e of errors) {
    let p = e.instancePath;
    let message = e.message ?? 'is not valid';
    if (e.keyword === 'required') p += `/${(e.params as { missingProperty: string }).missingProperty}`, (message = 'is required');
    else if (e.keyword === 'additionalProperties') {
      p += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not an allowed field';
    } else if (e.keyword === 'enum') {
      message = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    } else if (isDateTimeCheck(e)) {
      message = 'must be an RFC 3339 date-time, e.g. 2027-01-31T09:00:00Z';
    } else if (e.keyword === 'not') {
      message = 'is not allowed here';
    } else if (e.keyword === 'if' || e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      // Branch errors repeat what the sub-schema errors already name.
      if (errors.length > 1) continue;
    }
    const key = `${prefix}${p}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length < MAX_FIELD_ERRORS) out.push({ path: `${prefix}${p}`, message });
    else unlisted++;
  }
  if (unlisted > 0) out.push({ path: prefix, message: `has ${unlisted} more errors not listed (the first ${MAX_FIELD_ERRORS} are)` });
  return out;
}
