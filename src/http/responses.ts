// The schemas of the service's answers: Fastify serialises each answer with its route's
// `schema.response` (fast-json-stringify), and @fastify/swagger documents the same schemas, so the
// OpenAPI document is what is sent. A field missing here is not sent, so properties are listed in
// the order the views build them (an idempotent replay is the stored JSON.stringify of the view and
// must be byte for byte the first answer). Open objects (`additionalProperties: true`, no
// properties) are sent as they are. References name a schema by its whole $id (the serialiser does not
// resolve relative ones): the application and the record, whose shape depends on the kind.
import fs from 'node:fs';
import path from 'node:path';
import { schemasDir, withWholeRefs, type JsonSchema } from '../schemas.js';
import { CERTIFICATE_STATUSES } from '../register/certificates.js';
import { PUBLIC_SANDBOX_STATES } from '../register/sandbox.js';
import { PUBLIC_GENAI_STATES } from '../register/genai.js';
import { dateTime, nullableUuid, uuid } from './response-types.js';
import { operationsSchemas } from './responses-operations.js';
import { webhookSchemas } from './responses-webhooks.js';

const open = (description: string) => ({ type: 'object', additionalProperties: true, description });
const page = (item: string, title: string, description: string): JsonSchema => ({
  $id: `${item.replace(/\.json$/, '')}-page.json`,
  title,
  description,
  type: 'object',
  additionalProperties: false,
  required: ['items', 'next_cursor'],
  properties: {
    items: { type: 'array', items: { $ref: `${item}#` } },
    next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page.' },
  },
});

const caseView: JsonSchema = {
  $id: 'responses/case.json',
  title: 'Case',
  description: 'A case of any kind (sandbox case, certification case, GenAI project).',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'number', 'kind', 'state', 'version', 'organization_id', 'product_id', 'lab_id', 'application', 'record', 'deadlines', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    number: { type: 'string', description: 'Human-readable number, e.g. SBX-2026-000001.', examples: ['SBX-2026-000001'] },
    kind: { type: 'string', enum: ['sandbox-cases', 'certification-cases', 'genai-projects'] },
    state: { type: 'string', description: 'The workflow state (GET /v1/workflows/{kind}).', examples: ['draft'] },
    version: { type: 'integer', minimum: 1, description: 'Incremented by every event; send it back in If-Match.' },
    organization_id: uuid,
    product_id: nullableUuid,
    lab_id: { ...nullableUuid, description: 'The lab currently assigned to the case, if any.' },
    application: open('The application, as its kind’s application schema describes it.'),
    record: open('The bounded state the workflow decides and shows from (SPEC §2); its shape depends on the kind.'),
    deadlines: { type: 'object', additionalProperties: { type: 'string', format: 'date-time' }, description: 'When the system itself will fire an event, e.g. testing_ends_at.' },
    created_at: dateTime,
    updated_at: dateTime,
  },
};

const actor = {
  type: 'object',
  additionalProperties: false,
  required: ['principal_id', 'role'],
  properties: { principal_id: nullableUuid, role: { type: 'string', description: 'The role, or `system` for events the service fires itself.' } },
};

const auditEvent: JsonSchema = {
  $id: 'responses/audit-event.json',
  title: 'AuditEvent',
  description: 'One event of a case’s hash-chained history.',
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'type', 'actor', 'from_state', 'to_state', 'payload', 'at', 'prev_hash', 'hash'],
  properties: {
    seq: { type: 'integer' },
    type: { type: 'string', examples: ['ADMIT'] },
    actor,
    from_state: { type: ['string', 'null'] },
    to_state: { type: ['string', 'null'] },
    payload: { description: 'The event’s payload, as its schema describes it.' },
    at: dateTime,
    prev_hash: { type: ['string', 'null'] },
    hash: { type: 'string' },
    log_index: { type: 'integer', minimum: 0, description: 'The event’s leaf in the transparency log (SPEC §7), once the sequencer has given it one (absent until then).' },
  },
};

const fired: JsonSchema = {
  $id: 'responses/fired.json',
  title: 'FiredEvent',
  description: 'The case after the event, and the event as recorded.',
  type: 'object',
  additionalProperties: false,
  required: ['case', 'event'],
  properties: { case: { $ref: 'responses/case.json#' }, event: { $ref: 'responses/audit-event.json#' } },
};

const allowedEvents: JsonSchema = {
  $id: 'responses/allowed-events.json',
  title: 'AllowedEvents',
  description: 'The events this caller may fire in the case’s current state.',
  type: 'object',
  additionalProperties: false,
  required: ['state', 'events'],
  properties: { state: { type: 'string' }, events: { type: 'array', items: { type: 'string' }, examples: [['ADMIT', 'REJECT']] } },
};

