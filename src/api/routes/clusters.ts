// Clusters, their operations and events. A request never waits for a cloud: create, update, scale
// and delete write the desired state and an operation row in one transaction and answer at once;
// workers (engine/worker.ts) do the rest.
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../../store/store.js';
import type { Deployer } from '../../deploy/types.js';
import type { QuotaReport } from '../../providers/types.js';
import type { OperationPlan } from '../../domain/plan.js';
import { ClusterSchema, type Cluster, type Service } from '../../domain/wire.js';
import { checkNewCluster, resolveNewClusterServices, checkRetryCluster, checkClusterUpdate, CLUSTER_REFS } from '../../domain/clusters.js';
import { canStart, statusOnAccept } from '../../domain/clusterState.js';
import { loadTypeClosure } from '../../domain/resolver.js';
import { buildCreatePlan } from '../../domain/plan.js';
import { scalePlan } from '../../domain/topology.js';
import { notFound, validation, MichmanError, ErrorClass } from '../../domain/errors.js';
import type { StoredCluster } from '../../store/repos/clusters.js';
import type { Operation } from '../../store/repos/operations.js';
import type { StoredEvent } from '../../store/repos/events.js';
import type { StoredPlan } from '../../engine/worker.js';
import { newId, parseUuid } from '../../store/ids.js';
import { input } from '../body.js';
import { success, ok, created } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders, found } from '../routeKit.js';
import { ownerOf } from '../../auth/identity.js';

const tag = 'clusters';
const PC = param('projectIdOrName', 'clusterIdOrName');
type PCParams = { projectIdOrName: string; clusterIdOrName: string };
const flag = (req: FastifyRequest, name: string) => ['true', '1', 'yes'].includes(String((req.query as Record<string, string>)[name] ?? '').toLowerCase());
const MutateQuery = Type.Object({
  dryRun: Type.Optional(Type.String({ description: 'true: validate and return the plan; store nothing.' })),
  force: Type.Optional(Type.String({ description: 'DELETE only: true deletes from any state.' })),
});

const OperationSchema = Type.Object({}, { additionalProperties: true, description: 'An operation: kind, status, steps, error' });
const EventSchema = Type.Object({}, { additionalProperties: true, description: 'An event: ID, Time, Level, Phase, Node, Service, Message' });

/** The cluster's image record (for its cloud image ID and login user), if it still exists. */
const imageOf = async (db: Store, c: Cluster) => (c.Image ? await db.images.find(c.Image) : undefined);

/** The types a cluster's services reach, loaded transitively; inside a transaction they stay locked. */
const typesFor = (db: Store, services: readonly Service[]) =>
  loadTypeClosure(services, new Map(), async (names) => (await db.serviceTypes.findByNames(names)).values());

function operationView(op: Operation) {
  return {
    ID: op.id,
    ClusterID: op.clusterId,
    Kind: op.kind,
    Status: op.status,
    Attempt: op.attempt,
    Steps: op.steps.map(({ detail: _d, ...s }) => s),
    Error: op.error,
    CancelRequested: op.cancelRequested,
    CreatedAt: new Date(op.createdAt).toISOString(),
    StartedAt: op.startedAt === null ? null : new Date(op.startedAt).toISOString(),
    FinishedAt: op.finishedAt === null ? null : new Date(op.finishedAt).toISOString(),
  };
}

/**
 * Idempotency-Key: the first response to a key is stored with the request's hash and returned for
 * every repeat, which starts no second operation. A different request under the same key is a 400.
 */
async function idempotent(
  store: Store,
  notify: (() => void) | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  run: (save: (tx: Store, status: number, body: unknown) => Promise<void>) => Promise<{ status: number; body: unknown }>,
) {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') {
    const r = await run(async () => undefined);
    notify?.();
    return reply.code(r.status).send(r.body);
  }
  if (key.length > 200) throw validation('Idempotency-Key must be at most 200 characters');
  const scope = `${req.method} ${req.url.split('?')[0]}`;
  const hash = createHash('sha256').update(JSON.stringify(req.body ?? null)).update(req.url).digest('hex');
  const seen = await store.operations.findIdempotencyKey(scope, key);
  if (seen) {
    if (seen.requestHash !== hash) throw validation('Idempotency-Key was already used for a different request');
    return reply.code(seen.response.status).header('Idempotent-Replayed', 'true').send(seen.response.body);
  }
  const r = await run((tx, status, body) => tx.operations.saveIdempotencyKey({ scope, key, requestHash: hash, response: { status, body } }).then(() => undefined));
  notify?.();
  return reply.code(r.status).send(r.body);
}

