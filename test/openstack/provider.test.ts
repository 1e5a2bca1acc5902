// The OpenStack provider against the fake cloud: a cluster's nodes created in parallel with their
// tags, security group and floating IPs; a retried step finds what exists; a server in ERROR is
// reported with Nova's fault and replaced on retry (or removed with os_on_failure: delete); quota
// refusals reach the user; delete leaves nothing tagged; no secret in events or errors.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { createServer as createTcpServer, type Server as TcpServer, type AddressInfo } from 'node:net';
import { FakeOpenStack } from './fakeOpenstack.js';
import { providerOn, planOf, ctxOf, specsOf } from './helpers.js';
import type { OpenStackProvider } from '../../src/providers/openstack/provider.js';
import type { ProvisionedNode } from '../../src/providers/types.js';

let fake: FakeOpenStack;

beforeAll(async () => {
  fake = await new FakeOpenStack().start();
});
afterAll(async () => fake.stop());
beforeEach(() => {
  fake.faults = [];
  fake.bootErrors.clear();
  fake.limits.instances = 100;
  fake.fixedPrefix = '10.0';
});

async function create(p: OpenStackProvider, ctx: ReturnType<typeof ctxOf>): Promise<ProvisionedNode[]> {
  await p.prepareCluster(ctx);
  return Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
}

async function destroy(p: OpenStackProvider, ctx: ReturnType<typeof ctxOf>) {
  await Promise.all(ctx.plan!.nodes.map((n) => p.deleteNode(ctx, { name: n.name, providerId: n.name })));
  await p.cleanupCluster(ctx);
}

