// What the project holds, by cluster: every server, port, floating IP, security group, volume,
// server group and key pair that carries a cluster's tag (or metadata, or a name with its ID),
// read through every page of every list. Delete checks it is empty for its cluster; the janitor
// compares it with the store.
import type { Session } from './identity/session.js';
import { listAllServers } from './compute/servers.js';
import { listKeypairs } from './compute/keypairs.js';
import { listServerGroups } from './compute/serverGroups.js';
import { listAllPorts } from './network/ports.js';
import { listFloatingIps } from './network/floatingIps.js';
import { listSecurityGroups } from './network/securityGroups.js';
import { listVolumes } from './blockstorage/volumes.js';
import { clusterOfTags, clusterOfName, clusterOfPortDescription, META_CLUSTER } from './tags.js';

/** Cluster ID → readable `kind name (id)` entries of what it owns. */
export async function taggedInventory(s: Session, signal: AbortSignal): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (id: string | undefined, what: string) => {
    if (!id) return;
    const l = out.get(id) ?? [];
    l.push(what);
    out.set(id, l);
  };
  const [servers, ports, fips, sgs, vols, groups, keys] = await Promise.all([
    listAllServers(s, signal),
    listAllPorts(s, signal),
    listFloatingIps(s, {}, signal),
    listSecurityGroups(s, {}, signal),
    listVolumes(s, undefined, signal).catch(() => []), // a cloud without Cinder
    listServerGroups(s, signal),
    listKeypairs(s, signal),
  ]);
  for (const x of servers) if (x.status !== 'DELETED') add(x.metadata?.[META_CLUSTER] ?? clusterOfTags(x.tags), `server ${x.name} (${x.id})`);
  for (const x of ports) add(clusterOfTags(x.tags) ?? clusterOfPortDescription(x.description), `port ${x.name} (${x.id})`);
  for (const x of fips) add(clusterOfTags(x.tags), `floating IP ${x.floating_ip_address} (${x.id})`);
  for (const x of sgs) add(clusterOfTags(x.tags) ?? clusterOfName(x.name), `security group ${x.name} (${x.id})`);
  for (const x of vols) if (x.status !== 'deleting') add(x.metadata?.[META_CLUSTER], `volume ${x.name} (${x.id})`);
  for (const x of groups) if (x.name.startsWith('michman-')) add(clusterOfName(x.name), `server group ${x.name} (${x.id})`);
  for (const x of keys) if (x.name.startsWith('michman-')) add(clusterOfName(x.name), `key pair ${x.name}`);
  return out;
}
