import path from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { problemBody } from '../../errors.js';
import type { JsonSchema } from '../../schemas.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type ResponseEntry = { content?: Record<string, { schema: unknown }> } & Record<string, unknown>;

/**
 * Tests only (buildApp's `checkResponses`): every answer of a documented route is checked, before
 * it is serialised, against the response schema the route documents for its status and media type.
 * The serialiser silently drops a field its schema does not list and writes a null where the schema
 * says string as "", so an answer that breaks its schema would change the wire format unnoticed: here
 * it becomes a 500 whose detail names the route, the status and the field, and is printed to stderr.
 */
export default fp(
  async (app, opts: { schemas: JsonSchema[] }) => {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, discriminator: false });
    addFormats(ajv);
    // The serialiser resolves a reference by the whole $id (responses/case.json, common/text.json),
    // ajv relative to the referring schema's own $id: the checker gets the references of the
    // response schemas made relative (../common/text.json from responses/product.json).
    const ids = new Set(opts.schemas.map((s) => s.$id));
    const relative = (node: unknown, baseDir: string): unknown => {
      if (Array.isArray(node)) return node.map((n) => relative(n, baseDir));
      if (!node || typeof node !== 'object') return node;
      return Object.fromEntries(
        Object.entries(node).map(([k, v]) => {
          if (k !== '$ref' || typeof v !== 'string') return [k, relative(v, baseDir)];
          const [file = '', fragment] = v.split('#');
          if (!ids.has(file)) return [k, v];
          return [k, `${path.posix.relative(baseDir, file)}${fragment === undefined ? '' : `#${fragment}`}`];
        }),
      );
    };
    for (const s of opts.schemas) ajv.addSchema(s.$id?.startsWith('responses/') ? (relative(s, 'responses') as JsonSchema) : s);
    const compiled = new WeakMap<object, ValidateFunction>();
    const validatorOf = (schema: object) => {
      let v = compiled.get(schema);
      if (!v) compiled.set(schema, (v = ajv.compile(schema)));
      return v;
    };

    const refuse = (request: FastifyRequest, status: number, why: string) => {
      const detail = `response check: ${request.method} ${request.routeOptions.url} answered ${status}: ${why}`;
      process.stderr.write(`${detail}\n`);
      return problemBody('internal_error', detail);
    };

    app.addHook('preSerialization', async (request, reply, payload) => {
      const responses = (request.routeOptions.schema as { response?: Record<string, ResponseEntry> } | undefined)?.response;
      if (!responses || request.routeOptions.schema?.hide) return payload;
      const status = reply.statusCode;
      if (status === 500) return payload;
      const entry = responses[status] ?? responses[`${String(status)[0]}XX`] ?? responses[`${String(status)[0]}xx`] ?? responses.default;
      const fail = (why: string) => {
        reply.code(500).type('application/problem+json');
        return refuse(request, status, why);
      };
      if (!entry) return fail('this status is not documented');
      const mediaType = String(reply.getHeader('content-type') ?? 'application/json').split(';')[0]!.trim();
      const schema = entry.content ? entry.content[mediaType]?.schema : entry;
      if (!schema) return fail(`no schema for ${mediaType}`);
      const validate = validatorOf(schema as object);
      // What is checked is what JSON.stringify would send: every field of the reply object.
      const data = JSON.parse(JSON.stringify(payload)) as unknown;
      if (!validate(data)) {
        const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : ''}`);
        return fail(`the body breaks its documented schema: ${errors.join('; ')}`);
      }
      return payload;
    });
  },
  { name: 'response-check' },
);
