// The engine's tables: operations (jobs with leases and a step journal), events (per-cluster
// ordered log) and idempotency keys (first response of a repeated request). Timestamps are BIGINT
// milliseconds on every database.
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

const ID = 'varchar(36)';
const NAME = 'varchar(255)';
const STATE = 'varchar(16)';

export async function up(db: Kysely<unknown>, kit: DialectKit): Promise<void> {
  const table = (name: string) => {
    const t = db.schema.createTable(name);
    return (kit.tableOptions ? t.modifyEnd(kit.tableOptions) : t) as CreateTableBuilder<string, never>;
  };

  await table('operations')
    .addColumn('id', ID, (c) => c.primaryKey())
    // No foreign keys: a deleted cluster's operations stay readable.
    .addColumn('cluster_id', ID, (c) => c.notNull())
    .addColumn('project_id', ID, (c) => c.notNull())
    .addColumn('kind', STATE, (c) => c.notNull())
    .addColumn('status', STATE, (c) => c.notNull())
    .addColumn('steps', kit.longText, (c) => c.notNull())
    .addColumn('plan', kit.longText, (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('lease_owner', NAME)
    .addColumn('lease_expires_at', 'bigint')
    .addColumn('heartbeat_at', 'bigint')
    // Set to cluster_id while running: its unique index makes "one running operation per cluster"
    // hold even when two claims race (NULLs do not collide on any of the three databases).
    .addColumn('running_cluster_id', ID, (c) => c.unique())
    .addColumn('cancel_requested', 'integer', (c) => c.notNull())
    .addColumn('error', kit.longText)
    .addColumn('idempotency_key', NAME)
    .addColumn('request_hash', NAME)
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  // Claiming: expired leases by expiry, queued operations by age.
  await db.schema.createIndex('operations_status_lease_idx').on('operations').columns(['status', 'lease_expires_at']).execute();
  await db.schema.createIndex('operations_status_created_idx').on('operations').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('operations_cluster_created_idx').on('operations').columns(['cluster_id', 'created_at']).execute();
  await db.schema.createIndex('operations_idempotency_idx').on('operations').columns(['project_id', 'idempotency_key']).execute();

  await table('events')
    .addColumn('cluster_id', ID, (c) => c.notNull())
    .addColumn('id', 'bigint', (c) => c.notNull())
    .addColumn('operation_id', ID)
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('level', STATE, (c) => c.notNull())
    .addColumn('phase', NAME, (c) => c.notNull())
    .addColumn('node', NAME)
    .addColumn('service', NAME)
    .addColumn('message', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('events_pk', ['cluster_id', 'id'])
    .execute();
  await db.schema.createIndex('events_operation_idx').on('events').columns(['operation_id', 'id']).execute();

  await table('event_sequences')
    .addColumn('cluster_id', ID, (c) => c.primaryKey())
    .addColumn('last_id', 'bigint', (c) => c.notNull())
    .execute();

  await table('idempotency_keys')
    .addColumn('scope', NAME, (c) => c.notNull())
    .addColumn('key', NAME, (c) => c.notNull())
    .addColumn('request_hash', NAME, (c) => c.notNull())
    .addColumn('response', kit.longText, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
    .execute();
  // The janitor forgets old keys.
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute();
}
