// Delete a cluster: from a settled state, or (force) from any state, cancelling what runs.
import type { StoredPlan } from '../domain/operation.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import { canStart, statusOnAccept } from '../domain/clusterState.js';
import { buildCreatePlan } from '../domain/plan.js';
import type { ClusterDeps } from './deps.js';
import { clusterOf, typesFor, imageOf } from './lookup.js';

export interface DeleteInput {
  project: string;
  cluster: string;
  force?: boolean;
  dryRun?: boolean;
}

export interface DeleteResult {
  cluster: StoredCluster;
  plan: StoredPlan;
  stored: boolean;
}

export async function deleteCluster(deps: ClusterDeps, input: DeleteInput): Promise<DeleteResult> {
  const { store } = deps;
  const { project, cluster } = await clusterOf(store, input.project, input.cluster);
  const force = input.force ?? false;
  canStart('delete', cluster.EntityStatus, { force, name: cluster.Name });
  const types = await typesFor(store, cluster.Services);
  const plan = buildCreatePlan(cluster, types, await imageOf(store, cluster));
  if (input.dryRun) return { cluster, plan, stored: false };
  await store.transaction(async (tx) => {
    await tx.clusters.lock(project.ID, cluster.ID);
    if (force) for (const op of await tx.operations.active(cluster.ID)) await tx.operations.requestCancel(op.id);
    await tx.clusters.setStatus(cluster.ID, statusOnAccept('delete'));
    await tx.operations.enqueue({ clusterId: cluster.ID, projectId: project.ID, kind: 'delete', plan });
  });
  deps.onEnqueue?.();
  return { cluster: { ...cluster, EntityStatus: statusOnAccept('delete') }, plan, stored: true };
}
