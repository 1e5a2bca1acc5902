// Create a cluster: the rules in the original's order, the preflight (image, flavors and a cluster
// of the same name in one statement, shared with the creates of the same moment: createReads.ts), the retry of a FAILED cluster of that name, the plan, the
// quota check, and the transaction that writes the cluster and its operation (shared with the
// creates of the same moment, createBatch.ts, unless project limits make them take turns).
import type { Cluster } from '../domain/wire.js';
import type { OperationPlan } from '../domain/plan.js';
import type { QuotaReport } from '../domain/quota.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import type { Operation } from '../store/repos/operations.js';
import { checkNewCluster, resolveNewClusterServices, checkRetryCluster, CLUSTER_REFS } from '../domain/clusters.js';
import { canStart, statusOnAccept } from '../domain/clusterState.js';
import { buildCreatePlan } from '../domain/plan.js';
import { notFound, validation } from '../domain/errors.js';
import { newId } from '../store/ids.js';
import type { ClusterDeps, QuotaCheck } from './deps.js';
import { typesFor, imageOf, refuseUnsupported } from './lookup.js';
import { sealServices } from './secrets.js';
import { applyTemplate, checkProjectLimits, expiryOf } from './lifecycle.js';
import { createBatchOf } from './createBatch.js';
import { createReadsOf } from './createReads.js';

export interface CreateInput {
  project: string;
  /** The request body (validated against ClusterSchema by the caller). */
  cluster: Cluster;
  /** The authenticated user who will own it; never a request header. */
  ownerId: string;
  dryRun?: boolean;
}

export type CreateResult =
  /** Stored with a create operation queued (a new cluster, or a FAILED one retried). */
  | { kind: 'accepted'; cluster: StoredCluster }
  /** dryRun of a new cluster: what would be stored and done. */
  | { kind: 'planned'; cluster: StoredCluster; plan: OperationPlan; quota?: QuotaReport | { error: string } }
  /** dryRun naming a FAILED cluster: the operation a create would retry. */
  | { kind: 'retry-planned'; cluster: StoredCluster; retry: Operation | null };

/** The report, or why there is none (the cloud did not answer): a dry run shows either. */
async function quotaOf(q: QuotaCheck, plan: OperationPlan): Promise<QuotaReport | { error: string }> {
  try {
    return await q.check(plan);
  } catch (err) {
    return { error: `quota check failed: ${(err as Error).message}` };
  }
}

