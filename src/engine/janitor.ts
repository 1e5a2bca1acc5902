// The janitor: cloud resources tagged for clusters that no longer exist are leaks (a delete that
// was forced, a crash between a create and its record, someone's manual cleanup of the database).
// The provider knows what is tagged, the store knows which clusters exist; this joins the two.
// It never touches a cluster the store still has, whatever its status.
import type { Provider, TaggedCluster } from '../providers/types.js';

export interface ClusterDirectory {
  /** The IDs among `ids` that are clusters in the store (deleted clusters are not). */
  existing(ids: string[]): Promise<Set<string>>;
}

/** The store as the janitor sees it. */
export function storeDirectory(store: { clusters: { get(id: string): Promise<unknown> } }): ClusterDirectory {
  return {
    async existing(ids) {
      const out = new Set<string>();
      for (const id of ids) if (await store.clusters.get(id)) out.add(id);
      return out;
    },
  };
}

export interface JanitorReport {
  /** Clusters gone from the store that still own cloud resources. */
  orphans: TaggedCluster[];
  removed: string[];
  failed: Array<{ clusterId: string; error: string }>;
}

export async function runJanitor(provider: Provider, clusters: ClusterDirectory, o: { delete?: boolean; signal?: AbortSignal } = {}): Promise<JanitorReport> {
  const report: JanitorReport = { orphans: [], removed: [], failed: [] };
  if (!provider.listTaggedClusters) return report;
  const tagged = await provider.listTaggedClusters(o.signal);
  const known = await clusters.existing(tagged.map((t) => t.clusterId));
  report.orphans = tagged.filter((t) => !known.has(t.clusterId));
  if (!o.delete || !provider.removeCluster) return report;
  for (const orphan of report.orphans) {
    try {
      await provider.removeCluster(orphan.clusterId, o.signal);
      report.removed.push(orphan.clusterId);
    } catch (err) {
      report.failed.push({ clusterId: orphan.clusterId, error: (err as Error).message });
    }
  }
  return report;
}
