// The janitor: cloud resources tagged for clusters that no longer exist are leaks (a delete that
// was forced, a crash between a create and its record, someone's manual cleanup of the database).
// The provider knows what is tagged, the store knows which clusters exist; this joins the two.
// It never touches a cluster the store still has, whatever its status.
import type { Provider, TaggedCluster } from '../providers/types.js';
import { Periodic } from '../periodic.js';

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

/**
 * The janitor run every `intervalMs` next to a worker (several workers may run it: removal is
 * idempotent). Reports go to the log; with `remove` the leaks are also removed.
 */
export class PeriodicJanitor {
  private readonly periodic: Periodic;
  private readonly abort = new AbortController();

  constructor(
    private readonly provider: Provider,
    private readonly clusters: ClusterDirectory,
    private readonly o: { intervalMs: number; remove: boolean; log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void } },
  ) {
    this.periodic = new Periodic(o.intervalMs, () =>
      runJanitor(this.provider, this.clusters, { delete: this.o.remove, signal: this.abort.signal })
        .then((r) => {
          for (const x of r.orphans) this.o.log.warn({ cluster: x.clusterId, resources: x.resources }, 'janitor: cloud resources of a cluster that no longer exists');
          for (const id of r.removed) this.o.log.info({ cluster: id }, 'janitor: removed the leaked resources');
          for (const f of r.failed) this.o.log.error({ cluster: f.clusterId, error: f.error }, 'janitor: could not remove the leaked resources');
        })
        .catch((err: unknown) => this.o.log.error({ error: (err as Error).message }, 'janitor failed')),
    );
  }

  start(): this {
    this.periodic.start();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    await this.periodic.stop();
  }
}
