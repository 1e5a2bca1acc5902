// Update a cluster: add services, patch fields, or change NSlaves (scale out/in). The rules decide
// which operation, if any, the change needs; one transaction writes the cluster and queues it.
import type { Cluster } from '../domain/wire.js';
import type { StoredPlan } from '../domain/operation.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import { checkClusterUpdate } from '../domain/clusters.js';
import { statusOnAccept } from '../domain/clusterState.js';
import { buildCreatePlan } from '../domain/plan.js';
import { scalePlan } from '../domain/topology.js';
import { validation } from '../domain/errors.js';
import { newId } from '../store/ids.js';
import type { ClusterDeps } from './deps.js';
import { clusterOf, typesFor, imageOf, refuseUnsupported } from './lookup.js';
import { sealServices } from './secrets.js';
import { checkProjectLimits, expiryOf } from './lifecycle.js';

export interface UpdateInput {
  project: string;
  cluster: string;
  /** The request body: fields to change (validated against ClusterSchema by the caller). */
  changes: Cluster;
  dryRun?: boolean;
}

export interface UpdateResult {
  cluster: StoredCluster;
  /** The operation the change queued (or would queue): update, scale, or none. */
  operation: 'update' | 'scale' | null;
  plan: StoredPlan | undefined;
  /** False for a dry run: nothing was stored. */
  stored: boolean;
}

export async function updateCluster(deps: ClusterDeps, input: UpdateInput): Promise<UpdateResult> {
  const { store } = deps;
  const { project, cluster } = await clusterOf(store, input.project, input.cluster);
  const { ExpiresAt, TTL, Template, ...changes } = input.changes;
  if (Template !== undefined) throw validation("cluster field 'Template' can be given at create only");
  const expiresAt = expiryOf({ ExpiresAt, TTL });
  const types = await typesFor(store, [...cluster.Services, ...(changes.Services ?? [])]);
  const u = checkClusterUpdate(cluster, changes, types, { newId });
  await refuseUnsupported(deps, u.added, types);
  const merged = { ...cluster, ...u.cluster, ...(expiresAt !== undefined ? { ExpiresAt: new Date(expiresAt).toISOString() } : {}) } as StoredCluster;
  merged.Services = await sealServices(deps.secrets, cluster.ID, merged.Services, input.dryRun ?? false);
  const plan: StoredPlan | undefined = u.operation ? buildCreatePlan(merged, types, await imageOf(store, merged)) : undefined;
  if (plan && u.scale && u.scale.to < u.scale.from) {
    const before = buildCreatePlan(cluster, types).nodes;
    plan.removeNodes = scalePlan(before, u.scale.to).remove.map((n) => n.name);
  }
  if (input.dryRun) return { cluster: merged, operation: u.operation, plan, stored: false };
  const next = await store.transaction(async (tx) => {
    await tx.clusters.lock(project.ID, cluster.ID);
    const now = await tx.clusters.get(cluster.ID);
    if (!now || now.EntityStatus !== cluster.EntityStatus) throw validation('the cluster changed meanwhile; retry the request');
    const next = { ...merged, EntityStatus: u.operation ? statusOnAccept(u.operation) : cluster.EntityStatus };
    if (plan && u.scale && u.scale.to > u.scale.from) await checkProjectLimits(tx, project, u.scale.to - u.scale.from, deps.limits, { newCluster: false });
    await tx.clusters.update(next);
    if (expiresAt !== undefined) await tx.clusters.setExpiry(cluster.ID, expiresAt);
    if (u.operation) await tx.operations.enqueue({ clusterId: cluster.ID, projectId: project.ID, kind: u.operation, plan });
    return next;
  });
  if (u.operation) deps.onEnqueue?.();
  return { cluster: next, operation: u.operation, plan, stored: true };
}

/** Scale to `nSlaves` slaves: an update that changes NSlaves only. */
export function scaleCluster(deps: ClusterDeps, input: { project: string; cluster: string; nSlaves: number; dryRun?: boolean }): Promise<UpdateResult> {
  return updateCluster(deps, { project: input.project, cluster: input.cluster, changes: { NSlaves: input.nSlaves }, dryRun: input.dryRun });
}
