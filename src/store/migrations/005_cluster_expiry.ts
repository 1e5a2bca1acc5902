// Cluster TTLs: when a cluster expires (BIGINT milliseconds, null = never), and how far the engine
// got with it: 0 nothing yet, 1 the warning event was written, 2 its delete was requested. The state
// is a compare-and-set, so of several replicas sweeping at once one writes the warning, one deletes.
import type { Kysely } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

export async function up(db: Kysely<unknown>, _kit: DialectKit): Promise<void> {
  await db.schema.alterTable('clusters').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('clusters').addColumn('expiry_state', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('clusters_expires_idx').on('clusters').column('expires_at').execute();
}
