import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { migrateToLatest, openDatabase, type Database } from './db/index.js';
import type { Db } from './db/types.js';
import { Schemas, withWholeRefs } from './schemas.js';
import { cachingSerializerFactory } from './http/serializers.js';
import { resolveComponentRefs } from './http/openapi-refs.js';
import openapiOperations, { documentRoute } from './http/openapi.js';
import { responseSchemas } from './http/responses.js';
import responseCheck from './http/plugins/response-check.js';
import authPlugin from './http/plugins/auth.js';
import errorsPlugin, { clientErrorHandler, frameworkErrors, requireOneHost } from './http/plugins/errors.js';
import idempotencyPlugin from './http/plugins/idempotency.js';
import rateLimitPlugin from './http/plugins/rate-limit.js';
import securityHeaders from './http/plugins/security-headers.js';
import { ensureAdmin } from './registry/principals.js';
import { listenForPrincipalChanges } from './registry/principal-notifications.js';
import { EventBatcher } from './cases/batcher.js';
import type { EngineDeps } from './cases/fire.js';
import healthRoutes from './http/routes/health.js';
import registryRoutes from './http/routes/registry.js';
import workflowRoutes from './http/routes/workflows.js';
import registerRoutes from './http/routes/register.js';
import registerCertificateRoutes from './http/routes/register-certificates.js';
import schemeRoutes from './http/routes/schemes.js';
import registerGenaiRoutes from './http/routes/register-genai.js';
import { caseRoutes, eventBodySchemas } from './http/routes/cases.js';
import { workflows } from '../workflows/index.js';
import { RequestLog, createLogger } from './logger.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ensureEmbeddedKeyFile, loadLogKeys, SigningKeyError, type LogKeys } from './transparency/keys.js';
import { Sequencer } from './transparency/sequencer.js';
import transparencyRoutes from './http/routes/transparency.js';
import credentialRoutes from './http/routes/credentials.js';
import webhookRoutes from './http/routes/webhooks.js';
import { Dispatcher } from './webhooks/dispatcher.js';
import { lazySecretBox, type SecretBox } from './webhooks/secrets.js';
import type { Lookup } from './webhooks/http.js';
import { issuerKeysOf, type IssuerKeys } from './credentials/keys.js';
import { CredentialIssuer } from './credentials/issuer.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    database: Database;
    schemas: Schemas;
    engine: EngineDeps;
    config: Config;
    readiness: () => Record<string, unknown>;
    /** The transparency log (SPEC §7): its keys, its origin and this instance's sequencer. */
    transparency: { keys: LogKeys; origin: string; sequencer: Sequencer };
    /** Notifications (SPEC §9): the box of webhook secrets and this instance's dispatcher. */
    webhooks: { box: SecretBox; dispatcher: Dispatcher };
    /** Verifiable certificates (SPEC §8): the issuer's keys (the log's, as JWKs) and this instance's issuer. */
    credentials: { keys: IssuerKeys; issuer: CredentialIssuer };
  }
}

export type AppOptions = {
  config: Config;
  /** An open database to use (tests share one); otherwise one is opened from the config and closed with the app. */
  database?: Database;
  /** The clock; tests inject one. */
  now?: () => Date;
  logger?: Logger;
  /** Tests: every answer is checked against its route's documented response schema (off in production). */
  checkResponses?: boolean;
  /** The transparency log's keys, when the caller has read them already (main.ts reads them before the database opens). */
  keys?: LogKeys;
  /** Printed once when an empty database gets its first admin. */
  onBootstrapToken?: (token: string) => void;
  /** Resolves webhook hosts (tests inject one); the system resolver otherwise. */
  webhookLookup?: Lookup;
};

/**
 * The transparency log's keys: from SIGNING_KEY_FILE, or on the embedded database from a file in
 * its directory, made on first start (after the database opened: a data directory that could not
 * be copied is made anew, and the key with it).
 */
export function logKeysOf(config: Config, database: { embedded: boolean } | null): LogKeys {
  const keyFile = config.signingKeyFile ?? (database?.embedded ? ensureEmbeddedKeyFile(config.dataDir) : null);
  if (!keyFile) throw new SigningKeyError('SIGNING_KEY_FILE is required with PostgreSQL: the transparency log’s signing key is never kept in the database');
  return loadLogKeys(keyFile, config.logOrigin);
}

