// Generates TypeScript types for every payload from the JSON Schema files in schemas/ — the
// schemas are the one definition; `npm run gen:types` rewrites src/generated/schemas.ts and a
// test fails when it is stale.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';
import { loadSchemaFiles, schemasDir } from '../src/schemas.js';

export const generatedFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/generated/schemas.ts');

export async function generateTypes(): Promise<string> {
  const declared = new Map<string, string>();
  const parts = [
    '/* eslint-disable */',
    '// Generated from schemas/ by `npm run gen:types`. Do not edit: change the schema and regenerate.',
    '',
  ];
  const all = loadSchemaFiles();
  for (const schema of all) {
    if (!schema.title || !(schema.type === 'object' || schema.$ref)) continue;
    const file = path.join(schemasDir, schema.$id!);
    const keys = Object.keys(schema).filter((k) => !['$id', 'title', 'description', '$ref'].includes(k));
    if (schema.$ref && keys.length === 0) {
      // An alias of another schema file: an alias of its type.
      const target = all.find((f) => f.$id === path.posix.join(path.posix.dirname(schema.$id!), String(schema.$ref).replace(/#$/, '')));
      if (!target?.title) throw new Error(`${schema.$id}: cannot resolve ${String(schema.$ref)}`);
      declared.set(String(schema.title), String(target.title));
      parts.push(`// ${schema.$id}`, `export type ${String(schema.title)} = ${String(target.title)};`, '');
      continue;
    }
    const ts = await compile(structuredClone(schema) as never, String(schema.title), {
      cwd: path.dirname(file),
      bannerComment: '',
      additionalProperties: false,
      declareExternallyReferenced: true,
      format: true,
      strictIndexSignatures: true,
      unreachableDefinitions: false,
      style: { singleQuote: true, printWidth: 140 },
    });
    const fresh = declarations(ts).filter((d) => {
      const seen = declared.get(d.name);
      if (seen === undefined) return declared.set(d.name, d.text), true;
      if (seen !== d.text) throw new Error(`two different types named ${d.name} (${schema.$id}); give the schemas distinct titles`);
      return false;
    });
    parts.push(`// ${schema.$id}`, ...fresh.map((d) => d.text), '');
  }
  parts.push(...eventPayloads(all));
  return parts.join('\n');
}

/**
 * Per workflow folder, each event's payload type by its type (SandboxEventPayloads …): the machine
 * types its events with it (CaseEventOf in workflows/kit.ts), so `event.payload` is the schema's type.
 */
function eventPayloads(all: Array<{ $id?: string; title?: unknown }>): string[] {
  const byDir = new Map<string, Array<[string, string]>>();
  for (const s of all) {
    const m = /^([\w-]+)\/events\/([A-Z][A-Z0-9_]*)\.json$/.exec(s.$id ?? '');
    if (!m) continue;
    if (typeof s.title !== 'string') throw new Error(`${s.$id}: an event's payload schema needs a title (its type's name)`);
    byDir.set(m[1]!, [...(byDir.get(m[1]!) ?? []), [m[2]!, s.title]]);
  }
  const out: string[] = [];
  for (const [dir, events] of byDir) {
    const name = `${dir.replace(/(^|[-_])(\w)/g, (_, _sep, c: string) => c.toUpperCase())}EventPayloads`;
    out.push(`// ${dir}/events/*.json`, `export interface ${name} {`, ...events.map(([type, title]) => `  ${type}: ${title};`), '}', '');
  }
  return out;
}

/** Splits generated code into top-level declarations (with their doc comments), named. */
function declarations(ts: string): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  let pending = '';
  for (const chunk of ts.trim().split(/\n(?=\/\*\*|export )/)) {
    if (chunk.startsWith('/**')) {
      const decl = /\*\/\n(export [\s\S]*)$/.exec(chunk);
      if (!decl) {
        pending = chunk;
        continue;
      }
    }
    const text = (pending ? `${pending}\n` : '') + chunk.trim();
    pending = '';
    const name = /export (?:interface|type) (\w+)/.exec(text)?.[1];
    if (!name) throw new Error(`cannot name generated declaration: ${text.slice(0, 80)}`);
    out.push({ name, text });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await generateTypes();
  fs.mkdirSync(path.dirname(generatedFile), { recursive: true });
  fs.writeFileSync(generatedFile, out);
  process.stdout.write(`wrote ${path.relative(process.cwd(), generatedFile)}\n`);
}