const organization: JsonSchema = {
  $id: 'responses/organization.json',
  title: 'Organization',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'name_en', 'kind', 'region', 'credit_code', 'registration_number', 'contact_email', 'accreditation', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    name: { type: 'string' },
    name_en: { type: ['string', 'null'] },
    kind: { type: 'string', enum: ['enterprise', 'university', 'research_institute', 'lab', 'other'] },
    region: { type: 'string', enum: ['guangdong', 'mainland_other', 'hong_kong', 'macao', 'overseas'] },
    credit_code: { type: ['string', 'null'] },
    registration_number: { type: ['string', 'null'] },
    contact_email: { type: 'string' },
    accreditation: {
      type: ['object', 'null'],
      additionalProperties: false,
      description: 'A lab’s accreditation as the regulator set it (AccreditationInput), with when and by whom.',
      required: ['accreditation_number', 'schemes', 'valid_until', 'set_at', 'set_by'],
      properties: {
        accreditation_number: { type: 'string' },
        schemes: { type: 'array', items: { type: 'string' }, description: 'The scheme codes the lab may assess.' },
        valid_until: dateTime,
        set_at: dateTime,
        set_by: { type: 'string', description: 'The regulator principal’s id, or `system`.' },
      },
    },
    created_at: dateTime,
    updated_at: dateTime,
  },
};

const principalProps = {
  id: uuid,
  role: { type: 'string', enum: ['admin', 'regulator', 'applicant', 'lab'] },
  organization_id: nullableUuid,
  name: { type: ['string', 'null'] },
};
const createdPrincipal: JsonSchema = {
  $id: 'responses/created-principal.json',
  title: 'CreatedPrincipal',
  description: 'A new principal with its bearer token, shown this once (an idempotent replay leaves it out).',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'role', 'organization_id', 'name', 'token'],
  properties: { ...principalProps, token: { type: 'string' } },
};
const me: JsonSchema = {
  $id: 'responses/me.json',
  title: 'Me',
  description: 'The caller’s principal.',
  type: 'object',
  additionalProperties: false,
  required: ['principal_id', 'role', 'organization_id', 'id', 'name'],
  properties: { principal_id: uuid, role: principalProps.role, organization_id: nullableUuid, id: uuid, name: principalProps.name },
};

// A product's fields are ProductInput's, as declared in schemas/products/product.json.
const productInput = withWholeRefs(JSON.parse(fs.readFileSync(path.join(schemasDir, 'products/product.json'), 'utf8')) as JsonSchema);
const product: JsonSchema = {
  $id: 'responses/product.json',
  title: 'Product',
  description: 'A product: its id and organization, the fields of ProductInput as registered, and its times.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'organization_id', ...(productInput.required as string[]), 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    organization_id: uuid,
    ...(productInput.properties as Record<string, unknown>),
    created_at: dateTime,
    updated_at: dateTime,
  },
};

const workflow: JsonSchema = {
  $id: 'responses/workflow.json',
  title: 'Workflow',
  description: 'A workflow’s states, events, roles and transitions, derived from its machine.',
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'title', 'initial', 'states', 'final_states', 'events', 'transitions'],
  properties: {
    kind: { type: 'string' },
    title: { type: 'string' },
    initial: { type: 'string' },
    states: { type: 'array', items: { type: 'string' } },
    final_states: { type: 'array', items: { type: 'string' } },
    events: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'roles', 'description', 'payload_schema'],
        properties: {
          type: { type: 'string' },
          roles: { type: 'array', items: { type: 'string' } },
          description: { type: 'string' },
          payload_schema: { type: ['string', 'null'] },
        },
      },
    },
    transitions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'event', 'to', 'guard', 'roles'],
        properties: {
          from: { type: 'string' },
          event: { type: 'string' },
          to: { type: 'string' },
          guard: { type: ['string', 'null'] },
          roles: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

const strings = { type: 'array', items: { type: 'string' } } as const;

const scheme: JsonSchema = {
  $id: 'responses/scheme.json',
  title: 'Scheme',
  description: 'A certification scheme with its criteria.',
  type: 'object',
  additionalProperties: false,
  required: ['code', 'title', 'title_zh', 'description', 'product_kinds', 'standards', 'validity_months', 'criteria'],
  properties: {
    code: { type: 'string', examples: ['ai-safety-risk'] },
    title: { type: 'string' },
    title_zh: { type: ['string', 'null'] },
    description: { type: ['string', 'null'] },
    product_kinds: { ...strings, description: 'The product kinds the scheme certifies.' },
    standards: { ...strings, description: 'The standards it assesses against.' },
    validity_months: { type: 'integer', description: 'How long a certificate under it is valid.' },
    criteria: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'title_zh', 'mandatory'],
        properties: { id: { type: 'string' }, title: { type: 'string' }, title_zh: { type: ['string', 'null'], description: 'The title in Chinese; null where there is none.' }, mandatory: { type: 'boolean' } },
      },
    },
  },
};