export interface ClusterRouteOptions {
  deployer: Deployer;
  /** Called after an operation was committed, so an in-process worker starts it without polling. */
  onEnqueue?: () => void;
  /** Cloud providers: the plan against the project's quota (in dry runs; at POST too when enforced). */
  quota?: QuotaCheck;
}

export interface QuotaCheck {
  check(plan: OperationPlan): Promise<QuotaReport>;
  /** quota_check: enforce → a shortfall refuses the create with 400. */
  enforce: boolean;
}

/** The report, or why there is none (the cloud did not answer): a dry run shows either. */
async function quotaOf(q: QuotaCheck, plan: OperationPlan): Promise<QuotaReport | { error: string }> {
  try {
    return await q.check(plan);
  } catch (err) {
    return { error: `quota check failed: ${(err as Error).message}` };
  }
}

export function clusterRoutes(app: FastifyInstance, store: Store, o: ClusterRouteOptions): void {
  const projectOf = async (db: Store, req: FastifyRequest) => {
    const { projectIdOrName } = req.params as { projectIdOrName: string };
    return found(db.projects.find(projectIdOrName), 'project', projectIdOrName);
  };
  const clusterOf = async (db: Store, req: FastifyRequest) => {
    const project = await projectOf(db, req);
    const { clusterIdOrName } = req.params as PCParams;
    return { project, cluster: await found(db.clusters.find(project.ID, clusterIdOrName), 'cluster', clusterIdOrName) };
  };
  /**
   * The cluster whose history is asked for: a live one, or — addressed by its ID — one that was
   * deleted, as long as operations of it exist in this project (they outlive the cluster row).
   */
  const historyOf = async (req: FastifyRequest): Promise<string> => {
    const project = await projectOf(store, req);
    const { clusterIdOrName } = req.params as PCParams;
    const live = await store.clusters.find(project.ID, clusterIdOrName);
    if (live) return live.ID;
    const id = parseUuid(clusterIdOrName);
    const last = id === undefined ? undefined : await store.operations.latest(id);
    if (last && last.projectId === project.ID) return last.clusterId;
    throw notFound('cluster', clusterIdOrName);
  };
  const refuseUnsupported = async (services: readonly Service[]) => {
    const problems = await o.deployer.check(services.map((s) => ({ type: s.Type ?? '', version: s.Version ?? '' })));
    if (problems.length > 0) throw validation(problems.join('; '));
  };

  app.get('/projects/:projectIdOrName/clusters', route({ tag, summary: 'List clusters', params: param('projectIdOrName'), querystring: PageQuery, data: Type.Array(ClusterSchema) }), async (req, reply) => {
    const project = await projectOf(store, req);
    return ok(req, reply, pageHeaders(req, reply, await store.clusters.list(project.ID, pageRequest(req))));
  });

  app.post('/projects/:projectIdOrName/clusters', route({ tag, summary: 'Create a cluster (?dryRun=true returns the plan)', params: param('projectIdOrName'), querystring: MutateQuery, body: ClusterSchema, data: Type.Any(), status: 201 }), async (req, reply) =>
    idempotent(store, o.onEnqueue, req, reply, async (save) => {
      const project = await projectOf(store, req);
      const cluster = checkNewCluster(input<Cluster>(req), project);
      // Image, flavors and a cluster of the same name, checked in one statement; 404s in the order
      // of CLUSTER_REFS, as the original.
      const images = cluster.Image ? [cluster.Image] : [];
      const flavors = CLUSTER_REFS.filter((f) => f !== 'Image').map((f) => cluster[f]).filter((v): v is string => !!v);
      const pre = await store.clusters.preflight(project.ID, cluster.Name!, { images, flavors });
      for (const f of CLUSTER_REFS) {
        const v = cluster[f];
        const kind = f === 'Image' ? 'image' : 'flavor';
        if (v && pre.missing.has(`${kind}:${v}`)) throw notFound(kind, v);
      }
      const existing = pre.exists ? await store.clusters.find(project.ID, cluster.Name!) : undefined;
      if (existing) {
        // As the original: POSTing the name of a FAILED cluster retries it (the stored cluster, from
        // the step that failed); any other status is "already exists".
        canStart('create', existing.EntityStatus, { name: existing.Name });
        checkRetryCluster(existing, await typesFor(store, existing.Services));
        const last = await store.operations.latest(existing.ID);
        if (flag(req, 'dryRun')) return { status: 200, body: success(req, 200, { Cluster: existing, Retry: last ? operationView(last) : null }) };
        const body = await store.transaction(async (tx) => {
          await tx.clusters.setStatus(existing.ID, statusOnAccept('create'));
          if (last && (last.status === 'failed' || last.status === 'cancelled') && last.kind === 'create') await tx.operations.retry(last.id);
          else await tx.operations.enqueue({ clusterId: existing.ID, projectId: project.ID, kind: 'create', plan: buildCreatePlan(existing, await typesFor(tx, existing.Services), await imageOf(tx, existing)) });
          const b = success(req, 201, { ...existing, EntityStatus: statusOnAccept('create') });
          await save(tx, 201, b);
          return b;
        });
        return { status: 201, body };
      }
      const types = await typesFor(store, cluster.Services ?? []);
      const services = resolveNewClusterServices(cluster, types, { newId });
      await refuseUnsupported(services);
      const full: StoredCluster = {
        ID: newId(),
        Name: cluster.Name!,
        DisplayName: cluster.DisplayName!,
        HostURL: '',
        EntityStatus: statusOnAccept('create'),
        ClusterType: '',
        Services: services.map((s) => ({ ...s, URL: '', EntityStatus: '', Description: s.Description ?? '', DisplayName: s.DisplayName ?? '', Name: s.Name ?? '' })),
        NSlaves: cluster.NSlaves ?? 0,
        MasterIP: '',
        ProjectID: project.ID,
        OwnerID: ownerOf(req.identity), // the authenticated user; never a request header
        Description: cluster.Description ?? '',
        Image: cluster.Image ?? '',
        Keys: cluster.Keys ?? [],
        Monitoring: cluster.Monitoring ?? false,
        MasterFlavor: cluster.MasterFlavor ?? '',
        SlavesFlavor: cluster.SlavesFlavor ?? '',
        StorageFlavor: cluster.StorageFlavor ?? '',
        MonitoringFlavor: cluster.MonitoringFlavor ?? '',
      };
      const plan = buildCreatePlan(full, types, cluster.Image ? pre.images.get(cluster.Image) : undefined);
      const quota = o.quota && (flag(req, 'dryRun') || o.quota.enforce) ? await quotaOf(o.quota, plan) : undefined;
      if (flag(req, 'dryRun')) return { status: 200, body: success(req, 200, { Cluster: full, Plan: plan, ...(quota ? { Quota: quota } : {}) }) };
      // An unanswered check does not block: the create itself will meet the cloud's own refusal.
      const short = quota && 'items' in quota ? quota.items.filter((i) => i.short) : [];
      if (short.length > 0) throw validation(`the cloud project's quota is too small: ${short.map((i) => `${i.resource} (need ${i.need}, available ${i.available})`).join(', ')}`);
      const body = await store.transaction(async (tx) => {
        await tx.projects.lockSharedById([project.ID]);
        await tx.clusters.insert(full);
        await tx.operations.enqueue({ clusterId: full.ID, projectId: project.ID, kind: 'create', plan, newCluster: true });
        const b = success(req, 201, full);
        await save(tx, 201, b);
        return b;
      });
      return { status: 201, body };
    }),
  );

  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag, summary: 'Get a cluster', params: PC, data: ClusterSchema }), async (req, reply) =>
    ok(req, reply, (await clusterOf(store, req)).cluster),
  );

  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/status', route({ tag, summary: 'Get the status of a cluster', params: PC, data: Type.String() }), async (req, reply) =>
    ok(req, reply, (await clusterOf(store, req)).cluster.EntityStatus),
  );

  app.put('/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag, summary: 'Add services, change NSlaves (scale), or patch a cluster', params: PC, querystring: MutateQuery, body: ClusterSchema, data: Type.Any() }), async (req, reply) =>
    idempotent(store, o.onEnqueue, req, reply, async (save) => {
      const { project, cluster } = await clusterOf(store, req);
      const body = input<Cluster>(req);
      const types = await typesFor(store, [...cluster.Services, ...(body.Services ?? [])]);
      const u = checkClusterUpdate(cluster, body, types, { newId });
      await refuseUnsupported(u.added);
      const merged = { ...cluster, ...u.cluster } as StoredCluster;
      const plan: StoredPlan | undefined = u.operation ? buildCreatePlan(merged, types, await imageOf(store, merged)) : undefined;
      if (plan && u.scale && u.scale.to < u.scale.from) {
        const before = buildCreatePlan(cluster, types).nodes;
        plan.removeNodes = scalePlan(before, u.scale.to).remove.map((n) => n.name);
      }
      if (flag(req, 'dryRun')) return { status: 200, body: success(req, 200, { Cluster: merged, Operation: u.operation, Plan: plan ?? null }) };
      const result = await store.transaction(async (tx) => {
        await tx.clusters.lock(project.ID, cluster.ID);
        const now = await tx.clusters.get(cluster.ID);
        if (!now || now.EntityStatus !== cluster.EntityStatus) throw validation('the cluster changed meanwhile; retry the request');
        const next = { ...merged, EntityStatus: u.operation ? statusOnAccept(u.operation) : cluster.EntityStatus };
        await tx.clusters.update(next);
        if (u.operation) await tx.operations.enqueue({ clusterId: cluster.ID, projectId: project.ID, kind: u.operation, plan });
        const b = success(req, 200, next);
        await save(tx, 200, b);
        return b;
      });
      return { status: 200, body: result };
    }),
  );

  app.delete('/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag, summary: 'Delete a cluster (?force=true from any state)', params: PC, querystring: MutateQuery, data: ClusterSchema }), async (req, reply) =>
    idempotent(store, o.onEnqueue, req, reply, async (save) => {
      const { project, cluster } = await clusterOf(store, req);
      const force = flag(req, 'force');
      canStart('delete', cluster.EntityStatus, { force, name: cluster.Name });
      const types = await typesFor(store, cluster.Services);
      const plan = buildCreatePlan(cluster, types, await imageOf(store, cluster));
      if (flag(req, 'dryRun')) return { status: 200, body: success(req, 200, { Cluster: cluster, Plan: plan }) };
      const result = await store.transaction(async (tx) => {
        await tx.clusters.lock(project.ID, cluster.ID);
        if (force) for (const op of await tx.operations.active(cluster.ID)) await tx.operations.requestCancel(op.id);
        await tx.clusters.setStatus(cluster.ID, statusOnAccept('delete'));
        await tx.operations.enqueue({ clusterId: cluster.ID, projectId: project.ID, kind: 'delete', plan });
        const b = success(req, 200, { ...cluster, EntityStatus: statusOnAccept('delete') });
        await save(tx, 200, b);
        return b;
      });
      return { status: 200, body: result };
    }),
  );

  // ---- operations -------------------------------------------------------------------------------
  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/operations', route({ tag, summary: "List a cluster's operations", params: PC, querystring: PageQuery, data: Type.Array(OperationSchema) }), async (req, reply) => {
    const clusterId = await historyOf(req);
    const page = await store.operations.listForCluster(clusterId, pageRequest(req));
    return ok(req, reply, pageHeaders(req, reply, { ...page, items: page.items.map(operationView) }));
  });

  const opParams = param('operationId');
  const opOf = async (req: FastifyRequest) => {
    const { operationId } = req.params as { operationId: string };
    return found(store.operations.get(operationId), 'operation', operationId);
  };
  app.get('/operations/:operationId', route({ tag, summary: 'Get an operation', params: opParams, data: OperationSchema }), async (req, reply) =>
    ok(req, reply, operationView(await opOf(req))),
  );
  app.post('/operations/:operationId/retry', route({ tag, summary: 'Retry a failed or cancelled operation from its failed step', params: opParams, data: OperationSchema }), async (req, reply) => {
    const op = await opOf(req);
    const done = await store.transaction(async (tx) => {
      if (!(await tx.operations.retry(op.id))) return false;
      await tx.clusters.setStatus(op.clusterId, statusOnAccept(op.kind));
      return true;
    });
    if (!done) throw validation(`operation is ${op.status}; only failed or cancelled operations can be retried`);
    o.onEnqueue?.();
    return ok(req, reply, operationView((await store.operations.get(op.id))!));
  });
  app.post('/operations/:operationId/cancel', route({ tag, summary: 'Cancel a queued or running operation', params: opParams, data: OperationSchema }), async (req, reply) => {
    const op = await opOf(req);
    const after = await store.operations.requestCancel(op.id);
    if (!after) throw validation(`operation is ${op.status}; only queued or running operations can be cancelled`);
    return ok(req, reply, operationView(after));
  });

  // ---- events and logs --------------------------------------------------------------------------
  const EventQuery = Type.Object({ after: Type.Optional(Type.String()), limit: Type.Optional(Type.String()) });
  app.get('/projects/:projectIdOrName/clusters/:clusterIdOrName/events', route({ tag, summary: 'Events of a cluster (JSON pages, or a live stream with Accept: text/event-stream)', params: PC, querystring: EventQuery, data: Type.Array(EventSchema) }), async (req, reply) => {
    const clusterId = await historyOf(req);
    const q = req.query as { after?: string; limit?: string };
    const after = q.after === undefined ? 0 : Number(q.after);
    if (!Number.isInteger(after) || after < 0) throw new MichmanError(ErrorClass.InputIncorrect, 'bad after param: an event ID');
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new MichmanError(ErrorClass.InputIncorrect, 'bad limit param: 1..1000');
    if (String(req.headers.accept ?? '').includes('text/event-stream')) return streamEvents(store, req, reply, clusterId, after);
    const events = (await store.events.list(clusterId, { after, limit })).map(eventView);
    if (events.length === limit) reply.header('X-Next-Cursor', String(events[events.length - 1]!.ID));
    return ok(req, reply, events);
  });

  const ACTIONS = ['create', 'update', 'delete'];
  app.get('/logs/projects/:projectIdOrName/clusters/:clusterIdOrName', route({ tag, summary: "The log of a cluster's last create, update or delete (?action=)", params: PC, querystring: Type.Object({ action: Type.Optional(Type.String()) }), data: Type.Any() }), async (req, reply) => {
    const clusterId = await historyOf(req);
    const action = (req.query as { action?: string }).action || 'create';
    // The original answered a bad action with a 500; it is the caller's mistake.
    if (!ACTIONS.includes(action)) {
      throw new MichmanError(ErrorClass.InputIncorrect, "bad action param. Supported query variables for action parameter are 'create', 'update' and 'delete'. Action 'create' is default");
    }
    const op = await store.operations.latest(clusterId, action as 'create');
    const events = op ? await store.events.list(clusterId, { operationId: op.id }) : [];
    const text = events.map((e) => `${new Date(e.time).toISOString()} ${e.level.toUpperCase()} [${e.phase}${e.node ? ` ${e.node}` : ''}${e.service ? ` ${e.service}` : ''}] ${e.message}`).join('\n');
    const { clusterIdOrName } = req.params as PCParams;
    return ok(req, reply, { cluster_id: clusterIdOrName, action, cluster_logs: text });
  });
}

function eventView(e: StoredEvent) {
  return { ID: e.id, Time: new Date(e.time).toISOString(), Level: e.level, Phase: e.phase, Node: e.node ?? '', Service: e.service ?? '', Message: e.message, OperationID: e.operationId ?? '' };
}

/** Server-sent events: everything after `after`, then new events as they are stored, until the cluster's operations end. */
async function streamEvents(store: Store, req: FastifyRequest, reply: FastifyReply, clusterId: string, after: number) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let last = Number(req.headers['last-event-id'] ?? after) || after;
  let closed = false;
  req.raw.on('close', () => (closed = true));
  // Bounded: at most an hour of polling per stream.
  const until = Date.now() + 3_600_000;
  while (!closed && Date.now() < until) {
    const batch = await store.events.list(clusterId, { after: last, limit: 500 });
    for (const e of batch) {
      res.write(`id: ${e.id}\nevent: ${e.level}\ndata: ${JSON.stringify(eventView(e))}\n\n`);
      last = e.id;
    }
    if (batch.length === 0) {
      const active = await store.operations.active(clusterId);
      if (active.length === 0) break;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  if (!closed) res.end('event: end\ndata: {}\n\n');
}
