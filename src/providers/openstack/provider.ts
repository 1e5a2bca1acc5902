// The OpenStack provider: Nova servers on their own tagged Neutron ports, with the cluster's
// security group, an optional floating IP each and an optional data volume on the storage node.
// Every resource carries the cluster's tag (or metadata, or a name with the cluster ID), and every
// step first looks for what an earlier attempt left, so a retried or resumed step never duplicates.
import { portOpen } from '../../host/net.js';
import type { Provider, ProvisionedNode, StepContext, NodeSpec, QuotaReport, TaggedCluster } from '../types.js';
import type { OperationPlan } from '../../domain/plan.js';
import type { NodeRole } from '../../domain/topology.js';
import type { Session } from './identity/session.js';
import { poll, sleep, OpenStackError } from './http.js';
import { ServerWatch } from './compute/serverWatch.js';
import { createServer, deleteServer, getServer, listServers, attachVolume, fixedIpv4, type Server } from './compute/servers.js';
import { findFlavor, type Flavor } from './compute/flavors.js';
import { createKeypair, deleteKeypair, getKeypair } from './compute/keypairs.js';
import { createServerGroup, deleteServerGroup, listServerGroups } from './compute/serverGroups.js';
import { findImage } from './image/images.js';
import { findNetwork } from './network/networks.js';
import { addTag } from './network/tags.js';
import { createPort, deletePort, listPorts, listAllPorts, type Port } from './network/ports.js';
import { allocateFloatingIp, associateFloatingIp, listFloatingIps, releaseFloatingIp, type FloatingIp } from './network/floatingIps.js';
import { createRule, createSecurityGroup, deleteSecurityGroup, listSecurityGroups, type SecurityGroupRule } from './network/securityGroups.js';
import { createVolume, deleteVolume, getVolume, listVolumes } from './blockstorage/volumes.js';
import { checkQuota } from './quota.js';
import { taggedInventory } from './inventory.js';
import {
  clusterTag,
  clusterOfName,
  securityGroupName,
  keypairName,
  serverGroupName,
  portDescription,
  META_CLUSTER,
  META_NODE,
  META_ROLE,
} from './tags.js';

export interface OpenStackOptions {
  session: Session;
  /** virtual_network: the tenant network (name or ID) every node's port is on. */
  network: string;
  /** floating_ip_pool: external network (name or ID); undefined = no floating IPs ("None"). */
  floatingIpPool?: string;
  /** os_key_name: an existing key pair injected into every server. */
  keyName?: string;
  /** Without os_key_name: a per-cluster key pair `michman-<cluster id>` with this public key. */
  sshPublicKey?: string;
  /** os_on_failure: a node whose create failed is kept for the retry (keep) or removed (delete). */
  onFailure?: 'keep' | 'delete';
  /** os_reachability: ssh = TCP port 22 answers; active = server ACTIVE with its addresses. */
  reachability?: 'ssh' | 'active';
  /** os_server_group: place the cluster's servers apart. */
  serverGroupPolicy?: 'anti-affinity' | 'soft-anti-affinity';
  /** os_storage_volume_gb: a data volume for the storage node (0 = none). */
  storageVolumeGb?: number;
  /** os_ingress_cidr: where SSH and the services' ports are reachable from. */
  ingressCidr?: string;
  /** Polling: first delay and its cap, milliseconds (tests shorten them). */
  pollFirstMs?: number;
  pollMaxDelayMs?: number;
  sshPort?: number;
}

interface NodeResources {
  port: Port;
  server: Server;
  fip?: FloatingIp;
}

const ACTIVE = 'ACTIVE';

export class OpenStackProvider implements Provider {
  readonly name = 'openstack';
  private readonly s: Session;
  private readonly lookups = new Map<string, Promise<unknown>>();
  /** Booting and deleting servers are watched with shared list calls, not a GET each. */
  private readonly watch: ServerWatch;

  constructor(private readonly o: OpenStackOptions) {
    this.s = o.session;
    this.watch = new ServerWatch(this.s);
  }

