// The periodic health check (engine/healthMonitor.ts): when each cluster is next due. A worker
// claims a cluster's check by moving this forward with a compare-and-set, so several workers on
// one database never check the same cluster in the same round, and a worker that dies mid-check
// leaves it to whoever comes when it is due again. BIGINT milliseconds as in 002; 0 = due now.
import type { Kysely } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

export async function up(db: Kysely<unknown>, _kit: DialectKit): Promise<void> {
  await db.schema.alterTable('clusters').addColumn('health_due_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('clusters_health_due_idx').on('clusters').columns(['health_due_at']).execute();
}
