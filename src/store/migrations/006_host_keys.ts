// SSH host keys of a cluster's cloud servers, pinned at first contact (deploy/ansible/hostKeys.ts):
// one row per node, with the server it was read from (a node rebuilt as a new server is pinned
// anew; the same server answering with another key is refused). They go with the cluster row.
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

export async function up(db: Kysely<unknown>, kit: DialectKit): Promise<void> {
  const t = db.schema.createTable('cluster_host_keys');
  await ((kit.tableOptions ? t.modifyEnd(kit.tableOptions) : t) as CreateTableBuilder<string, never>)
    .addColumn('cluster_id', 'varchar(36)', (c) => c.notNull().references('clusters.id').onDelete('cascade'))
    .addColumn('node', 'varchar(255)', (c) => c.notNull())
    .addColumn('server_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('address', 'varchar(255)', (c) => c.notNull())
    // known_hosts key lines without the host field ("ssh-ed25519 AAAA…"), one per line.
    .addColumn('key_lines', kit.longText, (c) => c.notNull())
    .addColumn('pinned_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('cluster_host_keys_pk', ['cluster_id', 'node'])
    .execute();
}
