// Cluster routes: parse, authorise (the auth hook did), call a use case of clusters/, render. The
// use cases own the rules and the transactions; Idempotency-Key is the idempotency hook's, turned
// on per route by `config: { idempotent: true }`.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../../store/store.js';
import type { Operation } from '../../store/repos/operations.js';
import { ClusterSchema, type Cluster } from '../../domain/wire.js';
import { MichmanError, ErrorClass } from '../../domain/errors.js';
import {
  createCluster,
  updateCluster,
  deleteCluster,
  retryOperation,
  cancelOperation,
  getOperation,
  listOperations,
  clusterLog,
  clusterOf,
  listClusters,
  listEvents,
  LOG_ACTIONS,
  type ClusterDeps,
  type LogAction,
} from '../../clusters/index.js';
import { input } from '../body.js';
import { logText } from '../../logs/lines.js';
import { created, ok } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders } from '../routeKit.js';
import { ownerOf } from '../../auth/identity.js';
import { streamEvents, eventView } from '../sse.js';
import { isDeadlineMark } from '../../domain/operation.js';
import { OperationSchema, EventSchema } from '../schemas.js';

export type { QuotaCheck } from '../../clusters/index.js';

const tag = 'clusters';
const PC = param('projectIdOrName', 'clusterIdOrName');
type PParams = { projectIdOrName: string };
type PCParams = { projectIdOrName: string; clusterIdOrName: string };
const flag = (req: FastifyRequest, name: string) => ['true', '1', 'yes'].includes(String((req.query as Record<string, string>)[name] ?? '').toLowerCase());
const MutateQuery = Type.Object({
  dryRun: Type.Optional(Type.String({ description: 'true: validate and return the plan; store nothing.' })),
  force: Type.Optional(Type.String({ description: 'DELETE only: true deletes from any state.' })),
});
const idempotent = { idempotent: true };
// The original's Swagger documented these list parameters without implementing them: its clients may send them.
const ListQuery = Type.Object({
  ...PageQuery.properties,
  view: Type.Optional(Type.String({ description: "Accepted and ignored, as by the original." })),
  clusterType: Type.Optional(Type.String({ description: 'Accepted and ignored, as by the original.' })),
});

export function operationView(op: Operation) {
  return {
    ID: op.id,
    ClusterID: op.clusterId,
    Kind: op.kind,
    Status: op.status,
    Attempt: op.attempt,
    // The runner's deadline marks are bookkeeping, not steps.
    Steps: op.steps.filter((s) => !isDeadlineMark(s.name)).map(({ detail: _d, ...s }) => s),
    Error: op.error,
    CancelRequested: op.cancelRequested,
    CreatedAt: new Date(op.createdAt).toISOString(),
    StartedAt: op.startedAt === null ? null : new Date(op.startedAt).toISOString(),
    FinishedAt: op.finishedAt === null ? null : new Date(op.finishedAt).toISOString(),
  };
}

