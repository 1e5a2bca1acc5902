// Pinned SSH host keys of a cluster's cloud servers (migration 006): one row per node, replaced
// when the node is pinned again (a new server), removed with the cluster row.
import type { RepoContext } from './base.js';
import type { HostKeyPins, PinnedHostKey } from '../../domain/hostKeys.js';

export class HostKeyRepo implements HostKeyPins {
  constructor(private readonly ctx: RepoContext) {}

  async list(clusterId: string): Promise<PinnedHostKey[]> {
    const rows = await this.ctx.db.selectFrom('cluster_host_keys').selectAll().where('cluster_id', '=', clusterId).orderBy('node').execute();
    return rows.map((r) => ({ node: r.node, serverId: r.server_id, address: r.address, keys: r.key_lines.split('\n').filter(Boolean), pinnedAt: Number(r.pinned_at) }));
  }

  async pin(clusterId: string, k: PinnedHostKey): Promise<void> {
    const write = async (tx: RepoContext['db']) => {
      await tx.deleteFrom('cluster_host_keys').where('cluster_id', '=', clusterId).where('node', '=', k.node).execute();
      await tx
        .insertInto('cluster_host_keys')
        .values({ cluster_id: clusterId, node: k.node, server_id: k.serverId, address: k.address, key_lines: k.keys.join('\n'), pinned_at: k.pinnedAt })
        .execute();
    };
    // Inside a store transaction already: its writes are one unit with the rest.
    if (this.ctx.db.isTransaction) await write(this.ctx.db);
    else await this.ctx.db.transaction().execute(write);
  }
}