export async function createCluster(deps: ClusterDeps, input: CreateInput): Promise<CreateResult> {
  const { store } = deps;
  // The project and the preflight are read together with the other creates of this moment.
  const reads = createReadsOf(store);
  const project = await reads.project(input.project);
  if (!project) throw notFound('project', input.project);
  const expiresAt = expiryOf(input.cluster);
  const { ExpiresAt: _e, TTL: _t, ...body } = await applyTemplate(store, project, input.cluster);
  const cluster = checkNewCluster(body, project);
  // Image, flavors and a cluster of the same name, checked in one statement; 404s in the order of
  // CLUSTER_REFS, as the original.
  const images = cluster.Image ? [cluster.Image] : [];
  const flavors = CLUSTER_REFS.filter((f) => f !== 'Image').map((f) => cluster[f]).filter((v): v is string => !!v);
  const pre = await reads.preflight({ projectId: project.ID, name: cluster.Name!, images, flavors });
  for (const f of CLUSTER_REFS) {
    const v = cluster[f];
    const kind = f === 'Image' ? 'image' : 'flavor';
    if (v && pre.missing.has(`${kind}:${v}`)) throw notFound(kind, v);
  }
  const existing = pre.exists ? await store.clusters.find(project.ID, cluster.Name!) : undefined;
  if (existing) return retryFailed(deps, existing, input.dryRun ?? false);

  const types = await typesFor(store, cluster.Services ?? []);
  const services = resolveNewClusterServices(cluster, types, { newId });
  await refuseUnsupported(deps, services, types);
  const id = newId();
  const full: StoredCluster = {
    ID: id,
    Name: cluster.Name!,
    DisplayName: cluster.DisplayName!,
    HostURL: '',
    EntityStatus: statusOnAccept('create'),
    ClusterType: '',
    Services: await sealServices(deps.secrets, id, services.map((s) => ({ ...s, URL: '', EntityStatus: '', Description: s.Description ?? '', DisplayName: s.DisplayName ?? '', Name: s.Name ?? '' })), input.dryRun ?? false),
    NSlaves: cluster.NSlaves ?? 0,
    MasterIP: '',
    ProjectID: project.ID,
    OwnerID: input.ownerId,
    Description: cluster.Description ?? '',
    Image: cluster.Image ?? '',
    Keys: cluster.Keys ?? [],
    Monitoring: cluster.Monitoring ?? false,
    MasterFlavor: cluster.MasterFlavor ?? '',
    SlavesFlavor: cluster.SlavesFlavor ?? '',
    StorageFlavor: cluster.StorageFlavor ?? '',
    MonitoringFlavor: cluster.MonitoringFlavor ?? '',
    ...(expiresAt !== undefined ? { ExpiresAt: new Date(expiresAt).toISOString() } : {}),
  };
  const plan = buildCreatePlan(full, types, cluster.Image ? pre.images.get(cluster.Image) : undefined);
  const quota = deps.quota && (input.dryRun || deps.quota.enforce) ? await quotaOf(deps.quota, plan) : undefined;
  if (input.dryRun) {
    await checkProjectLimits(store, project, plan.nodes.length, deps.limits);
    return { kind: 'planned', cluster: full, plan, ...(quota ? { quota } : {}) };
  }
  // An unanswered check does not block: the create itself will meet the cloud's own refusal.
  const short = quota && 'items' in quota ? quota.items.filter((i) => i.short) : [];
  if (short.length > 0) throw validation(`the cloud project's quota is too small: ${short.map((i) => `${i.resource} (need ${i.need}, available ${i.available})`).join(', ')}`);
  const operation = { clusterId: full.ID, projectId: project.ID, kind: 'create' as const, plan, newCluster: true };
  if (deps.limits && (deps.limits.maxClusters > 0 || deps.limits.maxNodes > 0)) {
    // With limits, creates in one project take turns, so two cannot both take the last place.
    await store.transaction(async (tx) => {
      await tx.projects.lock(project.Name);
      await checkProjectLimits(tx, project, plan.nodes.length, deps.limits);
      await tx.clusters.insert(full);
      await tx.operations.enqueue(operation);
    });
  } else {
    // Without, the creates of one moment commit together (createBatch.ts).
    await createBatchOf(store).add({ cluster: full, operation });
  }
  deps.onEnqueue?.();
  return { kind: 'accepted', cluster: full };
}

/**
 * As the original: POSTing the name of a FAILED cluster retries it (the stored cluster, from the
 * step that failed); any other status is "already exists".
 */
async function retryFailed(deps: ClusterDeps, existing: StoredCluster, dryRun: boolean): Promise<CreateResult> {
  const { store } = deps;
  canStart('create', existing.EntityStatus, { name: existing.Name });
  checkRetryCluster(existing, await typesFor(store, existing.Services));
  const last = await store.operations.latest(existing.ID);
  if (dryRun) return { kind: 'retry-planned', cluster: existing, retry: last ?? null };
  await store.transaction(async (tx) => {
    await tx.clusters.setStatus(existing.ID, statusOnAccept('create'));
    if (last && (last.status === 'failed' || last.status === 'cancelled') && last.kind === 'create') await tx.operations.retry(last.id);
    else await tx.operations.enqueue({ clusterId: existing.ID, projectId: existing.ProjectID, kind: 'create', plan: buildCreatePlan(existing, await typesFor(tx, existing.Services), await imageOf(tx, existing)) });
  });
  deps.onEnqueue?.();
  return { kind: 'accepted', cluster: { ...existing, EntityStatus: statusOnAccept('create') } };
}