describe('OpenStack provider on a fake cloud', () => {
  it('creates master, slaves and storage in parallel, tagged, behind floating IPs; delete leaves nothing', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c1-proj'));
    const tag = `michman-cluster-${ctx.clusterId}`;
    const nodes = await create(p, ctx);
    expect(nodes.map((n) => n.name)).toEqual(['c1-proj-master', 'c1-proj-slave-1', 'c1-proj-slave-2', 'c1-proj-storage']);
    // The address is the floating IP (Nova's cached addresses do not show it).
    for (const n of nodes) {
      const fip = [...fake.fips.values()].find((f) => f.floating_ip_address === n.address)!;
      expect(fip.tags).toContain(tag);
      expect(fake.ports.get(fip.port_id!)!.name).toBe(n.name);
    }
    const servers = fake.live().filter((s) => s.tags.includes(tag));
    expect(servers).toHaveLength(4);
    for (const s of servers) {
      expect(s.metadata).toMatchObject({ michman_cluster: ctx.clusterId, cluster: 'c1-proj', hostname: s.name });
      expect(fake.ports.get(s.portId)!.tags).toContain(tag);
    }
    expect(servers.find((s) => s.name === 'c1-proj-slave-1')!.metadata.group).toBe('c1-proj_slaves');
    // The servers were created before any of them was ACTIVE: in parallel.
    const creates = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/servers'));
    expect(creates).toHaveLength(4);

    // One security group, named with the cluster ID: SSH and the catalog ports from anywhere,
    // everything from the cluster's own nodes, nothing else open to the world.
    const sg = [...fake.sgs.values()].find((g) => g.tags.includes(tag))!;
    expect(sg.name).toBe(`${ctx.clusterName}-${ctx.clusterId}`);
    const ingress = sg.rules.filter((r) => r.direction === 'ingress');
    const world = ingress.filter((r) => r.remote_ip_prefix === '0.0.0.0/0');
    expect(world.filter((r) => r.protocol === 'tcp').map((r) => r.port_range_min).sort((a, b) => a! - b!)).toEqual([22, 5432, 7077, 8080]);
    expect(world.every((r) => r.protocol !== null && (r.protocol === 'icmp' || r.port_range_min === r.port_range_max))).toBe(true);
    expect(ingress.filter((r) => r.remote_group_id === sg.id)).toHaveLength(2);
    for (const s of servers) expect(fake.ports.get(s.portId)!.security_groups).toEqual([sg.id]);

    for (const n of nodes) await p.waitReachable(ctx, n);
    expect((await p.listNodes(ctx)).map((n) => [n.name, n.role, n.address]).sort()).toEqual(nodes.map((n) => [n.name, n.role, n.address]).sort());

    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
    expect(await p.listNodes(ctx)).toEqual([]);
    // Deleting again is harmless.
    await destroy(p, ctx);
  });

  it('booting servers are watched through shared list calls, not a GET per server and poll', async () => {
    // Each GET /servers/{id} costs the cloud Neutron lookups too: with 12 servers booting for a
    // while, per-server polling would send about 12 GETs per round.
    fake.bootMs = 600;
    try {
      const p = providerOn(fake, { pollFirstMs: 20, pollMaxDelayMs: 40 });
      const ctx = ctxOf(planOf('watch-proj', 11, false));
      const before = fake.requests.length;
      const nodes = await create(p, ctx);
      expect(nodes).toHaveLength(12);
      const during = fake.requests.slice(before).filter((r) => r.method === 'GET');
      const gets = during.filter((r) => /\/servers\/[0-9a-f-]{36}$/.test(r.path)).length;
      const lists = during.filter((r) => r.path.includes('/servers/detail?tags=') && !r.path.includes('name=')).length;
      // About 600 ms of booting polled every 20-40 ms: a GET per server would be hundreds.
      expect(gets).toBeLessThanOrEqual(12);
      expect(lists).toBeGreaterThanOrEqual(2);
      expect(lists).toBeLessThan(30);
    } finally {
      fake.bootMs = 30;
    }
  });

  it('a retried step finds its server, port, floating IP and group: no duplicate', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c2-proj', 1, false));
    const first = await create(p, ctx);
    const again = await create(p, ctx);
    expect(again).toEqual(first);
    // A fresh provider (another worker) also finds them.
    const third = await create(providerOn(fake), ctx);
    expect(third).toEqual(first);
    expect(fake.serverCreates.get('c2-proj-master')).toBe(1);
    expect(fake.serverCreates.get('c2-proj-slave-1')).toBe(1);
    expect([...fake.ports.values()].filter((x) => x.name === 'c2-proj-master')).toHaveLength(1);
    expect([...fake.sgs.values()].filter((g) => g.name.endsWith(ctx.clusterId))).toHaveLength(1);
    expect([...fake.fips.values()].filter((f) => f.tags.includes(`michman-cluster-${ctx.clusterId}`))).toHaveLength(2);
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('without a floating IP pool the address is the fixed IP', async () => {
    const p = providerOn(fake, { floatingIpPool: undefined });
    const ctx = ctxOf(planOf('c3-proj', 0, false));
    const [master] = await create(p, ctx);
    expect(master!.address).toMatch(/^10\.0\./);
    expect([...fake.fips.values()].filter((f) => f.tags.includes(`michman-cluster-${ctx.clusterId}`))).toHaveLength(0);
    await destroy(p, ctx);
  });

  it('a server in ERROR is reported with the fault; kept for the retry, which replaces it', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c4-proj', 0, false));
    await p.prepareCluster(ctx);
    fake.bootErrors.set('c4-proj-master', 'No valid host was found. There are not enough hosts available.');
    const spec = specsOf(ctx.plan!)[0]!;
    await expect(p.ensureNode(ctx, spec)).rejects.toThrow('server c4-proj-master went to ERROR: No valid host was found. There are not enough hosts available.');
    expect(fake.live().filter((s) => s.name === 'c4-proj-master').map((s) => s.status)).toEqual(['ERROR']);
    fake.bootErrors.clear();
    const node = await p.ensureNode(ctx, spec);
    expect(fake.live().filter((s) => s.name === 'c4-proj-master').map((s) => [s.id, s.status])).toEqual([[node.providerId, 'ACTIVE']]);
    expect([...fake.ports.values()].filter((x) => x.name === 'c4-proj-master')).toHaveLength(1);
    expect(ctx.events.some((e) => e.level === 'warn' && e.message.includes('replacing c4-proj-master'))).toBe(true);
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('os_on_failure: delete removes what the failed node had', async () => {
    const p = providerOn(fake, { onFailure: 'delete' });
    const ctx = ctxOf(planOf('c5-proj', 0, false));
    await p.prepareCluster(ctx);
    fake.bootErrors.set('c5-proj-master', 'Build of instance aborted: fake');
    await expect(p.ensureNode(ctx, specsOf(ctx.plan!)[0]!)).rejects.toThrow(/went to ERROR: Build of instance aborted: fake/);
    // Only the security group (cluster-wide) is left; no server, port or floating IP.
    expect(fake.taggedWith(ctx.clusterId)).toEqual([`sg ${ctx.clusterName}-${ctx.clusterId}`]);
    await p.cleanupCluster(ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('quota exceeded: Nova refusal reaches the user; the quota check names the resource', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c6-proj', 2, false));
    const report = await p.checkQuota(ctx.plan!);
    expect(report.ok).toBe(true);
    expect(report.items.find((i) => i.resource === 'cores')).toMatchObject({ need: 4, short: false });
    expect(report.items.find((i) => i.resource === 'ram_mb')).toMatchObject({ need: 2048 + 512 * 2 });
    fake.limits.instances = fake.live().length + 2;
    const short = await p.checkQuota(ctx.plan!);
    expect(short.ok).toBe(false);
    expect(short.items.filter((i) => i.short).map((i) => i.resource)).toEqual(['instances']);
    expect(short.items.find((i) => i.resource === 'instances')).toMatchObject({ need: 3, available: 2 });
    const results = await (async () => {
      await p.prepareCluster(ctx);
      return Promise.allSettled(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
    })();
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.reason.message)).toMatch(/HTTP 403: Quota exceeded for instances: Requested 1, but already used \d+ of \d+ instances/);
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('a token revoked in the middle of a create: the nodes still come up', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c7-proj', 2, false));
    await p.prepareCluster(ctx);
    const nodes = Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
    await new Promise((r) => setTimeout(r, 15));
    fake.revokeAllTokens();
    expect(await nodes).toHaveLength(3);
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('transient 5xx and resets during a create are absorbed', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c8-proj', 1, false));
    fake.faults = [
      { method: 'GET', path: /^\/compute\/servers\/[^/]+$/, status: 502, times: 2 },
      { method: 'GET', path: /^\/network\/floatingips/, status: 0, times: 1 },
      { method: 'POST', path: /^\/network\/ports$/, status: 503, times: 1 },
    ];
    expect(await create(p, ctx)).toHaveLength(2);
    expect(fake.faults.every((f) => f.times === 0)).toBe(true);
    await destroy(p, ctx);
  });

  it('creates the cloud answers too late are adopted on the next look, not duplicated or leaked', async () => {
    const p = providerOn(fake, {}, 1_500);
    const ctx = ctxOf(planOf('c12-proj', 0, false), undefined, undefined, AbortSignal.timeout(60_000));
    await p.prepareCluster(ctx);
    // The port and the floating IP are created by the cloud after the client gave up waiting.
    fake.faults = [
      { method: 'POST', path: /^\/network\/ports$/, delayMs: 4_000, times: 1 },
      { method: 'POST', path: /^\/network\/floatingips$/, delayMs: 4_000, times: 1 },
    ];
    const [master] = await Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
    expect(ctx.events.filter((e) => e.message.includes('looking again')).length).toBeGreaterThanOrEqual(2);
    const ports = [...fake.ports.values()].filter((x) => x.name === 'c12-proj-master');
    expect(ports).toHaveLength(1);
    expect(ports[0]!.tags).toContain(`michman-cluster-${ctx.clusterId}`);
    const fips = [...fake.fips.values()].filter((f) => f.port_id === ports[0]!.id);
    expect(fips).toHaveLength(1);
    expect(fips[0]!.tags).toContain(`michman-cluster-${ctx.clusterId}`);
    expect(master!.address).toBe(fips[0]!.floating_ip_address);
    expect(fake.serverCreates.get('c12-proj-master')).toBe(1);
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
    expect([...fake.ports.values()].filter((x) => x.name === 'c12-proj-master')).toHaveLength(0);
  }, 60_000);

  it('delete finds a port and a floating IP whose tagging was lost', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c13-proj', 0, false));
    await create(p, ctx);
    const tag = `michman-cluster-${ctx.clusterId}`;
    for (const x of [...fake.ports.values(), ...fake.fips.values()]) x.tags = x.tags.filter((t) => t !== tag);
    expect((await p.listTaggedClusters()).find((c) => c.clusterId === ctx.clusterId)!.resources.some((r) => r.startsWith('port c13-proj-master'))).toBe(true);
    await p.removeCluster(ctx.clusterId);
    expect([...fake.ports.values()].filter((x) => x.name === 'c13-proj-master')).toHaveLength(0);
    expect([...fake.fips.values()].filter((f) => f.description === 'c13-proj-master')).toHaveLength(0);
  });

  it('a data volume for the storage node, a key pair and a server group per cluster; all removed', async () => {
    const p = providerOn(fake, { storageVolumeGb: 10, keyName: undefined, sshPublicKey: 'ssh-ed25519 AAAA test', serverGroupPolicy: 'soft-anti-affinity' });
    const ctx = ctxOf(planOf('c9-proj', 1, true));
    await create(p, ctx);
    const vols = [...fake.volumes.values()].filter((v) => v.metadata.michman_cluster === ctx.clusterId);
    expect(vols).toHaveLength(1);
    expect(vols[0]).toMatchObject({ size: 10, status: 'in-use', name: 'c9-proj-storage-data' });
    expect(fake.keypairs.has(`michman-${ctx.clusterId}`)).toBe(true);
    const group = [...fake.serverGroups.values()].find((g) => g.name === `michman-${ctx.clusterId}`)!;
    expect(group.policy).toBe('soft-anti-affinity');
    expect(fake.live().filter((s) => s.tags.includes(`michman-cluster-${ctx.clusterId}`)).every((s) => s.group === group.id && s.keyName === `michman-${ctx.clusterId}`)).toBe(true);
    expect((await p.checkQuota(ctx.plan!)).items.map((i) => i.resource)).toContain('volume_gb');
    await destroy(p, ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('SSH reachability: waits for port 22 (here a loopback listener) to answer', async () => {
    fake.fixedPrefix = '127.0';
    const listener: TcpServer = createTcpServer((s) => s.end());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    try {
      const p = providerOn(fake, { floatingIpPool: undefined, reachability: 'ssh', sshPort: (listener.address() as AddressInfo).port });
      const ctx = ctxOf(planOf('c10-proj', 0, false));
      const [master] = await create(p, ctx);
      await p.waitReachable(ctx, { ...master!, address: '127.0.0.1' });
      const short = { ...ctx, signal: AbortSignal.timeout(300) };
      await expect(p.waitReachable(short, { ...master!, address: '127.0.0.1' }).then(() => 'ok')).resolves.toBe('ok');
      const closed = providerOn(fake, { floatingIpPool: undefined, reachability: 'ssh', sshPort: 1 });
      await expect(closed.waitReachable(short, { ...master!, address: '127.0.0.1' })).rejects.toBeDefined();
      await destroy(p, ctx);
    } finally {
      listener.close();
    }
  });

  it('no secret in any event or error', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('c11-proj', 1, false));
    fake.bootErrors.set('c11-proj-slave-1', 'boom');
    const errors: string[] = [];
    await create(p, ctx).catch((e: Error) => errors.push(e.message));
    fake.revokeAllTokens();
    await destroy(p, ctx);
    const text = JSON.stringify(ctx.events) + errors.join('\n');
    for (const s of fake.secrets) expect(text).not.toContain(s);
    for (const t of fake.tokens.keys()) expect(text).not.toContain(t);
    expect(errors.join()).toContain('boom');
  });
});
