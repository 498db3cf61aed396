// The schemas of the webhooks' answers (SPEC 9). Part of responseSchemas (./responses.ts).
import type { JsonSchema } from '../schemas.js';
import { dateTime, nullableUuid, uuid } from './response-types.js';

const endpointProperties = {
  id: uuid,
  organization_id: { ...nullableUuid, description: 'The organization whose cases it hears; null for a regulators’ endpoint, which hears every case.' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string' } },
  enabled: { type: 'boolean' },
  description: { type: ['string', 'null'] },
  disabled_reason: { type: ['string', 'null'], description: 'Why it is disabled, when it is: by its owner, or after failing for 5 days.' },
  created_at: dateTime,
  updated_at: dateTime,
} as const;
const endpointRequired = ['id', 'organization_id', 'url', 'events', 'enabled', 'description', 'disabled_reason', 'created_at', 'updated_at'];

const endpoint: JsonSchema = {
  $id: 'responses/webhook.json',
  title: 'WebhookEndpoint',
  description: 'A webhook endpoint (its secret is shown only when it is created).',
  type: 'object',
  additionalProperties: false,
  required: endpointRequired,
  properties: endpointProperties,
};

const created: JsonSchema = {
  $id: 'responses/created-webhook.json',
  title: 'CreatedWebhookEndpoint',
  description: 'The endpoint, created, with its signing secret: shown only in this answer.',
  type: 'object',
  additionalProperties: false,
  required: [...endpointRequired, 'secret'],
  properties: { ...endpointProperties, secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]{43}=$', description: 'Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes.' } },
};

const delivery: JsonSchema = {
  $id: 'responses/webhook-delivery.json',
  title: 'WebhookDelivery',
  description: 'One notification to one endpoint; its id is the `webhook-id` header of every attempt.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'status', 'attempts', 'last_status_code', 'next_attempt_at', 'created_at'],
  properties: {
    id: uuid,
    type: { type: 'string', examples: ['sandbox-cases.REQUEST_INFO', 'reminder.respond_by', 'ping'] },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer', minimum: 0 },
    last_status_code: { type: ['integer', 'null'], description: 'The HTTP status of the last attempt; null when none answered.' },
    next_attempt_at: { type: ['string', 'null'], format: 'date-time', description: 'When it is tried next; null unless pending.' },
    created_at: { ...dateTime, description: 'When the event happened: the body’s `timestamp`.' },
  },
};

const page = (item: string, title: string, description: string): JsonSchema => ({
  $id: `${item.replace(/\.json$/, '')}-page.json`,
  title,
  description,
  type: 'object',
  additionalProperties: false,
  required: ['items', 'next_cursor'],
  properties: { items: { type: 'array', items: { $ref: `${item}#` } }, next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page.' } },
});

export const webhookSchemas: JsonSchema[] = [
  endpoint,
  page('responses/webhook.json', 'WebhookEndpointPage', 'A page of webhook endpoints.'),
  created,
  delivery,
  page('responses/webhook-delivery.json', 'WebhookDeliveryPage', 'A page of an endpoint’s deliveries, oldest first.'),
];
