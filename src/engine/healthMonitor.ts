// Health that stays true: the create-time check of every service (Deployer.health, the catalog's
// HealthCheck as each deployer runs it) runs again every `health_interval` seconds in the workers.
// A failing service turns UNHEALTHY and its cluster DEGRADED; when all pass again both go back to
// ACTIVE. Each transition is an event on the cluster's stream (warn going bad, info recovering).
//
// Several workers may share the database: a cluster's check is claimed by moving its due time
// forward with a compare-and-set (store/repos/health.ts), so one worker takes it per round, and
// nothing is kept in memory that another worker would need.
import type { Store } from '../store/store.js';
import type { Provider, ProvisionedNode, StepContext } from '../providers/types.js';
import type { Deployer, HealthResult } from '../deploy/types.js';
import type { StoredPlan } from '../domain/operation.js';
import type { EngineEvent } from '../domain/nodes.js';
import { HealthRepo, CHECKED_STATUSES, type DueCluster } from '../store/repos/health.js';

export const SERVICE_ACTIVE = 'ACTIVE';
export const SERVICE_UNHEALTHY = 'UNHEALTHY';

export interface HealthMonitorOptions {
  provider: Pick<Provider, 'listNodes'>;
  deployer: Pick<Deployer, 'health'>;
  /** Time between two checks of one cluster. */
  intervalMs: number;
  /** The longest a cluster's check may take (default 30 s); the claim holds it that much longer. */
  checkTimeoutMs?: number;
  /** Clusters this worker checks at once (default 4). */
  concurrency?: number;
  log?: { error(obj: object, msg: string): void };
}

export interface ServiceVerdict {
  serviceId: string;
  type: string;
  healthy: boolean;
  detail: string;
}

const isChecked = (s: string) => (CHECKED_STATUSES as readonly string[]).includes(s);

export class HealthMonitor {
  private readonly repo: HealthRepo;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;
  private stopped = true;
  private readonly aborts = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly o: HealthMonitorOptions,
  ) {
    this.repo = new HealthRepo({ db: store.db, kit: store.kit });
  }

  private get timeoutMs(): number {
    return this.o.checkTimeoutMs ?? 30_000;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    // Rounds are cheap (one indexed query when nothing is due); a cluster waits at most a tick past its due time.
    const tick = Math.max(50, Math.min(1_000, Math.floor(this.o.intervalMs / 4)));
    this.timer = setInterval(() => {
      if (this.round) return;
      this.round = this.runOnce()
        .catch((err: unknown) => this.o.log?.error({ err }, 'health round failed'))
        .finally(() => (this.round = undefined));
    }, tick);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.aborts.abort(new Error('worker stopping'));
    await this.round;
  }

  /** One round: claims the clusters due now and checks them; returns the verdicts by cluster. */
  async runOnce(now = Date.now()): Promise<Map<string, ServiceVerdict[]>> {
    const out = new Map<string, ServiceVerdict[]>();
    const due = await this.repo.due(now, 100);
    const queue = [...due];
    const work = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        if (!(await this.repo.claim(c.id, c.dueAt, now + this.o.intervalMs + this.timeoutMs))) continue;
        try {
          const v = await this.check(c);
          if (v) out.set(c.id, v);
        } catch (err) {
          this.o.log?.error({ err, cluster: c.id }, 'health check failed');
        } finally {
          await this.repo.reschedule(c.id, Date.now() + this.o.intervalMs).catch(() => undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 4, queue.length) }, work));
    return out;
  }

  private async check(c: DueCluster): Promise<ServiceVerdict[] | undefined> {
    // An operation under way owns the cluster; its own health phase says the rest.
    if ((await this.store.operations.active(c.id)).length > 0) return undefined;
    const cluster = await this.store.clusters.get(c.id);
    if (!cluster || !isChecked(cluster.EntityStatus)) return undefined;
    const plan = await this.lastPlan(c.id);
    if (!plan) return undefined;
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.aborts.signal]);
    const ctx: StepContext = { clusterId: c.id, clusterName: c.name, signal, emit: () => undefined, plan };
    const live = new Map((await this.o.provider.listNodes(ctx)).map((n) => [n.name, n]));
    const removed = new Set(plan.removeNodes ?? []);
    const verdicts: ServiceVerdict[] = [];
    for (const s of plan.services) {
      const svc = cluster.Services.find((x) => x.ID === s.id) ?? cluster.Services.find((x) => x.Type === s.type);
      if (!svc) continue;
      const names = s.nodes.filter((n) => !removed.has(n));
      const nodes = names.map((n) => live.get(n));
      // A node that is gone is the reconciler's to report (MISSING), not a service's health.
      if (nodes.some((n) => n === undefined)) return undefined;
      const h: HealthResult = await this.o.deployer
        .health(ctx, { type: s.type, version: s.version, config: s.config, params: s.params, accessPort: s.accessPort, nodes: nodes as ProvisionedNode[] })
        .catch((err: unknown) => ({ healthy: false, detail: signal.aborted ? `no answer within ${Math.round(this.timeoutMs / 1000)} s` : (err as Error).message }));
      verdicts.push({ serviceId: svc.ID ?? s.id, type: s.type, healthy: h.healthy, detail: h.detail });
    }
    if (this.stopped && this.aborts.signal.aborted) return undefined; // a check cut short says nothing
    await this.record(c.id, verdicts);
    return verdicts;
  }

  /** Writes the statuses that changed and their events, in one transaction, if the cluster is still checked. */
  private async record(clusterId: string, verdicts: ServiceVerdict[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      const cluster = await tx.clusters.get(clusterId);
      if (!cluster || !isChecked(cluster.EntityStatus)) return;
      const repo = new HealthRepo({ db: tx.db, kit: tx.kit });
      const events: EngineEvent[] = [];
      for (const v of verdicts) {
        const was = cluster.Services.find((s) => s.ID === v.serviceId)?.EntityStatus ?? '';
        const next = v.healthy ? SERVICE_ACTIVE : SERVICE_UNHEALTHY;
        if (was === next) continue;
        await repo.setServiceStatus(clusterId, v.serviceId, next);
        if (next === SERVICE_UNHEALTHY) events.push({ level: 'warn', phase: 'health', service: v.type, message: `${v.type} fails its health check: ${v.detail}` });
        else if (was === SERVICE_UNHEALTHY) events.push({ level: 'info', phase: 'health', service: v.type, message: `${v.type} passes its health check again: ${v.detail}` });
      }
      const bad = verdicts.filter((v) => !v.healthy).map((v) => v.type);
      if (bad.length > 0 && cluster.EntityStatus === 'ACTIVE' && (await tx.clusters.setStatus(clusterId, 'DEGRADED', ['ACTIVE']))) {
        events.push({ level: 'warn', phase: 'health', message: `cluster DEGRADED: ${bad.join(', ')} unhealthy` });
      } else if (bad.length === 0 && cluster.EntityStatus === 'DEGRADED' && (await tx.clusters.setStatus(clusterId, 'ACTIVE', ['DEGRADED']))) {
        events.push({ level: 'info', phase: 'health', message: 'cluster ACTIVE again: every service passes its health check' });
      }
      if (events.length > 0) await tx.events.append(clusterId, null, events);
    });
  }

  /** The plan the cluster was last built or changed by (the last successful operation but a delete). */
  private async lastPlan(clusterId: string): Promise<StoredPlan | undefined> {
    const page = await this.store.operations.listForCluster(clusterId, {});
    const last = [...page.items].reverse().find((op) => op.status === 'succeeded' && op.kind !== 'delete');
    return last?.plan as StoredPlan | undefined;
  }
}
