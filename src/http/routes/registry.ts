import type { FastifyInstance } from 'fastify';
import { callerOf, principalOf } from '../plugins/auth.js';
import { keyedAnswer } from '../plugins/idempotency.js';
import { actorOf, createPrincipal, revokePrincipal, type Role } from '../../registry/principals.js';
import { createOrganization, getOrganization, listOrganizations, setAccreditation, type OrganizationInput } from '../../registry/organizations.js';
import { idParams, pageQuery, ref } from './common.js';
import { answer, HEADERS } from '../openapi.js';
import { createProduct, getProduct, listProducts } from '../../registry/products.js';

/** Organizations, principals, accreditation and products (SPEC §2). */
export default async function registryRoutes(app: FastifyInstance) {
  const db = app.db;

  app.post('/v1/organizations', { config: { roles: ['admin', 'regulator'] }, schema: { tags: ['organizations'], operationId: 'createOrganization', summary: 'Register an organization', body: ref('organizations/organization.json'), response: { 201: answer('The organization, created', 'responses/organization.json', { location: HEADERS.location, 'idempotent-replayed': HEADERS.replayed }) } } }, async (request, reply) => {
    const p = principalOf(request);
    const location = (org: { id: string }) => ({ location: `/v1/organizations/${org.id}` });
    const org = await createOrganization(db, request.body as OrganizationInput, actorOf(p), keyedAnswer(request, 201, location));
    return reply.code(201).headers(location(org)).send(org);
  });
  app.get('/v1/organizations/:id', { config: { roles: [] }, schema: { tags: ['organizations'], operationId: 'getOrganization', summary: 'Get an organization', description: 'Regulators and admins see every organization, others only their own.', params: idParams, response: { 200: answer('The organization', 'responses/organization.json') } } }, async (request) => {
    const p = principalOf(request);
    return getOrganization(db, p, (request.params as { id: string }).id);
  });
  app.get(
    '/v1/organizations',
    {
      config: { roles: [] },
      schema: {
        tags: ['organizations'],
        operationId: 'listOrganizations',
        summary: 'List organizations',
        description: 'Regulators and admins see every organization, others only their own.',
        response: { 200: answer('A page of organizations', 'responses/organization-page.json') },
        querystring: pageQuery({
          kind: { enum: ['enterprise', 'university', 'research_institute', 'lab', 'other'] },
          region: { enum: ['guangdong', 'mainland_other', 'hong_kong', 'macao', 'overseas'] },
        }),
      },
    },
    async (request) => {
      const p = principalOf(request);
      return listOrganizations(db, p, request.query as never);
    },
  );
  app.put(
    '/v1/organizations/:id/accreditation',
    { config: { roles: ['regulator'] }, schema: { tags: ['organizations'], operationId: 'setAccreditation', summary: 'Set a lab’s accreditation', description: 'Which certification schemes the lab may assess, and until when.', params: idParams, body: ref('organizations/accreditation.json'), response: { 200: answer('The lab organization with its accreditation', 'responses/organization.json') } } },
    async (request) => {
      const p = principalOf(request);
      return setAccreditation(db, (request.params as { id: string }).id, request.body as never, actorOf(p), app.engine.now());
    },
  );

  // The token is shown once and stored only as a hash (SPEC §1): a replay names the principal without it.
  app.post('/v1/principals', { config: { roles: ['admin'], idempotencyOmit: ['token'] }, schema: { tags: ['principals'], operationId: 'createPrincipal', summary: 'Create a principal and its bearer token', body: ref('principals/principal.json'), response: { 201: answer('The principal, created, with its token', 'responses/created-principal.json', { location: HEADERS.location, 'idempotent-replayed': HEADERS.replayed }) } } }, async (request, reply) => {
    const p = principalOf(request);
    const body = request.body as { role: Role; organization_id?: string; name?: string };
    const location = (created: { id: string }) => ({ location: `/v1/principals/${created.id}` });
    const created = await createPrincipal(db, body, actorOf(p), undefined, keyedAnswer(request, 201, location));
    return reply.code(201).headers(location(created)).send(created);
  });
  app.delete('/v1/principals/:id', { config: { roles: ['admin'] }, schema: { tags: ['principals'], operationId: 'revokePrincipal', summary: 'Revoke a principal’s token', params: idParams, response: { 204: answer('Revoked', null) } } }, async (request, reply) => {
    const p = principalOf(request);
    await revokePrincipal(db, (request.params as { id: string }).id, actorOf(p));
    return reply.code(204).send();
  });
  app.get('/v1/me', { config: { roles: [] }, schema: { tags: ['principals'], operationId: 'getMe', summary: 'The caller’s own principal', response: { 200: answer('The caller’s principal', 'responses/me.json') } } }, async (request) => {
    const p = principalOf(request);
    return { ...callerOf(p), id: p.id, name: p.name };
  });

  app.post('/v1/products', { config: { roles: ['applicant'] }, schema: { tags: ['products'], operationId: 'createProduct', summary: 'Register a product of the caller’s organization', body: ref('products/product.json'), response: { 201: answer('The product, created', 'responses/product.json', { location: HEADERS.location, 'idempotent-replayed': HEADERS.replayed }) } } }, async (request, reply) => {
    const p = principalOf(request);
    const location = (product: { id: string }) => ({ location: `/v1/products/${product.id}` });
    const product = await createProduct(db, p, request.body as never, keyedAnswer(request, 201, location));
    return reply.code(201).headers(location(product)).send(product);
  });
  app.get('/v1/products/:id', { config: { roles: ['applicant', 'regulator', 'lab'] }, schema: { tags: ['products'], operationId: 'getProduct', summary: 'Get a product', params: idParams, response: { 200: answer('The product', 'responses/product.json') } } }, async (request) => {
    const p = principalOf(request);
    return getProduct(db, p, (request.params as { id: string }).id);
  });
  app.get(
    '/v1/products',
    {
      config: { roles: ['applicant', 'regulator', 'lab'] },
      schema: {
        tags: ['products'],
        operationId: 'listProducts',
        summary: 'List products',
        description: 'Applicants see their organization’s products; regulators and labs see every product.',
        response: { 200: answer('A page of products', 'responses/product-page.json') },
        querystring: pageQuery({ kind: { enum: ['ai_system', 'robot', 'embodied_ai', 'genai_service'] }, organization_id: { type: 'string', format: 'uuid' } }),
      },
    },
    async (request) => {
      const p = principalOf(request);
      return listProducts(db, p, request.query as never);
    },
  );
}
