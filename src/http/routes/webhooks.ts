import type { FastifyInstance } from 'fastify';
import { principalOf } from '../plugins/auth.js';
import { keyedAnswer } from '../plugins/idempotency.js';
import { actorOf } from '../../registry/principals.js';
import { idParams, pageQuery, ref } from './common.js';
import { answer, HEADERS, problem } from '../openapi.js';
import { createEndpoint, deleteEndpoint, deliveryById, getEndpoint, listDeliveries, listEndpoints, queuePing, retryDelivery, updateEndpoint, type EndpointInput, type EndpointPatch } from '../../webhooks/endpoints.js';

const tags = ['webhooks'];
const roles: Array<'applicant' | 'lab' | 'regulator'> = ['applicant', 'lab', 'regulator'];
// A POST without a body still has one parsed when sent: its size and type can be refused.
const bodyless = { 413: problem(413, 'A body was sent, over the size limit'), 415: problem(415, 'A body was sent, not application/json') };
const manages = 'Applicants and labs manage their organization’s endpoints; regulators the regulators’ endpoints, which hear every case.';

/** Webhook endpoints, their deliveries, retries and pings (SPEC §9). */
export default async function webhookRoutes(app: FastifyInstance) {
  const deps = () => ({ db: app.db, now: app.engine.now, box: app.webhooks.box, allowPrivate: app.config.webhookAllowPrivate });

  app.post(
    '/v1/webhooks',
    {
      config: { roles, idempotencyOmit: ['secret'] },
      schema: { tags, operationId: 'createWebhook', summary: 'Register a webhook endpoint', description: `${manages} The secret is shown only in this answer.`, body: ref('webhooks/endpoint.json'), response: { 201: answer('The endpoint, created, with its signing secret', 'responses/created-webhook.json', { location: HEADERS.location, 'idempotent-replayed': HEADERS.replayed }) } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const location = (w: { id: string }) => ({ location: `/v1/webhooks/${w.id}` });
      const created = await createEndpoint(deps(), p, actorOf(p), request.body as EndpointInput, keyedAnswer(request, 201, location));
      return reply.code(201).headers(location(created)).send(created);
    },
  );
  app.get('/v1/webhooks', { config: { roles }, schema: { tags, operationId: 'listWebhooks', summary: 'List the caller’s webhook endpoints', description: manages, querystring: pageQuery({}), response: { 200: answer('A page of endpoints', 'responses/webhook-page.json') } } }, async (request) =>
    listEndpoints(app.db, principalOf(request), request.query as never),
  );
  app.get('/v1/webhooks/:id', { config: { roles }, schema: { tags, operationId: 'getWebhook', summary: 'Get a webhook endpoint', params: idParams, response: { 200: answer('The endpoint', 'responses/webhook.json') } } }, async (request) =>
    getEndpoint(app.db, principalOf(request), (request.params as { id: string }).id),
  );
  app.patch('/v1/webhooks/:id', { config: { roles }, schema: { tags, operationId: 'updateWebhook', summary: 'Change, disable or enable a webhook endpoint', params: idParams, body: ref('webhooks/endpoint-patch.json'), response: { 200: answer('The endpoint, changed', 'responses/webhook.json') } } }, async (request) => {
    const p = principalOf(request);
    return updateEndpoint(deps(), p, actorOf(p), (request.params as { id: string }).id, request.body as EndpointPatch);
  });
  app.delete('/v1/webhooks/:id', { config: { roles }, schema: { tags, operationId: 'deleteWebhook', summary: 'Delete a webhook endpoint and its deliveries', params: idParams, response: { 204: answer('Deleted', null) } } }, async (request, reply) => {
    const p = principalOf(request);
    await deleteEndpoint(deps(), p, actorOf(p), (request.params as { id: string }).id);
    return reply.code(204).send();
  });
  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      config: { roles },
      schema: { tags, operationId: 'listWebhookDeliveries', summary: 'An endpoint’s deliveries, oldest first', params: idParams, querystring: pageQuery({ status: { enum: ['pending', 'delivered', 'failed'] } }), response: { 200: answer('A page of deliveries', 'responses/webhook-delivery-page.json') } },
    },
    async (request) => listDeliveries(app.db, principalOf(request), (request.params as { id: string }).id, request.query as never),
  );
  app.post(
    '/v1/webhooks/:id/deliveries/:delivery_id/retry',
    { config: { roles }, schema: { tags, operationId: 'retryWebhookDelivery', summary: 'Send a delivery again', description: 'The delivery is pending again and tried at the next round, with the same `webhook-id`; if that attempt fails it is failed again.', params: ref('webhooks/delivery-params.json'), response: { 202: answer('The delivery, pending', 'responses/webhook-delivery.json'), ...bodyless } } },
    async (request, reply) => {
      const { id, delivery_id } = request.params as { id: string; delivery_id: string };
      return reply.code(202).send(await retryDelivery(deps(), principalOf(request), id, delivery_id));
    },
  );
  app.post(
    '/v1/webhooks/:id/ping',
    { config: { roles }, schema: { tags, operationId: 'pingWebhook', summary: 'Send a ping now', description: 'Sends `{type: "ping", timestamp, data: {}}`, signed like every delivery, and answers how the attempt went (a ping that fails is failed at once; the retry route sends it again).', params: idParams, response: { 200: answer('The ping’s delivery after its first attempt', 'responses/webhook-delivery.json'), ...bodyless } } },
    async (request) => {
      const deliveryId = await queuePing(deps(), principalOf(request), (request.params as { id: string }).id);
      await app.webhooks.dispatcher.dispatchOnce({ only: deliveryId });
      return deliveryById(app.db, deliveryId);
    },
  );
}
