import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { callerOf, principalOf } from '../plugins/auth.js';
import { keyedAnswer } from '../plugins/idempotency.js';
import { allowedEvents } from '../../engine/machine.js';
import { caseHistory, getCase, historyTypes, type HistoryQuery } from '../../cases/read.js';
import { createCase } from '../../cases/create.js';
import { fireEvent } from '../../cases/fire.js';
import type { CaseView } from '../../engine/case.js';
import { listCases } from '../../cases/read.js';
import type { Workflow } from '../../../workflows/kit.js';
import type { Role } from '../../registry/principals.js';
import { idParams, pageQuery, ref } from './common.js';

/** `If-Match: "<version>"` (or W/"…", or a bare number) → the version, or a 400 naming the header. */
export function parseIfMatch(request: FastifyRequest): number | undefined {
  const raw = request.headers['if-match'];
  if (raw === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(String(raw));
  if (!m) throw new AppError('validation_failed', 'If-Match must be a quoted case version, e.g. "3"', { errors: [{ path: 'header/if-match', message: 'must be a quoted case version' }] });
  return Number(m[1]);
}

const etag = (reply: FastifyReply, version: number) => reply.header('etag', `"${version}"`);

/** The routes every case kind has (SPEC §2), derived from the workflow's machine and schemas. */
export function caseRoutes(wf: Workflow) {
  const base = `/v1/${wf.kind}`;
  const readers: Role[] = ['applicant', 'lab', 'regulator'];
  const tags = [wf.kind];
  const publicEvents = Object.entries(wf.events).filter(([, s]) => !s.internal).map(([t]) => t);
  const states = Object.keys(wf.machine.root.states);
  return async function routes(app: FastifyInstance) {
    const deps = app.engine;
    // For the OpenAPI document only: one alternative per event, each with its payload schema file.
    // Validation keeps the simple body so that state and role are judged before the payload.
    const payloadRequired = (type: string) =>
      Boolean(wf.events[type]!.payload) && ((app.schemas.files.find((f) => f.$id === `${wf.schemaDir}/events/${type}.json`)?.required as unknown[] | undefined)?.length ?? 0) > 0;
    const documentedEventBody = {
      type: 'object',
      oneOf: publicEvents.map((type) => ({
        type: 'object',
        title: `${wf.kind} ${type}`,
        description: `${wf.events[type]!.description} Roles: ${wf.events[type]!.roles.join(', ')}.`,
        additionalProperties: false,
        required: payloadRequired(type) ? ['type', 'payload'] : ['type'],
        properties: {
          type: { type: 'string', enum: [type] },
          payload: wf.events[type]!.payload ? { $ref: `${wf.schemaDir}/events/${type}.json#` } : { type: 'object', maxProperties: 0 },
        },
      })),
    };

    app.post(base, { config: { roles: ['applicant'] }, schema: { tags, summary: `Create a ${wf.title} case (draft)`, body: ref(`${wf.schemaDir}/application.json`) } }, async (request, reply) => {
      const p = principalOf(request);
      const headers = (c: CaseView) => ({ location: `${base}/${c.id}`, etag: `"${c.version}"` });
      const c = await createCase(deps, wf, callerOf(p), request.body, keyedAnswer(request, 201, headers));
      return reply.code(201).headers(headers(c)).send(c);
    });

    app.patch(
      `${base}/:id`,
      { config: { roles: ['applicant'] }, schema: { tags, summary: 'Replace the application while the case is a draft', params: idParams, body: ref(`${wf.schemaDir}/application.json`) } },
      async (request, reply) => {
        const p = principalOf(request);
        const { id } = request.params as { id: string };
        const out = await fireEvent(deps, wf, callerOf(p), id, { type: 'REPLACE_APPLICATION', payload: request.body }, { ifMatch: parseIfMatch(request), allowInternal: true });
        return etag(reply, out.case.version).send(out.case);
      },
    );

    app.get(`${base}/:id`, { config: { roles: readers }, schema: { tags, params: idParams } }, async (request, reply) => {
      const p = principalOf(request);
      const c = await getCase(app.db, wf, callerOf(p), (request.params as { id: string }).id);
      return etag(reply, c.version).send(c);
    });

    app.get(
      base,
      {
        config: { roles: readers },
        schema: {
          tags,
          querystring: pageQuery({
            state: { enum: states },
            organization_id: { type: 'string', format: 'uuid' },
            product_id: { type: 'string', format: 'uuid' },
            ...(wf.listFilters ?? {}),
          }),
        },
      },
      async (request) => {
        const p = principalOf(request);
        return listCases(app.db, wf, callerOf(p), request.query as never, deps.now());
      },
    );

    app.post(
      `${base}/:id/events`,
      {
        config: { roles: readers, swaggerTransform: (({ schema }: { schema: Record<string, unknown> }) => ({ schema: { ...schema, body: documentedEventBody } })) as never },
        schema: {
          tags,
          summary: `Fire a ${wf.title} workflow event`,
          params: idParams,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['type'],
            properties: { type: { enum: publicEvents }, payload: { type: 'object' } },
          },
        },
      },
      async (request) => {
        const p = principalOf(request);
        const body = request.body as { type: string; payload?: unknown };
        return fireEvent(deps, wf, callerOf(p), (request.params as { id: string }).id, body, { ifMatch: parseIfMatch(request), idempotency: keyedAnswer(request, 200) });
      },
    );

    const historyQuery = pageQuery({
      type: {
        type: 'string',
        maxLength: 1000,
        pattern: '^[A-Z][A-Z0-9_]*(,[A-Z][A-Z0-9_]*)*$',
        description: `Only events of these types, comma-separated: ${historyTypes(wf).join(', ')}.`,
      },
    });
    app.get(`${base}/:id/events`, { config: { roles: readers }, schema: { tags, params: idParams, querystring: historyQuery } }, async (request) => {
      const p = principalOf(request);
      return caseHistory(app.db, wf, callerOf(p), (request.params as { id: string }).id, request.query as HistoryQuery);
    });

    app.get(`${base}/:id/allowed-events`, { config: { roles: readers }, schema: { tags, params: idParams } }, async (request) => {
      const p = principalOf(request);
      const caller = callerOf(p);
      const c = await getCase(app.db, wf, caller, (request.params as { id: string }).id);
      return { state: c.state, events: allowedEvents(wf, c.state, caller) };
    });
  };
}