export function clusterRoutes(app: FastifyInstance, store: Store, deps: ClusterDeps): void {
  app.get('/projects/:projectIdOrName/clusters', route({ tag, summary: 'List clusters', operationId: 'listClusters', params: param('projectIdOrName'), querystring: ListQuery, data: Type.Array(ClusterSchema) }), async (req, reply) => {
    return ok(req, reply, pageHeaders(req, reply, await listClusters(store, (req.params as PParams).projectIdOrName, pageRequest(req))));
  });

  app.post('/projects/:projectIdOrName/clusters', { ...route({ tag, summary: 'Create a cluster (?dryRun=true returns the plan)', operationId: 'createCluster', params: param('projectIdOrName'), querystring: MutateQuery, body: ClusterSchema, data: Type.Any(), status: 201, idempotencyKey: true }), config: idempotent }, async (req, reply) => {
    const r = await createCluster(deps, { project: (req.params as PParams).projectIdOrName, cluster: input<Cluster>(req), ownerId: ownerOf(req.identity), dryRun: flag(req, 'dryRun') });
    switch (r.kind) {
      case 'accepted':
        return created(req, reply, r.cluster);
      case 'planned':
        return ok(req, reply, { Cluster: r.cluster, Plan: r.plan, ...(r.quota ? { Quota: r.quota } : {}) });
      case 'retry-planned':
        return ok(req, reply, { Cluster: r.cluster, Retry: r.retry ? operationView(r.retry) : null });
    }
  });

  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag, summary: 'Get a cluster', operationId: 'getCluster', params: PC, data: ClusterSchema }), async (req, reply) => {
    const p = req.params as PCParams;
    return ok(req, reply, (await clusterOf(store, p.projectIdOrName, p.clusterIdOrName)).cluster);
  });

  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/status', route({ tag, summary: 'Get the status of a cluster', operationId: 'getClusterStatus', params: PC, data: Type.String() }), async (req, reply) => {
    const p = req.params as PCParams;
    return ok(req, reply, (await clusterOf(store, p.projectIdOrName, p.clusterIdOrName)).cluster.EntityStatus);
  });

  app.put('/projects/:projectIdOrName/clusters/:clusterIdOrName', { ...route({ tag, summary: 'Add services, change NSlaves (scale), or patch a cluster', operationId: 'updateCluster', params: PC, querystring: MutateQuery, body: ClusterSchema, data: Type.Any(), idempotencyKey: true }), config: idempotent }, async (req, reply) => {
    const p = req.params as PCParams;
    const r = await updateCluster(deps, { project: p.projectIdOrName, cluster: p.clusterIdOrName, changes: input<Cluster>(req), dryRun: flag(req, 'dryRun') });
    if (!r.stored) return ok(req, reply, { Cluster: r.cluster, Operation: r.operation, Plan: r.plan ?? null });
    return ok(req, reply, r.cluster);
  });

  app.delete('/projects/:projectIdOrName/clusters/:clusterIdOrName', { ...route({ tag, summary: 'Delete a cluster (?force=true from any state)', operationId: 'deleteCluster', params: PC, querystring: MutateQuery, data: Type.Any(), idempotencyKey: true }), config: idempotent }, async (req, reply) => {
    const p = req.params as PCParams;
    const r = await deleteCluster(deps, { project: p.projectIdOrName, cluster: p.clusterIdOrName, force: flag(req, 'force'), dryRun: flag(req, 'dryRun') });
    if (!r.stored) return ok(req, reply, { Cluster: r.cluster, Plan: r.plan });
    return ok(req, reply, r.cluster);
  });

  // ---- operations -------------------------------------------------------------------------------
  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/operations', route({ tag, summary: "List a cluster's operations", operationId: 'listClusterOperations', params: PC, querystring: PageQuery, data: Type.Array(OperationSchema) }), async (req, reply) => {
    const p = req.params as PCParams;
    const page = await listOperations(store, p.projectIdOrName, p.clusterIdOrName, pageRequest(req));
    return ok(req, reply, pageHeaders(req, reply, { ...page, items: page.items.map(operationView) }));
  });

  const opParams = param('operationId');
  const opId = (req: FastifyRequest) => (req.params as { operationId: string }).operationId;
  app.get('/operations/:operationId', route({ tag, summary: 'Get an operation', operationId: 'getOperation', params: opParams, data: OperationSchema }), async (req, reply) =>
    ok(req, reply, operationView(await getOperation(store, opId(req)))),
  );
  app.post('/operations/:operationId/retry', route({ tag, summary: 'Retry a failed or cancelled operation from its failed step', operationId: 'retryOperation', params: opParams, data: OperationSchema }), async (req, reply) =>
    ok(req, reply, operationView(await retryOperation(deps, opId(req)))),
  );
  app.post('/operations/:operationId/cancel', route({ tag, summary: 'Cancel a queued or running operation', operationId: 'cancelOperation', params: opParams, data: OperationSchema }), async (req, reply) =>
    ok(req, reply, operationView(await cancelOperation(deps, opId(req)))),
  );

  // ---- events and logs --------------------------------------------------------------------------
  const EventQuery = Type.Object({ after: Type.Optional(Type.String()), limit: Type.Optional(Type.String()) });
  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/events', route({ tag, summary: 'Events of a cluster (JSON pages, or a live stream with Accept: text/event-stream)', operationId: 'listClusterEvents', params: PC, querystring: EventQuery, data: Type.Array(EventSchema) }), async (req, reply) => {
    const p = req.params as PCParams;
    const q = req.query as { after?: string; limit?: string };
    const after = q.after === undefined ? 0 : Number(q.after);
    if (!Number.isInteger(after) || after < 0) throw new MichmanError(ErrorClass.InputIncorrect, 'bad after param: an event ID');
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new MichmanError(ErrorClass.InputIncorrect, 'bad limit param: 1..1000');
    const stream = String(req.headers.accept ?? '').includes('text/event-stream');
    // A stream reads its own batches; the lookup (404s) is the same.
    const page = await listEvents(store, p.projectIdOrName, p.clusterIdOrName, { after, limit: stream ? 1 : limit });
    if (stream) return streamEvents(store, req, reply, page.clusterId, after);
    const events = page.events.map(eventView);
    if (events.length === limit) reply.header('X-Next-Cursor', String(events[events.length - 1]!.ID));
    return ok(req, reply, events);
  });

  app.get('/logs/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag: 'logs', summary: "The log of a cluster's last create, update or delete (?action=)", operationId: 'getClusterLogs', params: PC, querystring: Type.Object({ action: Type.Optional(Type.String()) }), data: Type.Any() }), async (req, reply) => {
    const p = req.params as PCParams;
    const action = (req.query as { action?: string }).action || 'create';
    // The original answered a bad action with a 500; it is the caller's mistake.
    if (!(LOG_ACTIONS as readonly string[]).includes(action)) {
      throw new MichmanError(ErrorClass.InputIncorrect, "bad action param. Supported query variables for action parameter are 'create', 'update' and 'delete'. Action 'create' is default");
    }
    const log = await clusterLog(store, p.projectIdOrName, p.clusterIdOrName, action as LogAction, deps.logSource);
    // logs_source (ours): where the lines were read, the store's events or elastic_addr.
    return ok(req, reply, { cluster_id: p.clusterIdOrName, action, cluster_logs: logText(log.events), logs_source: log.from });
  });
}
