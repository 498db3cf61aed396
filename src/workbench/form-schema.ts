// How the form generator reads a JSON Schema file: references followed across schemas/, and each
// node sorted into the kind of control it becomes. Shared by the renderer (form.ts) and the parser
// (form-values.ts), so a field is read back exactly as it was drawn.
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { Schemas, type JsonSchema } from '../schemas.js';

export type Node = JsonSchema & {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  description?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JsonSchema;
  uniqueItems?: boolean;
};

export type Kind = 'object' | 'map' | 'array' | 'choices' | 'enum' | 'boolean' | 'number' | 'integer' | 'datetime' | 'text' | 'textarea' | 'none';

/** A node with its references resolved, and the file it now lies in (for its own relative references). */
export type Resolved = { node: Node; base: string; kind: Kind };

/** Longest text drawn as a one-line input; longer limits get a text area. */
const ONE_LINE_MAX = 200;
/** Rows an array may have in a form when its schema sets no limit. */
export const ROWS_CAP = 200;

export class SchemaFiles {
  private readonly byId: Map<string, JsonSchema>;
  /** The service's validators (the app's own when given; made from the same files when first needed otherwise). */
  private schemas: Schemas | null;
  constructor(
    private readonly files: JsonSchema[],
    schemas?: Schemas,
  ) {
    this.byId = new Map(files.map((f) => [f.$id!, f]));
    this.schemas = schemas ?? null;
  }

  /** The validator the service checks a schema file's data with (bodies: exact, no coercion). */
  validator(id: string): ValidateFunction {
    this.schemas ??= new Schemas(this.files);
    return this.schemas.validator(id);
  }

  file(id: string): JsonSchema {
    const f = this.byId.get(id);
    if (!f) throw new Error(`no schema file ${id}`);
    return f;
  }

  /** Follows $ref (and the one non-null branch of an anyOf) until a node says what it is; sibling keywords win over the target's. */
  resolve(schema: JsonSchema, base: string): Resolved {
    let node = schema as Node;
    for (let depth = 0; depth < 16; depth++) {
      if (typeof node.$ref === 'string') {
        const { $ref, ...rest } = node;
        const [file = '', fragment = ''] = ($ref as string).split('#');
        const target = file ? path.posix.normalize(path.posix.join(path.posix.dirname(base), file)) : base;
        let found: unknown = this.file(target);
        for (const seg of fragment.split('/').filter(Boolean)) found = (found as Record<string, unknown>)?.[decodeURIComponent(seg).replace(/~1/g, '/').replace(/~0/g, '~')];
        if (!found || typeof found !== 'object') throw new Error(`${base}: cannot resolve ${$ref}`);
        const { $id: _id, title: _title, examples: _examples, ...targetRest } = found as Node;
        // A whole file's description speaks of the file (date-time.json: why no leap second), not of the field that uses it.
        if (!fragment) delete targetRest.description;
        node = { ...targetRest, ...rest } as Node;
        base = target;
        continue;
      }
      const branches = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
      if (Array.isArray(branches) && !node.type && !node.properties) {
        const { anyOf: _a, oneOf: _o, ...rest } = node;
        const branch = branches.find((b) => (b as Node).type !== 'null') ?? {};
        node = { ...(branch as Node), ...rest } as Node;
        continue;
      }
      break;
    }
    return { node, base, kind: kindOf(node) };
  }

  /** A property, an array's items or a map's values, resolved from where the parent lies. */
  child(parent: Resolved, schema: JsonSchema): Resolved {
    return this.resolve(schema, parent.base);
  }
}

const typeOf = (n: Node): string | undefined => (Array.isArray(n.type) ? n.type.find((t) => t !== 'null') : n.type);

export function kindOf(n: Node): Kind {
  if (Array.isArray(n.enum) || n.const !== undefined) return 'enum';
  const type = typeOf(n);
  if (type === 'object' || (!type && n.properties)) {
    if (n.properties && Object.keys(n.properties).length) return 'object';
    return typeof n.additionalProperties === 'object' ? 'map' : 'none';
  }
  if (type === 'array') {
    const items = (n.items ?? {}) as Node;
    return Array.isArray(items.enum) && n.uniqueItems ? 'choices' : 'array';
  }
  if (type === 'boolean') return 'boolean';
  if (type === 'number') return 'number';
  if (type === 'integer') return 'integer';
  if (type === 'string') {
    if (n.format === 'date-time') return 'datetime';
    return (n.maxLength ?? 0) > ONE_LINE_MAX ? 'textarea' : 'text';
  }
  return 'none';
}

/** The options of an enum node (a const is an enum of one). */
export const optionsOf = (n: Node): unknown[] => (Array.isArray(n.enum) ? n.enum : n.const !== undefined ? [n.const] : []);

// Form field names: `a.b` for a property, `a[2]` for an array's item; the root object's properties are bare.
export const childName = (name: string, key: string) => (name ? `${name}.${key}` : key);
export const itemName = (name: string, i: number) => `${name}[${i}]`;
/** The field that holds a root schema that is not an object. */
export const ROOT_VALUE = 'value';
/** An element id for a field name: every character outside [A-Za-z0-9_] spelled out, so two names never share one. */
export const fieldId = (name: string) => `f_${(name || 'form').replace(/[^A-Za-z0-9_]/g, (c) => `-${c.charCodeAt(0).toString(16)}-`)}`;
