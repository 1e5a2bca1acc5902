// Builds the HTTP API: one Fastify instance with the envelope, errors and body handling as hooks,
// and the route modules, each declaring its schemas (which also make the OpenAPI document).
import Fastify, { type FastifyInstance, type FastifyError, type FastifyBaseLogger } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type, type TSchema } from '@sinclair/typebox';
import type { Store } from '../store/store.js';
import { MichmanError, ErrorClass } from '../domain/errors.js';
import { registerJsonParser, normalizeKeys, validationToJsonError, hasNul, rememberUnknownFields } from './body.js';
import { unknownQueryError, unknownFieldsError } from './strict.js';
import type { UnknownKey } from '../domain/normalize.js';
import { failure, ok } from './envelope.js';
import { route } from './routeKit.js';
import { imageRoutes, flavorRoutes } from './routes/images.js';
import { projectRoutes } from './routes/projects.js';
import { configRoutes } from './routes/configs.js';
import { templateRoutes } from './routes/templates.js';
import { clusterRoutes, type QuotaCheck } from './routes/clusters.js';
import type { ClusterLogSource, ServiceCheck } from '../clusters/index.js';
import type { ProjectLimits } from '../clusters/lifecycle.js';
import { registerIdempotency, type IdempotencyOptions } from './idempotency.js';
import { VERSION } from '../version.js';
import { registerAuth } from '../auth/plugin.js';
import { authRoutes } from './routes/auth.js';
import { logRoutes } from './routes/logs.js';
import { finishDocument } from './openapi.js';
import { endStreamsOnClose } from './sse.js';
import type { AuthSetup } from '../auth/setup.js';
import { sessionRoutes } from './routes/session.js';
import { webRoutes, DEFAULT_WEB_DIR } from './web.js';
import type { SecretStore } from '../secrets/types.js';
import { MemorySecretStore } from '../secrets/memory.js';
import { credentialsRoutes } from './routes/credentials.js';
import { opsRoutes } from './routes/ops.js';
import { Metrics } from '../metrics.js';