/** Builds the whole service; main.ts only listens. Nothing global, so two apps can share a process. */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const database = opts.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const ownsDatabase = !opts.database;
  // The log's signing key is never in the database: a file named by SIGNING_KEY_FILE, or one made
  // in the embedded database's directory.
  let keys: LogKeys;
  try {
    keys = opts.keys ?? logKeysOf(config, database);
  } catch (err) {
    if (ownsDatabase) await database.close();
    throw err;
  }
  await migrateToLatest(database.db);
  const bootstrap = await ensureAdmin(database.db, config.adminToken);
  if (bootstrap) opts.onBootstrapToken?.(bootstrap.token);

  const schemas = new Schemas();
  const app = Fastify({
    loggerInstance: opts.logger ?? createLogger(config),
    logController: new RequestLog(),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: {} },
    schemaController: { compilersFactory: { buildSerializer: cachingSerializerFactory() as never } },
    routerOptions: { maxParamLength: 200 },
    // A malformed URL is refused before routing: as a problem, like every other error.
    frameworkErrors,
    // Node's parser refuses malformed requests before Fastify sees them; they are answered as problems too.
    clientErrorHandler,
    // Node answers an HTTP/1.1 request without Host with an empty 400; requireOneHost answers a problem.
    http: { requireHostHeader: false },
  });
  app.decorate('db', database.db);
  app.decorate('database', database);
  app.decorate('schemas', schemas);
  app.decorate('config', config);
  app.decorate('engine', { db: database.db, schemas, now: opts.now ?? (() => new Date()), batcher: new EventBatcher(database.db) });
  const scheduler = config.schedulerIntervalMs > 0 ? new Scheduler(app.engine, { intervalMs: config.schedulerIntervalMs, log: app.log.child({ component: 'scheduler' }) }) : null;
  const sequencer = new Sequencer(
    { db: database.db, now: app.engine.now, keys, origin: config.logOrigin, log: app.log.child({ component: 'transparency' }) },
    { intervalMs: config.sequencerIntervalMs, checkpointIntervalMs: config.checkpointIntervalMs },
  );
  app.decorate('transparency', { keys, origin: config.logOrigin, sequencer });
  const issuerKeys = await issuerKeysOf(keys);
  const issuer = new CredentialIssuer(
    { db: database.db, options: () => ({ issuerUrl: config.issuerUrl, publicUrl: config.publicUrl, key: issuerKeys.signer, now: app.engine.now }), log: app.log.child({ component: 'credentials' }) },
    config.credentialIssuerIntervalMs,
  );
  app.decorate('credentials', { keys: issuerKeys, issuer });
  const webhookBox = lazySecretBox({ secretsKeyFile: config.secretsKeyFile, dataDir: config.dataDir, embedded: database.embedded });
  const dispatcher = new Dispatcher(
    { db: database.db, now: app.engine.now, box: webhookBox, allowPrivate: config.webhookAllowPrivate, lookup: opts.webhookLookup, log: app.log.child({ component: 'webhooks' }) },
    { intervalMs: config.dispatchIntervalMs, leaseMs: config.dispatchLeaseMs },
  );
  app.decorate('webhooks', { box: webhookBox, dispatcher });
  app.decorate('readiness', () => ({ scheduler: scheduler ? scheduler.status() : { enabled: false }, transparency: sequencer.status(), credentials: issuer.status(), webhooks: dispatcher.status() }));
  app.register(fp(async () => {}, { name: 'db' }));
  if (ownsDatabase) app.addHook('onClose', async () => database.close());
  // onClose hooks run in reverse order: the scheduler stops before the database closes.
  if (scheduler) app.addHook('onClose', async () => scheduler.stop());
  app.addHook('onClose', async () => sequencer.stop());
  app.addHook('onClose', async () => dispatcher.stop());
  app.addHook('onClose', async () => issuer.stop());
  const principalCache = await listenForPrincipalChanges(database, app.log);
  app.addHook('onClose', async () => principalCache.stop());

  // Fastify's copies (serializer, OpenAPI document) name other files by whole $id; validation uses the files as they are.
  for (const s of schemas.files) app.addSchema(withWholeRefs(s));
  for (const s of responseSchemas) app.addSchema(s);
  for (const wf of workflows) for (const s of eventBodySchemas(wf, schemas.files)) app.addSchema(s);
  app.setValidatorCompiler(({ schema, httpPart }) => schemas.forRequestPart(schema as never, httpPart));
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // Set here, before the rate limiter and the auth hook may refuse: an answer to a request that
    // needs a principal is that principal's (or about its credentials), errors included; no cache keeps it.
    if (request.routeOptions.config?.roles) reply.header('cache-control', 'no-store');
    done();
  });

  await app.register(errorsPlugin);
  await app.register(securityHeaders, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  });
  app.addHook('onRequest', requireOneHost);
  // Before auth: a request with a bad token or none is limited (per IP) like any other.
  await app.register(rateLimitPlugin, { max: config.rateLimitMax, timeWindow: config.rateLimitWindowMs });
  await app.register(authPlugin);
  await app.register(idempotencyPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Guangdong AI & robotics sandbox and certification registry',
        description: 'Regulatory sandbox admission, safety and ethics certification, and generative-AI joint-laboratory projects (clause 12).',
        version: '1.0.0',
        license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      },
      servers: [{ url: config.publicUrl, description: 'This service (PUBLIC_URL)' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A principal’s token (POST /v1/principals).' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String((json as { title?: string }).title ?? `def-${i}`) },
    transform: documentRoute as never,
    transformObject: (doc) => resolveComponentRefs((doc as { openapiObject: never }).openapiObject, [...schemas.files, ...responseSchemas]) as never,
  });
  // Every documented route's operation is completed from its declaration (security, roles, problems).
  await app.register(openapiOperations);
  if (opts.checkResponses) await app.register(responseCheck, { schemas: [...schemas.files, ...responseSchemas] });
  await app.register(swaggerUi, { routePrefix: '/documentation' });

  await app.register(healthRoutes);
  await app.register(registryRoutes);
  await app.register(workflowRoutes);
  await app.register(registerRoutes);
  await app.register(registerCertificateRoutes);
  await app.register(schemeRoutes);
  await app.register(registerGenaiRoutes);
  await app.register(transparencyRoutes);
  await app.register(credentialRoutes);
  await app.register(webhookRoutes);
  await app.register(import('./pages/routes.js'));
  await app.register(import('./workbench/plugin.js'));
  for (const wf of workflows) await app.register(caseRoutes(wf));
  await app.ready();
  scheduler?.start();
  dispatcher.start();
  sequencer.start();
  issuer.start();
  return app as unknown as FastifyInstance;
}
