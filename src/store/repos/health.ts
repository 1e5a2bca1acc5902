// The periodic health check's bookkeeping (migration 004): which clusters are due, the claim of a
// cluster's check (a compare-and-set on health_due_at, so one worker of many takes it), and the
// statuses it writes. Service statuses: ACTIVE or UNHEALTHY; cluster: ACTIVE or DEGRADED.
import type { RepoContext } from './base.js';

/** Clusters whose services are checked: settled and reachable (MISSING ones are the reconciler's). */
export const CHECKED_STATUSES = ['ACTIVE', 'DEGRADED'] as const;

export interface DueCluster {
  id: string;
  name: string;
  status: string;
  dueAt: number;
}

export class HealthRepo {
  constructor(private readonly ctx: RepoContext) {}

  /** Up to `limit` clusters due by `now`, longest waiting first. */
  async due(now: number, limit: number): Promise<DueCluster[]> {
    const rows = await this.ctx.db
      .selectFrom('clusters')
      .select(['id', 'name', 'entity_status', 'health_due_at'])
      .where('entity_status', 'in', [...CHECKED_STATUSES])
      .where('health_due_at', '<=', now)
      .orderBy('health_due_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, status: r.entity_status, dueAt: Number(r.health_due_at) }));
  }

  /**
   * Takes the check of a cluster seen due at `seenDueAt`, pushing its next due time to `until` (the
   * lease: nobody else takes it before). False when another worker took it first.
   */
  async claim(id: string, seenDueAt: number, until: number): Promise<boolean> {
    const r = await this.ctx.db
      .updateTable('clusters')
      .set({ health_due_at: until })
      .where('id', '=', id)
      .where('health_due_at', '=', seenDueAt)
      .where('entity_status', 'in', [...CHECKED_STATUSES])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The check is done: next one at `nextAt`. */
  async reschedule(id: string, nextAt: number): Promise<void> {
    await this.ctx.db.updateTable('clusters').set({ health_due_at: nextAt }).where('id', '=', id).execute();
  }

  async setServiceStatus(clusterId: string, serviceId: string, status: string): Promise<void> {
    await this.ctx.db.updateTable('cluster_services').set({ entity_status: status }).where('owner_id', '=', clusterId).where('id', '=', serviceId).execute();
  }
}