export interface ServerOptions {
  store: Store;
  /** Checks at POST time that the cluster's services can run here (default: accepts everything, for tests). */
  deployer?: ServiceCheck;
  /** Called after a cluster operation was committed (wakes an in-process worker). */
  onEnqueue?: () => void;
  /** Cloud providers' quota check for cluster creates (dry run; enforced at POST with quota_check: enforce). */
  quota?: QuotaCheck;
  logger?: FastifyBaseLogger | boolean;
  bodyLimit?: number;
  /** Authentication and authorization (createAuth); absent = use_auth false: open, as the original. */
  auth?: AuthSetup;
  /** Where the service's own logs are (logs_file_path): GET /logs/launcher and /logs/http_server. */
  logsDir?: string;
  /** Projects must name a default image and flavors (default true; false on the local provider, which uses neither). */
  projectRefsRequired?: boolean;
  /** Per-project limits on clusters and nodes (project_max_clusters, project_max_nodes). */
  limits?: ProjectLimits;
  /** Idempotency-Key retention and purge interval (default: 24 h, purged every 10 minutes). */
  idempotency?: IdempotencyOptions;
  /** The built web console served at / (default dist/web of the package); false: no console. */
  webDir?: string | false;
  /** Where services' passwords are kept (secrets_store); absent: this process's memory (tests). */
  secrets?: SecretStore;
  /** Prometheus metrics (GET /metrics); absent: the server makes its own. */
  metrics?: Metrics;
  /** Bearer token /metrics wants (metrics_token); absent: open, as /healthz and /readyz. */
  metricsToken?: string;
  /** Where GET /logs/projects/{p}/clusters/{c} reads (elastic_addr); absent: the store's events. */
  logSource?: ClusterLogSource;
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: typeof o.logger === 'object' ? o.logger : undefined,
    logger: typeof o.logger === 'boolean' ? o.logger : undefined,
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    // Go's decoder never coerced "5" into 5; neither do we. Unknown keys are dropped before validation.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    routerOptions: { maxParamLength: 1000, ignoreTrailingSlash: true },
    connectionTimeout: 60_000,
    requestTimeout: 60_000,
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(400).send(failure(new MichmanError(ErrorClass.InputIncorrect, `bad request: ${err.message}`)));
    },
  }) as unknown as FastifyInstance;

  registerJsonParser(app);

  // Callback style: this runs on every request, and an async hook costs a promise each time.
  app.addHook('preValidation', (req, _reply, done) => {
    // A %00 in the path or query would reach the database, where PostgreSQL refuses it with an error.
    if (hasNul(req.params) || hasNul(req.query)) {
      done(new MichmanError(ErrorClass.InputIncorrect, 'path and query parameters must not contain NUL (%00) characters'));
      return;
    }
    const schema = req.routeOptions.schema as { tags?: unknown; hide?: boolean; querystring?: TSchema; body?: TSchema } | undefined;
    // Documented routes (those in the OpenAPI document) take only the query parameters they declare.
    const documented = schema?.tags !== undefined && !schema.hide;
    if (documented) {
      const bad = unknownQueryError(req.query, schema.querystring);
      if (bad) {
        done(bad);
        return;
      }
    }
    if (req.body !== undefined && schema?.body) {
      const unknown: UnknownKey[] = [];
      req.body = normalizeKeys(req.body, schema.body as Parameters<typeof normalizeKeys>[1], unknown);
      // Raised by `input`, after the lookups the original did first (404 before 400).
      if (documented) rememberUnknownFields(req, unknownFieldsError(unknown));
    }
    done();
  });

  app.setErrorHandler((err: FastifyError | MichmanError, req, reply) => {
    if (err instanceof MichmanError) return reply.code(err.status).send(failure(err));
    const fe = err as FastifyError & { validation?: unknown[] };
    if (fe.validation) return reply.code(400).send(failure(validationToJsonError(fe as never)));
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(failure(new MichmanError(ErrorClass.PayloadTooLarge, 'request body is too large')));
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(failure(new MichmanError(ErrorClass.InputIncorrect, fe.message)));
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).send(failure(new MichmanError(ErrorClass.Database, 'internal error; see the server log')));
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(failure(new MichmanError(ErrorClass.ObjectNotFound, `route not found: ${req.method} ${req.url.split('?')[0]}`))),
  );

  endStreamsOnClose(app);

  // Before every route, so the hooks cover them all (and the 404 handler).
  opsRoutes(app, o.store, o.metrics ?? new Metrics(o.store, { defaultMetrics: false }), { metricsToken: o.metricsToken });
  const authRuntime = registerAuth(app, o.store, o.auth);
  registerIdempotency(app, o.store, o.idempotency);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Michman API',
        version: VERSION,
        description: 'Clusters of Spark, Slurm, PostgreSQL, Jupyter and more in your cloud project. Compatible with ISP RAS Michman.',
      },
    },
    transformObject: (d) => finishDocument((d as { openapiObject: Record<string, unknown> }).openapiObject) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/api' });

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The original's Swagger UI loaded swagger.yaml from /api; scripts that fetch it keep working.
  app.get('/api/swagger.yaml', { schema: { hide: true } }, async (_req, reply) => reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })));

  app.get('/version', route({ tag: 'service', summary: 'Michman version', data: Type.String() }), async (req, reply) => ok(req, reply, VERSION));

  authRoutes(app, authRuntime);
  sessionRoutes(app, o.auth);
  if (o.webDir !== false) webRoutes(app, o.webDir ?? DEFAULT_WEB_DIR);
  logRoutes(app, o.logsDir);
  imageRoutes(app, o.store);
  flavorRoutes(app, o.store);
  projectRoutes(app, o.store, { refsRequired: o.projectRefsRequired });
  configRoutes(app, o.store, o.deployer);
  templateRoutes(app, o.store);
  const secrets = o.secrets ?? new MemorySecretStore();
  clusterRoutes(app, o.store, { store: o.store, deployer: o.deployer, onEnqueue: o.onEnqueue, quota: o.quota, secrets, limits: o.limits, ...(o.logSource ? { logSource: o.logSource } : {}) });
  credentialsRoutes(app, o.store, secrets);

  await app.ready();
  return app;
}
