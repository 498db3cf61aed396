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
import { answer, documentRoute, HEADERS } from '../openapi.js';
import type { JsonSchema } from '../../schemas.js';

/** `If-Match: "<version>"` (or W/"…", or a bare number) → the version, or a 400 naming the header. */
export function parseIfMatch(request: FastifyRequest): number | undefined {
  const raw = request.headers['if-match'];
  if (raw === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(String(raw));
  if (!m) throw new AppError('validation_failed', 'If-Match must be a quoted case version, e.g. "3"', { errors: [{ path: 'header/if-match', message: 'must be a quoted case version' }] });
  return Number(m[1]);
}

// The operations' names come from the kind: sandbox-cases → SandboxCase, genai-projects → GenaiProject.
const nounOf = (wf: Workflow) => wf.kind.replace(/s$/, '').replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
const pascal = (type: string) => type.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
/** Events a caller may fire through the API: neither internal nor the scheduler's own. */
const callerMayFire = (e: Workflow['events'][string]) => !e.internal && e.roles.some((r) => r !== 'system');
const eventBodyId = (wf: Workflow, type: string) => `events/${wf.kind}/${type}.json`;
const eventBodyTitle = (wf: Workflow, type: string) => `${nounOf(wf)}${pascal(type)}Event`;

/**
 * The body of each event callers may fire on a kind (system events left out), as schemas of their
 * own for the OpenAPI document: `{type, payload}` with the event's payload schema file, its
 * description and roles from the machine. POST …/events documents its body as `oneOf` these with
 * a discriminator on `type`, so a generated client types each event's payload exactly.
 */
export function eventBodySchemas(wf: Workflow, files: JsonSchema[]): JsonSchema[] {
  return Object.entries(wf.events)
    .filter(([, e]) => callerMayFire(e))
    .map(([type, e]) => {
      const payloadFile = e.payload ? files.find((f) => f.$id === `${wf.schemaDir}/events/${type}.json`) : undefined;
      const payloadRequired = ((payloadFile?.required as unknown[] | undefined)?.length ?? 0) > 0;
      return {
        $id: eventBodyId(wf, type),
        title: eventBodyTitle(wf, type),
        description: `${e.description} Roles: ${e.roles.join(', ')}.`,
        type: 'object',
        additionalProperties: false,
        required: payloadRequired ? ['type', 'payload'] : ['type'],
        properties: {
          type: { type: 'string', enum: [type] },
          payload: payloadFile ? { $ref: `${payloadFile.$id}#` } : { type: 'object', maxProperties: 0 },
        },
      };
    });
}

const etag = (reply: FastifyReply, version: number) => reply.header('etag', `"${version}"`);

/** The routes every case kind has (SPEC §2), derived from the workflow's machine and schemas. */
export function caseRoutes(wf: Workflow) {
  const base = `/v1/${wf.kind}`;
  const readers: Role[] = ['applicant', 'lab', 'regulator'];
  const tags = [wf.kind];
  // The validation enum keeps the scheduler's events, so that firing one is refused by role (403);
  // the document lists only those a caller may fire.
  const publicEvents = Object.entries(wf.events).filter(([, s]) => !s.internal).map(([t]) => t);
  const callerEvents = Object.entries(wf.events).filter(([, s]) => callerMayFire(s)).map(([t]) => t);
  const states = Object.keys(wf.machine.root.states);
  const noun = nounOf(wf);
  const caseAnswer = (description: string, headers = {}) => answer(description, 'responses/case.json', headers);
  return async function routes(app: FastifyInstance) {
    const deps = app.engine;
    // For the OpenAPI document only: one of the events callers may fire, each a component of its
    // own (eventBodySchemas), told apart by `type`. Validation keeps the simple body so that state
    // and role are judged before the payload.
    const documentedEventBody = {
      oneOf: callerEvents.map((type) => ({ $ref: `${eventBodyId(wf, type)}#` })),
      discriminator: { propertyName: 'type', mapping: Object.fromEntries(callerEvents.map((type) => [type, `#/components/schemas/${eventBodyTitle(wf, type)}`])) },
    };

    app.post(base, { config: { roles: ['applicant'] }, schema: {
          tags,
          operationId: `create${noun}`,
          summary: `Create a ${wf.title} case (draft)`,
          description: 'The body is the application; the case starts in state `draft`.',
          body: ref(`${wf.schemaDir}/application.json`),
          response: { 201: caseAnswer('The case, created', { location: HEADERS.location, etag: HEADERS.etag, 'idempotent-replayed': HEADERS.replayed }) },
        },
      }, async (request, reply) => {
      const p = principalOf(request);
      const headers = (c: CaseView) => ({ location: `${base}/${c.id}`, etag: `"${c.version}"` });
      const c = await createCase(deps, wf, callerOf(p), request.body, keyedAnswer(request, 201, headers));
      return reply.code(201).headers(headers(c)).send(c);
    });

    app.patch(
      `${base}/:id`,
      {
        config: { roles: ['applicant'], ifMatch: true },
        schema: {
          tags,
          operationId: `replace${noun}Application`,
          summary: `Replace a ${wf.title} case's application while it is a draft`,
          params: idParams,
          body: ref(`${wf.schemaDir}/application.json`),
          response: { 200: caseAnswer('The case with its new application', { etag: HEADERS.etag }) },
        },
      },
      async (request, reply) => {
        const p = principalOf(request);
        const { id } = request.params as { id: string };
        const out = await fireEvent(deps, wf, callerOf(p), id, { type: 'REPLACE_APPLICATION', payload: request.body }, { ifMatch: parseIfMatch(request), allowInternal: true });
        return etag(reply, out.case.version).send(out.case);
      },
    );

    app.get(
      `${base}/:id`,
      {
        config: { roles: readers },
        schema: { tags, operationId: `get${noun}`, summary: `Get a ${wf.title} case`, params: idParams, response: { 200: caseAnswer('The case', { etag: HEADERS.etag }) } },
      }, async (request, reply) => {
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
          operationId: `list${noun}s`,
          summary: `List ${wf.title} cases`,
          description: 'Cases visible to the caller, oldest first, in keyset pages.',
          response: { 200: answer('A page of cases', 'responses/case-page.json') },
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
        config: {
          roles: readers,
          ifMatch: true,
          swaggerTransform: ((route: Parameters<typeof documentRoute>[0]) => documentRoute({ ...route, schema: { ...route.schema, body: documentedEventBody } })) as never,
        },
        schema: {
          tags,
          operationId: `fire${noun}Event`,
          summary: `Fire a ${wf.title} workflow event`,
          description: 'The body is one of the events callers may fire, each with its payload schema; GET …/allowed-events lists those this caller may fire now. A refusal is judged in this order: role (403), If-Match (412), state (409), payload (400), rules (422).',
          response: { 200: answer('The case after the event, and the event', 'responses/fired.json', { 'idempotent-replayed': HEADERS.replayed }) },
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
    app.get(
      `${base}/:id/events`,
      {
        config: { roles: readers },
        schema: {
          tags,
          operationId: `list${noun}Events`,
          summary: `A ${wf.title} case's history`,
          description: 'The case’s audit events, oldest first, in keyset pages.',
          params: idParams,
          querystring: historyQuery,
          response: { 200: answer('A page of the case’s events', 'responses/audit-event-page.json') },
        },
      }, async (request) => {
      const p = principalOf(request);
      return caseHistory(app.db, wf, callerOf(p), (request.params as { id: string }).id, request.query as HistoryQuery);
    });

    app.get(
      `${base}/:id/allowed-events`,
      {
        config: { roles: readers },
        schema: {
          tags,
          operationId: `list${noun}AllowedEvents`,
          summary: `The events this caller may fire on a ${wf.title} case now`,
          params: idParams,
          response: { 200: answer('The case’s state and the events this caller may fire in it', 'responses/allowed-events.json') },
        },
      }, async (request) => {
      const p = principalOf(request);
      const caller = callerOf(p);
      const c = await getCase(app.db, wf, caller, (request.params as { id: string }).id);
      return { state: c.state, events: allowedEvents(wf, c.state, caller) };
    });
  };
}
