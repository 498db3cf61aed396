import path from 'node:path';
import type { JsonSchema } from '../schemas.js';

type Node = Record<string, unknown>;

/**
 * The OpenAPI document's components come from the files in schemas/, whose references between
 * files are relative (`../common/text.json#/definitions/short`); @fastify/swagger rewrites only the
 * routes' own references. This points every reference left inside the components at a component:
 * a whole file at the component of its title, a definition at a component of its own.
 */
export function resolveComponentRefs(doc: { components?: { schemas?: Record<string, Node> } }, files: JsonSchema[]) {
  const comps = (doc.components ??= {}).schemas ?? (doc.components.schemas = {});
  const byId = new Map(files.map((f) => [f.$id!, f]));
  const idOfTitle = new Map(files.map((f) => [String(f.title), f.$id!]));
  const componentName = (file: JsonSchema, fragment: string) =>
    fragment ? `${String(file.title)}_${fragment.split('/').pop()}` : String(file.title);

  const rewrite = (node: unknown, baseId: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => rewrite(n, baseId));
    if (!node || typeof node !== 'object') return;
    const o = node as Node;
    for (const [k, v] of Object.entries(o)) {
      if (k === '$ref' && typeof v === 'string' && !(v.startsWith('#/components/schemas/') && comps[v.slice(21)])) {
        const [file = '', fragment = ''] = v.split('#');
        const target = !file ? baseId : byId.has(file) ? file : path.posix.normalize(path.posix.join(path.posix.dirname(baseId), file));
        const schema = byId.get(target);
        if (schema) o.$ref = `#/components/schemas/${componentName(schema, fragment.replace('/components/schemas/', '/definitions/'))}`;
      } else rewrite(v, baseId);
    }
  };

  for (const f of files) {
    for (const [name, def] of Object.entries((f.definitions ?? {}) as Record<string, unknown>)) {
      comps[componentName(f, `/definitions/${name}`)] = structuredClone(def) as Node;
    }
  }
  for (const f of files) {
    for (const name of Object.keys((f.definitions ?? {}) as Record<string, unknown>)) rewrite(comps[componentName(f, `/definitions/${name}`)], f.$id!);
  }
  for (const [title, comp] of Object.entries(comps)) {
    const id = idOfTitle.get(title);
    if (id) rewrite(comp, id);
  }
  pruneUnused(doc as Node, comps);
  return doc;
}

/**
 * Leaves out the components nothing in the document refers to (directly or through another
 * component): a file whose definitions are all that is used (common/text.json) is not a schema of
 * the API, and a client generator would emit a type for each.
 */
function pruneUnused(doc: Node, comps: Record<string, Node>) {
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice(21);
        if (!used.has(name) && comps[name]) {
          used.add(name);
          visit(comps[name]);
        }
      } else visit(v);
    }
  };
  visit({ ...doc, components: { ...(doc.components as Node), schemas: {} } });
  for (const name of Object.keys(comps)) if (!used.has(name)) delete comps[name];
}
