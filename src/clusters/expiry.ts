// Cluster TTLs: a sweep, run periodically by every process with workers, that writes a warning event
// some time before a cluster's ExpiresAt and, once it has passed, deletes the cluster with a normal
// delete operation (visible in its operations and events). Each step is a compare-and-set on the
// cluster's expiry state, so replicas sweeping at once warn and delete once.
import type { ClusterDeps } from './deps.js';
import { deleteCluster } from './delete.js';
import { MichmanError } from '../domain/errors.js';
import { Periodic } from '../periodic.js';

export interface ExpiryOptions {
  /** How often to sweep. */
  intervalMs: number;
  /** Warn this long before ExpiresAt; 0 = a tenth of the cluster's lifetime (from its creation), at least one interval. */
  warnBeforeMs: number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export class ExpirySweeper {
  private readonly periodic: Periodic;

  constructor(
    private readonly deps: ClusterDeps,
    private readonly o: ExpiryOptions,
  ) {
    this.periodic = new Periodic(o.intervalMs, () => this.sweep().catch((err: unknown) => this.o.log?.error({ err }, 'cluster expiry sweep failed')));
  }

  start(): this {
    this.periodic.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** How long before `expiresAt` the warning comes. */
  private warnBefore(expiresAt: number, createdAt: number): number {
    if (this.o.warnBeforeMs > 0) return this.o.warnBeforeMs;
    return Math.max(this.o.intervalMs, Math.floor((expiresAt - createdAt) / 10));
  }

  /** One pass: warnings due, then deletes due. */
  async sweep(now = Date.now()): Promise<void> {
    const { store } = this.deps;
    for (const c of await store.clusters.expiring(now, (at, created) => (at <= now ? 0 : this.warnBefore(at, created)), 1)) {
      if (c.expiresAt <= now) continue; // past: no warning, the delete below
      if (!(await store.clusters.advanceExpiry(c.id, 1))) continue;
      const left = Math.max(1, Math.round((c.expiresAt - now) / 1000));
      await store.events.append(c.id, null, [{ level: 'warn', phase: 'expiry', message: `cluster expires at ${new Date(c.expiresAt).toISOString()} (in ${left} s): it will be deleted then; PUT a later ExpiresAt or TTL to keep it` }]);
      this.o.log?.info({ cluster: c.id, expiresAt: new Date(c.expiresAt).toISOString() }, 'cluster expiry warning');
    }
    for (const c of await store.clusters.expiring(now, () => 0, 2)) {
      try {
        // Only from a state a delete may start from (a cluster being created is deleted once it settles).
        await deleteCluster(this.deps, { project: c.projectId, cluster: c.id, dryRun: true });
      } catch (err) {
        if (err instanceof MichmanError) continue;
        throw err;
      }
      if (!(await store.clusters.advanceExpiry(c.id, 2))) continue;
      await store.events.append(c.id, null, [{ level: 'warn', phase: 'expiry', message: `cluster expired at ${new Date(c.expiresAt).toISOString()}: deleting it` }]);
      try {
        await deleteCluster(this.deps, { project: c.projectId, cluster: c.id });
        this.o.log?.info({ cluster: c.id, name: c.name }, 'expired cluster: delete queued');
      } catch (err) {
        // It changed in between (a user's operation): try again at the next sweep.
        await store.clusters.setExpiry(c.id, c.expiresAt);
        if (!(err instanceof MichmanError)) throw err;
      }
    }
  }
}
