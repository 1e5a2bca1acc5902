// What a create takes beyond the original's body: a stored template to start from, a time to live,
// and the project's limits (project_max_clusters, project_max_nodes).
import type { Cluster, Service } from '../domain/wire.js';
import type { ServiceClass } from '../domain/wire.js';
import type { Store } from '../store/store.js';
import { COMMON } from '../store/repos/templates.js';
import { notFound, validation } from '../domain/errors.js';
import { planNodes } from '../domain/topology.js';

export interface ProjectLimits {
  /** Clusters a project may have; 0 = no limit. */
  maxClusters: number;
  /** Nodes (masters, slaves, storage and monitoring nodes) of all its clusters; 0 = no limit. */
  maxNodes: number;
}

/**
 * The body with a template's Services and NSlaves where the body gives none. The template is the
 * project's or a common one, by ID, Name (DisplayName-<project>|common) or DisplayName.
 */
export async function applyTemplate(store: Store, project: { ID: string; Name: string }, body: Cluster): Promise<Cluster> {
  const { Template: ref, ...rest } = body;
  if (ref === undefined || ref === '') return rest;
  const t =
    (await store.templates.find(project.ID, ref)) ??
    (await store.templates.find(project.ID, `${ref}-${project.Name}`)) ??
    (await store.templates.find(COMMON, ref)) ??
    (await store.templates.find(COMMON, `${ref}-common`));
  if (!t) throw notFound('template', ref);
  // The cluster's services are new objects: IDs and generated fields are the cluster's own.
  const services = t.Services.map(({ ID: _i, URL: _u, EntityStatus: _e, ClusterRef: _c, ...s }): Service => s);
  return { ...rest, Services: rest.Services ?? services, NSlaves: rest.NSlaves ?? t.NSlaves };
}

/** Milliseconds since the epoch of the body's ExpiresAt or TTL; undefined = no expiry. */
export function expiryOf(body: Pick<Cluster, 'ExpiresAt' | 'TTL'>, now = Date.now()): number | undefined {
  if (body.ExpiresAt !== undefined && body.TTL !== undefined) throw validation("give either ExpiresAt or TTL, not both");
  if (body.TTL !== undefined) return now + body.TTL * 1000;
  if (body.ExpiresAt === undefined || body.ExpiresAt === '') return undefined;
  // RFC 3339: a date, 'T', a time and a zone (Z or ±hh:mm).
  const ok = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(body.ExpiresAt);
  const t = ok ? Date.parse(body.ExpiresAt) : NaN;
  if (Number.isNaN(t)) throw validation(`ExpiresAt '${body.ExpiresAt}' is not an RFC 3339 time, e.g. 2030-01-31T18:00:00Z`);
  if (t <= now) throw validation(`ExpiresAt '${body.ExpiresAt}' is in the past`);
  return t;
}

/** Nodes of the project's clusters now (DELETED ones aside), by the same topology rule as plans. */
async function nodesInUse(tx: Store, projectId: string): Promise<number> {
  const clusters = (await tx.clusters.list(projectId, {})).items;
  const types = await tx.serviceTypes.findByNames([...new Set(clusters.flatMap((c) => c.Services.map((s) => s.Type ?? '')))].filter(Boolean));
  const classes = new Map<string, ServiceClass>([...types.values()].map((t) => [t.Type, t.Class as ServiceClass]));
  let n = 0;
  for (const c of clusters) n += planNodes(c, c.Services, classes).length;
  return n;
}

/** 400 naming the limit and the current usage when one more cluster of `nodes` nodes does not fit. */
export async function checkProjectLimits(tx: Store, project: { ID: string; Name: string }, nodes: number, limits: ProjectLimits | undefined, o: { newCluster: boolean } = { newCluster: true }): Promise<void> {
  if (!limits || nodes <= 0) return;
  if (limits.maxClusters > 0 && o.newCluster) {
    const have = await tx.clusters.count(project.ID);
    if (have + 1 > limits.maxClusters) {
      throw validation(`project '${project.Name}' may have at most ${limits.maxClusters} clusters (project_max_clusters) and has ${have}; delete one first`);
    }
  }
  if (limits.maxNodes > 0) {
    const have = await nodesInUse(tx, project.ID);
    if (have + nodes > limits.maxNodes) {
      throw validation(`project '${project.Name}' may have at most ${limits.maxNodes} nodes (project_max_nodes); its clusters have ${have} and this ${o.newCluster ? 'one needs' : 'change adds'} ${nodes}`);
    }
  }
}