  /** Flavors, images and networks do not change under a running service: look each up once. */
  private cached<T>(key: string, load: () => Promise<T | undefined>, what: string): Promise<T> {
    let p = this.lookups.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load().then((v) => {
        if (v === undefined) throw new Error(`${what} not found in the cloud`);
        return v;
      });
      p.catch(() => this.lookups.delete(key));
      this.lookups.set(key, p);
    }
    return p;
  }
  private flavor = (name: string, signal: AbortSignal) => this.cached<Flavor>(`flavor:${name}`, () => findFlavor(this.s, name, signal), `flavor ${name}`);
  private image = (name: string, signal: AbortSignal) => this.cached(`image:${name}`, () => findImage(this.s, name, signal), `image ${name}`);
  private net = (signal: AbortSignal) => this.cached(`net:${this.o.network}`, () => findNetwork(this.s, this.o.network, signal), `network ${this.o.network} (virtual_network)`);
  private pool = (signal: AbortSignal) =>
    this.cached(`pool:${this.o.floatingIpPool}`, () => findNetwork(this.s, this.o.floatingIpPool!, signal), `floating IP pool ${this.o.floatingIpPool} (floating_ip_pool)`);

  private pollOpts(signal: AbortSignal) {
    // A short cap: a server that is ACTIVE should not wait long for the next poll (makespan matters).
    return { signal, firstMs: this.o.pollFirstMs ?? 300, maxDelayMs: this.o.pollMaxDelayMs ?? 1_500 };
  }

  // --- cluster-wide resources ---

  async prepareCluster(ctx: StepContext): Promise<void> {
    await this.ensureSecurityGroup(ctx);
    if (this.o.serverGroupPolicy) await this.ensureServerGroup(ctx);
    if (!this.o.keyName && this.o.sshPublicKey) {
      const name = keypairName(ctx.clusterId);
      if (!(await getKeypair(this.s, name, ctx.signal))) await createKeypair(this.s, name, this.o.sshPublicKey, ctx.signal);
    }
  }

  /**
   * SSH and the catalog ports of the cluster's services from os_ingress_cidr, everything between
   * the cluster's own nodes (remote group = itself): not the original's every port open to the world.
   */
  private async ensureSecurityGroup(ctx: StepContext): Promise<string> {
    const tag = clusterTag(ctx.clusterId);
    const name = securityGroupName(ctx.clusterName, ctx.clusterId);
    let sg = (await listSecurityGroups(this.s, { tag }, ctx.signal))[0];
    if (!sg) {
      // Created by an attempt that died before tagging it: adopt it by its name.
      sg = (await listSecurityGroups(this.s, { name }, ctx.signal))[0] ?? (await createSecurityGroup(this.s, name, `Michman cluster ${ctx.clusterName} (${ctx.clusterId})`, ctx.signal));
      await addTag(this.s, 'security-groups', sg.id, tag, ctx.signal);
      ctx.emit({ level: 'info', phase: 'provision', message: `security group ${name} ready` });
    }
    const want = this.rules(ctx.plan, sg.id);
    const have = sg.security_group_rules ?? [];
    const same = (a: Omit<SecurityGroupRule, 'id'>, b: SecurityGroupRule) =>
      a.direction === b.direction &&
      a.ethertype === b.ethertype &&
      (a.protocol ?? null) === (b.protocol ?? null) &&
      (a.port_range_min ?? null) === (b.port_range_min ?? null) &&
      (a.port_range_max ?? null) === (b.port_range_max ?? null) &&
      (a.remote_ip_prefix ?? null) === (b.remote_ip_prefix ?? null) &&
      (a.remote_group_id ?? null) === (b.remote_group_id ?? null);
    // In parallel: each rule is one Neutron call of about half a second on a busy cloud.
    await Promise.all(want.filter((r) => !have.some((h) => same(r, h))).map((r) => createRule(this.s, sg.id, r, ctx.signal)));
    return sg.id;
  }

  private rules(plan: OperationPlan | undefined, selfId: string): Array<Omit<SecurityGroupRule, 'id'>> {
    const cidr = this.o.ingressCidr ?? '0.0.0.0/0';
    const ethertype = cidr.includes(':') ? 'IPv6' : 'IPv4';
    const ports = new Set<number>([22]);
    for (const s of plan?.services ?? []) {
      for (const p of s.ports ?? []) ports.add(p);
      if (s.accessPort > 0) ports.add(s.accessPort);
    }
    const out: Array<Omit<SecurityGroupRule, 'id'>> = [...ports]
      .sort((a, b) => a - b)
      .map((p) => ({ direction: 'ingress', ethertype, protocol: 'tcp', port_range_min: p, port_range_max: p, remote_ip_prefix: cidr, remote_group_id: null }));
    out.push({ direction: 'ingress', ethertype, protocol: 'icmp', port_range_min: null, port_range_max: null, remote_ip_prefix: cidr, remote_group_id: null });
    for (const et of ['IPv4', 'IPv6'] as const) {
      out.push({ direction: 'ingress', ethertype: et, protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: selfId });
    }
    return out;
  }

  private async ensureServerGroup(ctx: StepContext): Promise<string> {
    const name = serverGroupName(ctx.clusterId);
    const found = (await listServerGroups(this.s, ctx.signal)).find((g) => g.name === name);
    return (found ?? (await createServerGroup(this.s, name, this.o.serverGroupPolicy!, ctx.signal))).id;
  }

  private async securityGroupId(ctx: StepContext): Promise<string> {
    const sg = (await listSecurityGroups(this.s, { tag: clusterTag(ctx.clusterId) }, ctx.signal))[0];
    // A plan stored before prepareCluster existed never ran it: make the group now.
    return sg ? sg.id : this.ensureSecurityGroup(ctx);
  }

  // --- nodes ---

  async ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode> {
    const emit = (level: 'info' | 'warn' | 'error', message: string) => ctx.emit({ level, phase: 'provision', node: spec.name, message });
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.converge(ctx, spec, emit);
        } catch (err) {
          // A call the cloud did not answer in time may still have happened. Every part of
          // converge() first finds what exists, so looking again is safe; a busy cloud that
          // finishes the create late is then adopted rather than duplicated.
          if (attempt >= 3 || ctx.signal.aborted || !(err instanceof OpenStackError && err.status === 0)) throw err;
          emit('warn', `${err.message}; looking again (attempt ${attempt + 1} of 3)`);
          await sleep(5_000 * attempt, ctx.signal);
        }
      }
    } catch (err) {
      if (this.o.onFailure === 'delete' && !ctx.signal.aborted) {
        emit('warn', `removing what was created for ${spec.name} (os_on_failure: delete)`);
        await this.deleteNode({ ...ctx, signal: AbortSignal.timeout(120_000) }, { name: spec.name, providerId: spec.name }).catch(() => undefined);
      }
      throw err;
    }
  }

  private async converge(ctx: StepContext, spec: NodeSpec, emit: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<ProvisionedNode> {
    const tag = clusterTag(ctx.clusterId);
    {
      let server = (await listServers(this.s, { tag, name: spec.name }, ctx.signal))[0];
      if (server?.status === 'ERROR') {
        // A failed earlier attempt kept for inspection: replace it, keeping its port.
        emit('warn', `replacing ${spec.name}, left in ERROR by an earlier attempt (${server.fault?.message ?? 'no fault recorded'})`);
        await this.deleteServers(ctx, [server]);
        server = undefined;
      }
      const port = await this.ensurePort(ctx, spec.name);
      if (!server) {
        const [flavor, image] = await Promise.all([this.flavor(spec.flavor, ctx.signal), this.image(spec.image, ctx.signal)]);
        const groupId = this.o.serverGroupPolicy ? await this.ensureServerGroup(ctx) : undefined;
        emit('info', `creating server ${spec.name} (flavor ${flavor.name}, image ${image.name})`);
        const keyName = this.o.keyName ?? (this.o.sshPublicKey ? keypairName(ctx.clusterId) : undefined);
        const plan = ctx.plan?.cluster;
        const id = await createServer(
          this.s,
          {
            name: spec.name,
            imageRef: image.id,
            flavorRef: flavor.id,
            networks: [{ port: port.id }],
            ...(keyName ? { key_name: keyName } : {}),
            // The original's metadata (hostname, group, owner, cluster) plus ours.
            metadata: {
              hostname: spec.name,
              group: `${ctx.clusterName}_${spec.role === 'slave' ? 'slaves' : spec.role}`,
              cluster: ctx.clusterName,
              ...(plan?.ownerId ? { owner: plan.ownerId } : {}),
              [META_CLUSTER]: ctx.clusterId,
              [META_ROLE]: spec.role,
            },
            tags: [tag],
            groupId,
          },
          ctx.signal,
        );
        server = { id, name: spec.name, status: 'BUILD', metadata: {} };
      }
      server = await this.waitActive(ctx, server.id, spec.name);
      const fip = this.o.floatingIpPool ? await this.ensureFloatingIp(ctx, spec.name, port) : undefined;
      if (spec.role === 'storage' && (this.o.storageVolumeGb ?? 0) > 0) await this.ensureVolume(ctx, spec.name, server.id);
      const address = this.addressOf({ port, server, fip });
      if (!address) throw new Error(`server ${spec.name} has no IPv4 address`);
      emit('info', `${spec.name} is ACTIVE at ${address}`);
      return { name: spec.name, role: spec.role, address, providerId: server.id };
    }
  }

  private addressOf(r: NodeResources): string | undefined {
    return r.fip?.floating_ip_address ?? r.port.fixed_ips.find((i) => !i.ip_address.includes(':'))?.ip_address ?? fixedIpv4(r.server);
  }

  /** The node's port: found by name and tag, or adopted by name and description, or created. */
  private async ensurePort(ctx: StepContext, node: string): Promise<Port> {
    const tag = clusterTag(ctx.clusterId);
    const description = portDescription(ctx.clusterId);
    // One call for both: the node's name, then ours by tag, or by description if tagging was lost.
    const named = await listPorts(this.s, { name: node }, ctx.signal);
    const found = named.find((p) => (p.tags ?? []).includes(tag));
    if (found) return found;
    let port = named.find((p) => p.description === description);
    if (!port) {
      const [net, sg] = await Promise.all([this.net(ctx.signal), this.securityGroupId(ctx)]);
      port = await createPort(this.s, { network_id: net.id, name: node, description, security_groups: [sg] }, ctx.signal);
    }
    await addTag(this.s, 'ports', port.id, tag, ctx.signal);
    return port;
  }

  private async ensureFloatingIp(ctx: StepContext, node: string, port: Port): Promise<FloatingIp> {
    const tag = clusterTag(ctx.clusterId);
    // Ours: tagged with the cluster, or bound to the node's port (an allocation whose answer or
    // tagging was lost: created with port_id, so the port identifies it).
    const mine = (await listFloatingIps(this.s, {}, ctx.signal)).filter(
      (f) => f.port_id === port.id || ((f.tags ?? []).includes(tag) && f.description === node),
    );
    let fip = mine.find((f) => f.port_id === port.id) ?? mine[0];
    if (fip && !(fip.tags ?? []).includes(tag)) await addTag(this.s, 'floatingips', fip.id, tag, ctx.signal);
    if (fip && fip.port_id !== port.id) fip = await associateFloatingIp(this.s, fip.id, port.id, ctx.signal);
    if (!fip) {
      const pool = await this.pool(ctx.signal);
      fip = await allocateFloatingIp(this.s, { floating_network_id: pool.id, port_id: port.id, description: node }, ctx.signal);
      // Tagged right after: an attempt that dies in between leaves one untagged address, which the
      // next attempt cannot see; the description (node name) lets an operator find it.
      await addTag(this.s, 'floatingips', fip.id, tag, ctx.signal);
      ctx.emit({ level: 'info', phase: 'provision', node, message: `floating IP ${fip.floating_ip_address} for ${node}` });
    }
    return fip;
  }

  private async ensureVolume(ctx: StepContext, node: string, serverId: string): Promise<void> {
    const meta = { [META_CLUSTER]: ctx.clusterId, [META_NODE]: node };
    let vol = (await listVolumes(this.s, meta, ctx.signal))[0];
    if (!vol) vol = await createVolume(this.s, { name: `${node}-data`, size: this.o.storageVolumeGb!, metadata: meta }, ctx.signal);
    if ((vol.attachments ?? []).some((a) => a.server_id === serverId)) return;
    await poll(
      `volume ${vol.name}`,
      async () => {
        const v = await getVolume(this.s, vol!.id, ctx.signal);
        if (v?.status === 'error') throw new Error(`volume ${vol!.name} went to error`);
        return v?.status === 'available' ? v : undefined;
      },
      this.pollOpts(ctx.signal),
    );
    await attachVolume(this.s, serverId, vol.id, ctx.signal);
  }

  private async waitActive(ctx: StepContext, id: string, name: string): Promise<Server> {
    return poll(
      `server ${name} to become ACTIVE`,
      async () => {
        const s = await this.watch.server(clusterTag(ctx.clusterId), id, ctx.signal);
        if (!s) throw new Error(`server ${name} disappeared while booting`);
        if (s.status === 'ERROR') throw new Error(`server ${name} went to ERROR: ${s.fault?.message ?? 'Nova recorded no fault'}`);
        return s.status === ACTIVE ? s : undefined;
      },
      this.pollOpts(ctx.signal),
    );
  }

  async waitReachable(ctx: StepContext, node: ProvisionedNode): Promise<void> {
    const s = await getServer(this.s, node.providerId, ctx.signal);
    if (!s) throw new Error(`server ${node.name} is gone`);
    if (s.status !== ACTIVE) throw new Error(`server ${node.name} is ${s.status}${s.fault?.message ? `: ${s.fault.message}` : ''}`);
    if ((this.o.reachability ?? 'ssh') === 'active') {
      // Fake hypervisors and networks without routes to them: ACTIVE with its addresses is enough.
      const port = (await listPorts(this.s, { tag: clusterTag(ctx.clusterId), name: node.name }, ctx.signal))[0];
      if (!port || port.fixed_ips.length === 0) throw new Error(`server ${node.name} has no port with an address`);
      return;
    }
    const port = this.o.sshPort ?? 22;
    await poll(`SSH on ${node.name} (${node.address}:${port})`, async () => ((await portOpen(node.address, port, 5_000)) ? true : undefined), { ...this.pollOpts(ctx.signal), maxDelayMs: 5_000 });
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    const tag = clusterTag(ctx.clusterId);
    const [servers, ports, fips] = await Promise.all([
      listServers(this.s, { tag }, ctx.signal),
      listPorts(this.s, { tag }, ctx.signal),
      this.o.floatingIpPool ? listFloatingIps(this.s, { tag }, ctx.signal) : Promise.resolve([]),
    ]);
    return servers
      .filter((s) => s.status !== 'DELETED' && s.status !== 'SOFT_DELETED')
      .map((server) => {
        const port = ports.find((p) => p.name === server.name) ?? { id: '', name: server.name, network_id: '', fixed_ips: [] };
        const fip = fips.find((f) => f.port_id !== null && f.port_id === port.id);
        return {
          name: server.name,
          role: (server.metadata?.[META_ROLE] ?? 'master') as NodeRole,
          address: this.addressOf({ port, server, fip }) ?? '',
          providerId: server.id,
        };
      });
  }

  /** The engine passes the node name as providerId on delete: find everything by name and tag. */
  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name' | 'providerId'>): Promise<void> {
    const tag = clusterTag(ctx.clusterId);
    const servers = await listServers(this.s, { tag, name: node.name }, ctx.signal);
    await this.deleteServers(ctx, servers);
    const [fips, ports, vols] = await Promise.all([
      listFloatingIps(this.s, {}, ctx.signal),
      listPorts(this.s, { name: node.name }, ctx.signal).then((ps) => ps.filter((p) => (p.tags ?? []).includes(tag) || p.description === portDescription(ctx.clusterId))),
      listVolumes(this.s, { [META_CLUSTER]: ctx.clusterId, [META_NODE]: node.name }, ctx.signal).catch(() => []),
    ]);
    const portIds = new Set(ports.map((p) => p.id));
    for (const f of fips) {
      if (((f.tags ?? []).includes(tag) && f.description === node.name) || (f.port_id !== null && portIds.has(f.port_id))) await releaseFloatingIp(this.s, f.id, ctx.signal);
    }
    for (const p of ports) await deletePort(this.s, p.id, ctx.signal);
    for (const v of vols) await this.deleteVolumeWhenFree(ctx, v.id);
    if (servers.length > 0) ctx.emit({ level: 'info', phase: 'deprovision', node: node.name, message: `${node.name} deleted` });
  }

  private async deleteServers(ctx: StepContext, servers: Server[]): Promise<void> {
    await Promise.all(servers.map((s) => deleteServer(this.s, s.id, ctx.signal)));
    await Promise.all(
      servers.map((s) =>
        poll(
          `server ${s.name} to be deleted`,
          async () => {
            // No early failure on ERROR here: a server that failed to boot keeps its boot fault
            // while it is being deleted. The phase deadline bounds the wait.
            const now = await this.watch.server(clusterTag(ctx.clusterId), s.id, ctx.signal);
            return !now || now.status === 'DELETED' ? true : undefined;
          },
          this.pollOpts(ctx.signal),
        ),
      ),
    );
  }

  /** A volume stays in-use for a moment after its server is gone. */
  private async deleteVolumeWhenFree(ctx: StepContext, id: string): Promise<void> {
    await poll(
      'volume to detach',
      async () => {
        const v = await getVolume(this.s, id, ctx.signal);
        return !v || v.status !== 'in-use' && v.status !== 'detaching' ? true : undefined;
      },
      { ...this.pollOpts(ctx.signal), maxMs: 120_000 },
    );
    await deleteVolume(this.s, id, ctx.signal);
  }

  async cleanupCluster(ctx: StepContext): Promise<void> {
    await this.removeCluster(ctx.clusterId, ctx.signal, ctx.clusterName, ctx.emit);
  }

  // --- quotas ---

  async checkQuota(plan: OperationPlan, signal: AbortSignal = AbortSignal.timeout(60_000)): Promise<QuotaReport> {
    return checkQuota(this.s, plan, {
      flavor: (name) => this.flavor(name, signal),
      floatingIps: this.o.floatingIpPool !== undefined,
      storageVolumeGb: this.o.storageVolumeGb ?? 0,
      signal,
    });
  }

  // --- what is tagged: delete and the janitor ---

  /** Everything tagged with the cluster (or named after it), as readable `kind name (id)` strings. */
  async taggedResources(clusterId: string, signal: AbortSignal): Promise<string[]> {
    return (await taggedInventory(this.s, signal)).get(clusterId) ?? [];
  }

  /** Clusters that own something in the project, with what they own (for the janitor). */
  async listTaggedClusters(signal: AbortSignal = AbortSignal.timeout(120_000)): Promise<TaggedCluster[]> {
    return [...(await taggedInventory(this.s, signal))].map(([clusterId, resources]) => ({ clusterId, resources }));
  }

  /**
   * Removes everything the cluster owns: servers (waiting until they are gone), floating IPs,
   * ports, volumes, the security group, the server group, the key pair; then checks that nothing is
   * left and fails naming what is.
   */
  async removeCluster(clusterId: string, signal: AbortSignal = AbortSignal.timeout(600_000), clusterName?: string, emit?: StepContext['emit']): Promise<void> {
    const tag = clusterTag(clusterId);
    const ctx: StepContext = { clusterId, clusterName: clusterName ?? '', signal, emit: emit ?? (() => undefined) };
    await this.deleteServers(ctx, await listServers(this.s, { tag }, signal));
    const ports = (await listAllPorts(this.s, signal)).filter((p) => (p.tags ?? []).includes(tag) || p.description === portDescription(clusterId));
    const portIds = new Set(ports.map((p) => p.id));
    for (const f of await listFloatingIps(this.s, {}, signal)) {
      if ((f.tags ?? []).includes(tag) || (f.port_id !== null && portIds.has(f.port_id))) await releaseFloatingIp(this.s, f.id, signal);
    }
    for (const p of ports) await deletePort(this.s, p.id, signal);
    for (const v of await listVolumes(this.s, { [META_CLUSTER]: clusterId }, signal).catch(() => [])) await this.deleteVolumeWhenFree(ctx, v.id);
    const sgs = (await listSecurityGroups(this.s, {}, signal)).filter((g) => (g.tags ?? []).includes(tag) || clusterOfName(g.name) === clusterId);
    for (const g of sgs) {
      // Neutron refuses while a port still uses the group; ports of deleted servers go a moment later.
      for (let i = 0; ; i++) {
        try {
          await deleteSecurityGroup(this.s, g.id, signal);
          break;
        } catch (err) {
          if (i >= 10 || !(err as { conflict?: boolean }).conflict) throw err;
          await sleep(1000, signal);
        }
      }
    }
    for (const g of (await listServerGroups(this.s, signal)).filter((x) => x.name === serverGroupName(clusterId))) await deleteServerGroup(this.s, g.id, signal);
    await deleteKeypair(this.s, keypairName(clusterId), signal);
    const left = await this.taggedResources(clusterId, signal);
    if (left.length > 0) throw new Error(`still tagged with cluster ${clusterId} after delete: ${left.join(', ')}`);
    ctx.emit({ level: 'info', phase: 'deprovision', message: 'no cloud resource of the cluster is left' });
  }
}
