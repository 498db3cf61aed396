import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireRole, callerOf } from '../plugins/auth.js';
import { actorOf, createPrincipal, revokePrincipal, type Role } from '../services/principals.js';
import { createOrganization, getOrganization, listOrganizations, setAccreditation, type OrganizationInput } from '../services/organizations.js';
import { createProduct, getProduct, listProducts } from '../services/products.js';

const ref = (id: string) => ({ $ref: `${id}#` });
const idParams = ref('common/id-params.json');
const pageQuery = (extra: Record<string, unknown>) => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    cursor: { type: 'string', maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' },
    ...extra,
  },
});
const security = [{ bearer: [] }];
// Runs before the body is read: a stranger or a wrong role gets 401/403, never a 400 or 413 that
// would tell it about the route's schema or make the service parse its body.
const allow =
  (...roles: Role[]) =>
  async (request: FastifyRequest) => {
    requireRole(request, ...roles);
  };

/** Organizations, principals, accreditation and products (SPEC §2). */
export default async function registryRoutes(app: FastifyInstance) {
  const db = app.db;

  app.post('/v1/organizations', { onRequest: allow('admin', 'regulator'), schema: { tags: ['organizations'], security, body: ref('organizations/organization.json') } }, async (request, reply) => {
    const p = requireRole(request, 'admin', 'regulator');
    const org = await createOrganization(db, request.body as OrganizationInput, actorOf(p));
    return reply.code(201).header('location', `/v1/organizations/${org.id}`).send(org);
  });
  app.get('/v1/organizations/:id', { onRequest: allow(), schema: { tags: ['organizations'], security, params: idParams } }, async (request) => {
    const p = requireRole(request);
    return getOrganization(db, p, (request.params as { id: string }).id);
  });
  app.get(
    '/v1/organizations',
    {
      onRequest: allow(),
      schema: {
        tags: ['organizations'],
        security,
        querystring: pageQuery({
          kind: { enum: ['enterprise', 'university', 'research_institute', 'lab', 'other'] },
          region: { enum: ['guangdong', 'mainland_other', 'hong_kong', 'macao', 'overseas'] },
        }),
      },
    },
    async (request) => {
      const p = requireRole(request);
      return listOrganizations(db, p, request.query as never);
    },
  );
  app.put(
    '/v1/organizations/:id/accreditation',
    { onRequest: allow('regulator'), schema: { tags: ['organizations'], security, params: idParams, body: ref('organizations/accreditation.json') } },
    async (request) => {
      const p = requireRole(request, 'regulator');
      return setAccreditation(db, (request.params as { id: string }).id, request.body as never, actorOf(p));
    },
  );

  // The token is shown once and stored only as a hash (SPEC §1): a replay names the principal without it.
  app.post('/v1/principals', { onRequest: allow('admin'), config: { idempotencyOmit: ['token'] }, schema: { tags: ['principals'], security, body: ref('principals/principal.json') } }, async (request, reply) => {
    const p = requireRole(request, 'admin');
    const body = request.body as { role: Role; organization_id?: string; name?: string };
    const created = await createPrincipal(db, body, actorOf(p));
    return reply.code(201).header('location', `/v1/principals/${created.id}`).send(created);
  });
  app.delete('/v1/principals/:id', { onRequest: allow('admin'), schema: { tags: ['principals'], security, params: idParams } }, async (request, reply) => {
    const p = requireRole(request, 'admin');
    await revokePrincipal(db, (request.params as { id: string }).id, actorOf(p));
    return reply.code(204).send();
  });
  app.get('/v1/me', { onRequest: allow(), schema: { tags: ['principals'], security } }, async (request) => {
    const p = requireRole(request);
    return { ...callerOf(p), id: p.id, name: p.name };
  });

  app.post('/v1/products', { onRequest: allow('applicant'), schema: { tags: ['products'], security, body: ref('products/product.json') } }, async (request, reply) => {
    const p = requireRole(request, 'applicant');
    const product = await createProduct(db, p, request.body as never);
    return reply.code(201).header('location', `/v1/products/${product.id}`).send(product);
  });
  app.get('/v1/products/:id', { onRequest: allow('applicant', 'regulator', 'lab'), schema: { tags: ['products'], security, params: idParams } }, async (request) => {
    const p = requireRole(request, 'applicant', 'regulator', 'lab');
    return getProduct(db, p, (request.params as { id: string }).id);
  });
  app.get(
    '/v1/products',
    {
      onRequest: allow('applicant', 'regulator', 'lab'),
      schema: {
        tags: ['products'],
        security,
        querystring: pageQuery({ kind: { enum: ['ai_system', 'robot', 'embodied_ai', 'genai_service'] }, organization_id: { type: 'string', format: 'uuid' } }),
      },
    },
    async (request) => {
      const p = requireRole(request, 'applicant', 'regulator', 'lab');
      return listProducts(db, p, request.query as never);
    },
  );
}

export { pageQuery, ref, idParams, security };
