// The schemas of the service's operational answers: the audit verification's report, health, the
// transparency log's proofs and leaves (SPEC 7) and the issuer's keys (SPEC 8). Part of
// responseSchemas (./responses.ts), in this order.
import type { JsonSchema } from '../schemas.js';
import { SUBJECT_KINDS } from '../audit/projections.js';
import { nullableUuid } from './response-types.js';

const auditReport: JsonSchema = {
  $id: 'responses/audit-report.json',
  title: 'AuditReport',
  description:
    'The result of checking every hash chain, replaying every case and comparing every projection the service decides from (case rows, deadline rows, the certificate register, principals, organizations and accreditations, products) with the audit events it comes from.',
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'cases_checked', 'events_checked', 'failures'],
  properties: {
    ok: { type: 'boolean' },
    cases_checked: { type: 'integer' },
    events_checked: { type: 'integer' },
    failures: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['case_id', 'seq', 'reason'],
        properties: {
          case_id: { ...nullableUuid, description: 'The case the failure concerns; null when it concerns none (the registry chain, a principal, organization or product).' },
          subject: {
            type: 'object',
            description: 'What is wrong when it is not a case: a principal, organization or product (by id) or a certificate (by number).',
            additionalProperties: false,
            required: ['kind', 'id'],
            properties: { kind: { type: 'string', enum: [...SUBJECT_KINDS] }, id: { type: 'string' } },
          },
          seq: { type: 'integer', description: 'The event at fault in its chain; 0 when no one event is.' },
          reason: { type: 'string' },
        },
      },
    },
  },
};

const base64Hash = { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$', description: 'A SHA-256 hash, base64.' } as const;
const leafIndex = { type: 'integer', minimum: 0 } as const;
const inclusionProof: JsonSchema = {
  $id: 'responses/inclusion-proof.json',
  title: 'InclusionProof',
  description: 'The audit path of a leaf in the tree of `tree_size` leaves (RFC 9162 §2.1.3), from the leaf up.',
  type: 'object',
  additionalProperties: false,
  required: ['leaf_index', 'tree_size', 'leaf_hash', 'proof'],
  properties: { leaf_index: leafIndex, tree_size: leafIndex, leaf_hash: base64Hash, proof: { type: 'array', items: base64Hash } },
};
const consistencyProof: JsonSchema = {
  $id: 'responses/consistency-proof.json',
  title: 'ConsistencyProof',
  description: 'The proof that the tree of `to` leaves extends the tree of `from` leaves (RFC 9162 §2.1.4).',
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to', 'proof'],
  properties: { from: leafIndex, to: leafIndex, proof: { type: 'array', items: base64Hash } },
};
const logLeaves: JsonSchema = {
  $id: 'responses/log-leaves.json',
  title: 'LogLeaves',
  description: 'The leaf hashes of leaves [start, end) of the transparency log, in order: SHA-256(0x00 ‖ the audit event’s 32-byte hash).',
  type: 'object',
  additionalProperties: false,
  required: ['start', 'end', 'leaf_hashes'],
  properties: { start: leafIndex, end: leafIndex, leaf_hashes: { type: 'array', items: base64Hash } },
};

const jwks: JsonSchema = {
  $id: 'responses/jwks.json',
  title: 'JsonWebKeySet',
  description: 'The issuer’s public keys (RFC 7517), the one signing now first: every key a credential or status list was ever signed with (SPEC §8).',
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kty', 'crv', 'x', 'kid', 'alg', 'use'],
        properties: {
          kty: { type: 'string', enum: ['OKP'] },
          crv: { type: 'string', enum: ['Ed25519'] },
          x: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$', description: 'The public key, base64url.' },
          kid: { type: 'string', description: 'The key’s RFC 7638 thumbprint (SHA-256), the `kid` of what it signed.' },
          alg: { type: 'string', enum: ['EdDSA'] },
          use: { type: 'string', enum: ['sig'] },
        },
      },
    },
  },
};

const count = { type: 'integer' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const health: JsonSchema = {
  $id: 'responses/health.json',
  title: 'Health',
  description: 'The service’s status; readiness adds the database it runs on and the state of the instance’s background workers (scheduler, log sequencer, credential issuer, webhook dispatcher).',
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'ready'] },
    database: { type: 'string', enum: ['embedded', 'postgresql'] },
    scheduler: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      properties: {
        enabled: { type: 'boolean' },
        interval_ms: count,
        sweeps: count,
        last_sweep_at: nullableTime,
        last_sweep: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { fired: count, skipped: count, failed: count, batches: count, more: { type: 'boolean' }, purged_idempotency_keys: count, duration_ms: { type: 'number' } },
        },
        failing_deadlines: count,
        last_error: { type: ['string', 'null'] },
        last_error_at: nullableTime,
      },
    },
    transparency: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      description: 'The transparency log’s sequencer in this instance (SPEC §7).',
      properties: {
        enabled: { type: 'boolean' },
        interval_ms: count,
        tree_size: { type: ['integer', 'null'] },
        last_checkpoint_size: { type: ['integer', 'null'], description: 'The size of the last checkpoint this instance signed.' },
        last_error: { type: ['string', 'null'] },
        last_error_at: nullableTime,
      },
    },
    credentials: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      description: 'The credential issuer in this instance (SPEC §8): its last error, if its last round failed.',
      properties: { enabled: { type: 'boolean' }, interval_ms: count, last_error: { type: ['string', 'null'] } },
    },
    webhooks: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      description: 'The webhook dispatcher in this instance (SPEC §9): rounds that claimed deliveries, attempts delivered and failed since the start, the last error.',
      properties: { enabled: { type: 'boolean' }, interval_ms: count, rounds: count, delivered: count, failed: count, last_error: { type: ['string', 'null'] }, last_error_at: nullableTime },
    },
  },
};

export const operationsSchemas: JsonSchema[] = [auditReport, health, inclusionProof, consistencyProof, logLeaves, jwks];