const name = (nullable = false) => ({ type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: nullable ? ['string', 'null'] : 'string' } } });

const certificate: JsonSchema = {
  $id: 'responses/certificate.json',
  title: 'Certificate',
  description: 'A certificate in the public register, with its status: nothing of the application, results or contacts.',
  type: 'object',
  additionalProperties: false,
  required: ['number', 'status', 'holder', 'product', 'scheme', 'lab', 'issued_at', 'valid_until'],
  properties: {
    number: { type: 'string', examples: ['GDAIC-2026-000001'] },
    status: { type: 'string', enum: [...CERTIFICATE_STATUSES] },
    holder: name(),
    product: { type: 'object', additionalProperties: false, required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } },
    scheme: { type: 'string', description: 'The scheme’s code.' },
    lab: { ...name(true), description: 'The lab that assessed the product.' },
    issued_at: dateTime,
    valid_until: dateTime,
  },
};

const period = { type: 'object', additionalProperties: false, required: ['start', 'end'], properties: { start: dateTime, end: dateTime } } as const;
const sandboxEntry: JsonSchema = {
  $id: 'responses/sandbox-entry.json',
  title: 'SandboxRegisterEntry',
  description: 'A participant of the sandbox in the public register.',
  type: 'object',
  additionalProperties: false,
  required: ['number', 'organization', 'product', 'state', 'testing_period'],
  properties: {
    number: { type: 'string', examples: ['SBX-2026-000001'] },
    organization: name(),
    product: name(true),
    state: { type: 'string', enum: [...PUBLIC_SANDBOX_STATES] },
    testing_period: { anyOf: [period, { type: 'null' }], description: 'The admitted testing period.' },
    ended_at: { ...dateTime, description: 'When testing ended; absent while it goes on.' },
  },
};

const genaiEntry: JsonSchema = {
  $id: 'responses/genai-entry.json',
  title: 'GenaiRegisterEntry',
  description: 'A generative-AI joint-laboratory project in the public register.',
  type: 'object',
  additionalProperties: false,
  required: ['number', 'title', 'lead_organization', 'partners', 'research_areas', 'state', 'approved_at', 'completed_at'],
  properties: {
    number: { type: 'string', examples: ['GAI-2026-000001'] },
    title: { type: 'string' },
    lead_organization: name(),
    partners: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['name', 'region'], properties: { name: { type: 'string' }, region: { type: 'string' } } },
    },
    research_areas: strings,
    state: { type: 'string', enum: [...PUBLIC_GENAI_STATES] },
    approved_at: { type: ['string', 'null'], format: 'date-time' },
    completed_at: { type: ['string', 'null'], format: 'date-time' },
  },
};

export const responseSchemas: JsonSchema[] = [
  caseView,
  page('responses/case.json', 'CasePage', 'A page of cases.'),
  auditEvent,
  page('responses/audit-event.json', 'AuditEventPage', 'A page of a case’s history, oldest first.'),
  fired,
  allowedEvents,
  organization,
  page('responses/organization.json', 'OrganizationPage', 'A page of organizations.'),
  createdPrincipal,
  me,
  product,
  page('responses/product.json', 'ProductPage', 'A page of products.'),
  workflow,
  page('responses/workflow.json', 'WorkflowPage', 'Every workflow.'),
  scheme,
  page('responses/scheme.json', 'SchemePage', 'A page of certification schemes.'),
  certificate,
  page('responses/certificate.json', 'CertificatePage', 'A page of the public certificate register.'),
  sandboxEntry,
  page('responses/sandbox-entry.json', 'SandboxRegisterPage', 'A page of the public sandbox register.'),
  genaiEntry,
  page('responses/genai-entry.json', 'GenaiRegisterPage', 'A page of the public register of GenAI projects.'),
  // The audit report, health, the transparency log and the issuer's keys (./responses-operations.ts).
  ...operationsSchemas,
  // Webhook endpoints and deliveries (./responses-webhooks.ts).
  ...webhookSchemas,
];
