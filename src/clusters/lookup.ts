// Lookups every use case starts with: by ID or name, 404 when absent.
import type { Store } from '../store/store.js';
import type { Service } from '../domain/wire.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import { notFound, validation } from '../domain/errors.js';
import { loadTypeClosure, rememberCatalogNames } from '../domain/resolver.js';
import { parseUuid } from '../store/ids.js';
import type { ClusterDeps } from './deps.js';

export async function projectOf(db: Store, projectIdOrName: string) {
  const p = await db.projects.find(projectIdOrName);
  if (!p) throw notFound('project', projectIdOrName);
  return p;
}

export async function clusterOf(db: Store, projectIdOrName: string, clusterIdOrName: string) {
  const project = await projectOf(db, projectIdOrName);
  const cluster = await db.clusters.find(project.ID, clusterIdOrName);
  if (!cluster) throw notFound('cluster', clusterIdOrName);
  return { project, cluster };
}

/**
 * The cluster whose history is asked for: a live one, or — addressed by its ID — one that was
 * deleted, as long as operations of it exist in this project (they outlive the cluster row).
 */
export async function historyOf(db: Store, projectIdOrName: string, clusterIdOrName: string): Promise<string> {
  const project = await projectOf(db, projectIdOrName);
  const live = await db.clusters.find(project.ID, clusterIdOrName);
  if (live) return live.ID;
  const id = parseUuid(clusterIdOrName);
  const last = id === undefined ? undefined : await db.operations.latest(id);
  if (last && last.projectId === project.ID) return last.clusterId;
  throw notFound('cluster', clusterIdOrName);
}

/** The cluster's image record (for its cloud image ID and login user), if it still exists. */
export const imageOf = async (db: Store, c: Pick<StoredCluster, 'Image'>) => (c.Image ? await db.images.find(c.Image) : undefined);

/** The types a cluster's services reach, loaded transitively; inside a transaction they stay locked. */
export async function typesFor(db: Store, services: readonly Service[]) {
  const types = await loadTypeClosure(services, new Map(), async (names) => (await db.serviceTypes.findByNames(names)).values());
  // A type the catalog lacks: its error lists the ones it has (read only then).
  if (services.some((s) => s.Type && !types.has(s.Type))) {
    rememberCatalogNames(types, (await db.serviceTypes.listSummaries({})).items.map((t) => t.Type ?? '').filter(Boolean));
  }
  return types;
}

/** 400 naming what this host or cloud lacks for the services. */
export async function refuseUnsupported(deps: ClusterDeps, services: readonly Service[], types?: ReadonlyMap<string, { Versions: ReadonlyArray<{ Version: string }> }>): Promise<void> {
  if (!deps.deployer) return;
  const versionsOf = (t: string) => types?.get(t)?.Versions.map((v) => v.Version);
  const problems = await deps.deployer.check(services.map((s) => ({ type: s.Type ?? '', version: s.Version ?? '', versions: versionsOf(s.Type ?? '') })));
  if (problems.length > 0) throw validation(problems.join('; '));
}
