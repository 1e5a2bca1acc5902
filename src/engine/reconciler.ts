// The reconciler: compares what settled clusters should have with what the provider reports. A
// node that is gone turns an ACTIVE (or DEGRADED) cluster MISSING, and its return (or a repair) turns it ACTIVE
// again. Clusters with an operation under way are left to it. Idempotent, so every worker may run
// it (the status write is a compare-and-set).
import type { Store } from '../store/store.js';
import type { Provider } from '../providers/types.js';
import type { StoredPlan } from '../domain/operation.js';

export class Reconciler {
  constructor(
    private readonly store: Store,
    private readonly provider: Pick<Provider, 'listNodes'>,
  ) {}

  /** One pass over at most `maxClusters` settled clusters; returns those whose status it changed. */
  async run(maxClusters = 1000): Promise<Array<{ id: string; status: string }>> {
    const changed: Array<{ id: string; status: string }> = [];
    let after = '';
    for (let seen = 0; seen < maxClusters; ) {
      const page = await this.store.clusters.idsByStatus(['ACTIVE', 'MISSING', 'DEGRADED'], after, 100);
      if (page.length === 0) break;
      for (const c of page) {
        seen++;
        after = c.id;
        if ((await this.store.operations.active(c.id)).length > 0) continue;
        const expected = await this.expectedNodes(c.id);
        if (expected === undefined) continue;
        const ctx = { clusterId: c.id, clusterName: c.name, signal: AbortSignal.timeout(30_000), emit: () => undefined };
        const present = new Set((await this.provider.listNodes(ctx)).map((n) => n.name));
        const gone = expected.filter((n) => !present.has(n));
        // All nodes there: a MISSING cluster is ACTIVE again; an ACTIVE or DEGRADED one is the health monitor's.
        const next = gone.length > 0 ? 'MISSING' : c.status === 'MISSING' ? 'ACTIVE' : c.status;
        if (next === c.status) continue;
        if (await this.store.clusters.setStatus(c.id, next, [c.status])) {
          changed.push({ id: c.id, status: next });
          const message = gone.length > 0 ? `node(s) gone: ${gone.join(', ')}` : 'every node is back';
          await this.store.events.append(c.id, null, [{ level: gone.length > 0 ? 'warn' : 'info', phase: 'reconcile', message }]);
        }
      }
    }
    return changed;
  }

  /** Nodes the last successful non-delete operation left the cluster with. */
  private async expectedNodes(clusterId: string): Promise<string[] | undefined> {
    const page = await this.store.operations.listForCluster(clusterId, {});
    const last = [...page.items].reverse().find((op) => op.status === 'succeeded' && op.kind !== 'delete');
    if (!last) return undefined;
    const plan = last.plan as StoredPlan;
    const removed = new Set(plan.removeNodes ?? []);
    return plan.nodes.map((n) => n.name).filter((n) => !removed.has(n));
  }
}
