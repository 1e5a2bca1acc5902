// The reads of the cluster routes: clusters of a project, a cluster's events. Lookups by ID or
// name answer 404 as everywhere.
import type { Store } from '../store/store.js';
import type { PageRequest, Page } from '../store/paging.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import type { StoredEvent } from '../store/repos/events.js';
import { projectOf, historyOf } from './lookup.js';

export async function listClusters(store: Store, project: string, page: PageRequest): Promise<Page<StoredCluster>> {
  const p = await projectOf(store, project);
  return store.clusters.list(p.ID, page);
}

/** Events after `after` (an event ID), oldest first; the cluster's ID for a live stream. */
export async function listEvents(store: Store, project: string, cluster: string, q: { after: number; limit: number }): Promise<{ clusterId: string; events: StoredEvent[] }> {
  const clusterId = await historyOf(store, project, cluster);
  return { clusterId, events: await store.events.list(clusterId, q) };
}
