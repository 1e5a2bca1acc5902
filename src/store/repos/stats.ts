// Counts for /metrics, read from the database at each scrape: every API replica reports the same
// numbers whichever process made the rows.
import { sql } from 'kysely';
import type { RepoContext } from './base.js';

export interface Count {
  labels: Record<string, string>;
  n: number;
}

export class StatsRepo {
  constructor(private readonly ctx: RepoContext) {}

  async clustersByStatus(): Promise<Count[]> {
    const rows = await this.ctx.db
      .selectFrom('clusters')
      .select(['entity_status', sql<number | string>`count(*)`.as('n')])
      .where('entity_status', '<>', 'DELETED')
      .groupBy('entity_status')
      .execute();
    return rows.map((r) => ({ labels: { status: r.entity_status }, n: Number(r.n) }));
  }

  /** Services of live clusters by their EntityStatus ('' before the first check: unknown). */
  async servicesByStatus(): Promise<Count[]> {
    const rows = await this.ctx.db
      .selectFrom('cluster_services as s')
      .innerJoin('clusters as c', 'c.id', 's.owner_id')
      .select(['s.type', 's.entity_status', sql<number | string>`count(*)`.as('n')])
      .where('c.entity_status', '<>', 'DELETED')
      .groupBy(['s.type', 's.entity_status'])
      .execute();
    return rows.map((r) => ({ labels: { type: r.type, status: r.entity_status || 'UNKNOWN' }, n: Number(r.n) }));
  }

  async operationsByKindAndStatus(): Promise<Count[]> {
    const rows = await this.ctx.db
      .selectFrom('operations')
      .select(['kind', 'status', sql<number | string>`count(*)`.as('n')])
      .groupBy(['kind', 'status'])
      .execute();
    return rows.map((r) => ({ labels: { kind: r.kind, status: r.status }, n: Number(r.n) }));
  }
}
