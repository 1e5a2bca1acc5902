// Retry and cancel an operation, and the reads of a cluster's history (operations, events, logs).
import type { Operation } from '../store/repos/operations.js';
import type { StoredEvent } from '../store/repos/events.js';
import type { Store } from '../store/store.js';
import type { PageRequest, Page } from '../store/paging.js';
import { statusOnAccept } from '../domain/clusterState.js';
import { ErrorClass, MichmanError, notFound, validation } from '../domain/errors.js';
import type { ClusterDeps, ClusterLogSource } from './deps.js';
import { historyOf } from './lookup.js';

export async function getOperation(store: Store, operationId: string): Promise<Operation> {
  const op = await store.operations.get(operationId);
  if (!op) throw notFound('operation', operationId);
  return op;
}

/** Runs a failed or cancelled operation again from the step that failed. */
export async function retryOperation(deps: ClusterDeps, operationId: string): Promise<Operation> {
  const op = await getOperation(deps.store, operationId);
  const done = await deps.store.transaction(async (tx) => {
    if (!(await tx.operations.retry(op.id))) return false;
    await tx.clusters.setStatus(op.clusterId, statusOnAccept(op.kind));
    return true;
  });
  if (!done) throw validation(`operation is ${op.status}; only failed or cancelled operations can be retried`);
  deps.onEnqueue?.();
  return (await deps.store.operations.get(op.id))!;
}

/** Asks the worker running it to stop (a queued one is cancelled at once). */
export async function cancelOperation(deps: ClusterDeps, operationId: string): Promise<Operation> {
  const op = await getOperation(deps.store, operationId);
  const after = await deps.store.operations.requestCancel(op.id);
  if (!after) throw validation(`operation is ${op.status}; only queued or running operations can be cancelled`);
  return after;
}

export async function listOperations(store: Store, project: string, cluster: string, page: PageRequest): Promise<Page<Operation>> {
  return store.operations.listForCluster(await historyOf(store, project, cluster), page);
}

export const LOG_ACTIONS = ['create', 'update', 'delete'] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

/**
 * The log of the cluster's last operation of this kind, oldest line first: from the log source
 * (elastic_addr) when there is one, else the store's events. A log source that fails is a 503
 * naming it, not an empty log (the original answered "" and hid the outage).
 */
export async function clusterLog(store: Store, project: string, cluster: string, action: LogAction, source?: ClusterLogSource): Promise<{ from: string; events: Array<{ time: number; level: string; phase: string; node?: string | undefined; service?: string | undefined; message: string }> }> {
  if (!source) return { from: 'database', events: await lastOperationEvents(store, project, cluster, action) };
  const clusterId = await historyOf(store, project, cluster);
  const op = await store.operations.latest(clusterId, action);
  if (!op) return { from: source.name, events: [] };
  try {
    return { from: source.name, events: await source.read(clusterId, action, op.id) };
  } catch (e) {
    throw new MichmanError(ErrorClass.Unavailable, `cluster logs: ${source.name} at elastic_addr: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The events of the cluster's last operation of this kind, oldest first. */
export async function lastOperationEvents(store: Store, project: string, cluster: string, action: LogAction): Promise<StoredEvent[]> {
  const clusterId = await historyOf(store, project, cluster);
  const op = await store.operations.latest(clusterId, action);
  return op ? store.events.list(clusterId, { operationId: op.id }) : [];
}
