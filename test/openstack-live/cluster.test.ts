// Against the real OpenStack testbed (skipped unless MICHMAN_TEST_OS_CLOUDS names its clouds.yaml;
// run with `npm run test:openstack`), through the API, the store and `michman worker` processes:
// - 1 master, 2 slaves and a storage node with floating IPs reach ACTIVE (no-op deployer: the fake
//   hypervisor's servers run nothing); MasterIP is the master's floating IP; service URLs follow the
//   original rule; every server, port, floating IP and the security group carry the cluster's tag;
//   delete leaves nothing tagged;
// - a worker SIGKILLed mid-provisioning is replaced by another that finishes the create without a
//   duplicate server.
// Times are printed, not asserted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { loadBuiltinCatalogIfEmpty } from '../../src/catalog.js';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Api } from '../helpers/api.js';
import { testbed, haveTestbed, liveProvider, liveSession, LiveWorker, until } from './testbed.js';
import { listServers } from '../../src/providers/openstack/compute/servers.js';
import { listPorts } from '../../src/providers/openstack/network/ports.js';
import { listFloatingIps } from '../../src/providers/openstack/network/floatingIps.js';
import { listSecurityGroups } from '../../src/providers/openstack/network/securityGroups.js';
import { clusterTag } from '../../src/providers/openstack/tags.js';
import { lacks } from '../helpers/requirements.js';

const PROJECT = 'live';
const WAIT = 6 * 60_000;
const LEASE = 3;

describe.skipIf(lacks('the OpenStack testbed (MICHMAN_TEST_OS_CLOUDS, from scripts/openstack-testbed.sh up)', haveTestbed))('clusters on the real OpenStack testbed', () => {
  let opened: OpenedStore;
  let app: FastifyInstance;
  let api: Api;
  let dataDir: string;
  const workers: LiveWorker[] = [];
  const created: string[] = [];
  const provider = liveProvider();
  const session = liveSession();
  const times: Record<string, string> = {};

  const startWorker = async () => {
    const w = await LiveWorker.start({ storage: 'sqlite', databaseUrl: opened.url, dataDir, leaseSeconds: LEASE });
    workers.push(w);
    return w;
  };
  const stderr = () => workers.map((w) => `[${w.id}] ${w.stderr}`).join('\n');
  const status = async (name: string) => (await api.get(`/projects/${PROJECT}/clusters/${name}/status`)).data as string;
  const waitActive = async (name: string, id: string) =>
    until(
      `${name} ACTIVE`,
      async () => {
        const s = await status(name);
        if (s === 'ACTIVE') return true;
        const op = await opened.store.operations.latest(id, 'create');
        if (op?.status === 'failed' || s === 'FAILED') throw new Error(`${name} failed: ${JSON.stringify(op?.error)}\n${stderr()}`);
        return undefined;
      },
      WAIT,
    );
  const deleteAndCheck = async (name: string, id: string) => {
    const t = Date.now();
    const r = await api.delete(`/projects/${PROJECT}/clusters/${name}`);
    expect(r.status, r.raw).toBeLessThan(300);
    await until(`${name} deleted`, async () => ((await api.get(`/projects/${PROJECT}/clusters/${name}`)).status === 404 ? true : undefined), WAIT);
    times[`delete ${name}`] = `${((Date.now() - t) / 1000).toFixed(1)} s`;
    expect(await provider.taggedResources(id, AbortSignal.timeout(60_000))).toEqual([]);
  };

  beforeAll(async () => {
    opened = await backends('michman_live')[0]!.open();
    await loadBuiltinCatalogIfEmpty(opened.store);
    dataDir = mkdtempSync(join(tmpdir(), 'michman-live-'));
    app = await buildServer({ store: opened.store, logger: false });
    api = new Api(app, opened.store);
    const setup: Array<[string, unknown]> = [
      ['/images', { Name: testbed.image, AnsibleUser: 'cirros', CloudImageID: process.env.MICHMAN_TEST_OS_IMAGE_ID ?? '00000000-0000-4000-8000-000000000000' }],
      ['/flavors', { Name: testbed.flavor, VCPUs: 1, RAM: 512, Disk: 1 }],
      [
        '/projects',
        {
          DisplayName: PROJECT,
          GroupID: 'live',
          Description: 'testbed',
          DefaultImage: testbed.image,
          DefaultMasterFlavor: testbed.flavor,
          DefaultSlavesFlavor: testbed.flavor,
          DefaultStorageFlavor: testbed.flavor,
          DefaultMonitoringFlavor: testbed.flavor,
        },
      ],
    ];
    for (const [url, body] of setup) {
      const r = await api.post(url, body);
      expect(r.status, r.raw).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) await w.kill();
    // Whatever a failed test left on the cloud goes.
    for (const id of created) await provider.removeCluster(id, AbortSignal.timeout(300_000)).catch((e: Error) => console.error(`cleanup of ${id}: ${e.message}`));
    await app?.close();
    await opened?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    console.log(`[openstack-live] times: ${JSON.stringify(times, null, 1)}`);
  }, WAIT);

  it("the quota report reads the project's real limits and usage", async () => {
    const r = await api.post(`/projects/${PROJECT}/clusters?dryRun=true`, { DisplayName: 'dry', NSlaves: 2, Services: [{ Type: 'jupyter' }, { Type: 'postgresql' }] });
    expect(r.status, r.raw).toBe(200);
    const report = await provider.checkQuota(r.data.Plan, AbortSignal.timeout(300_000)); // a loaded testbed answers slowly
    const by = Object.fromEntries(report.items.map((i) => [i.resource, i]));
    expect(by.instances).toMatchObject({ need: 4 });
    expect(by.floating_ips).toMatchObject({ need: 4 });
    expect(by.security_groups).toMatchObject({ need: 1 });
    expect(typeof by.cores!.used).toBe('number');
    times['quota report'] = report.items.map((i) => `${i.resource} ${i.need}/${i.available ?? 'unlimited'}`).join(', ');
  }, WAIT);

  it('1 master, 2 slaves and a storage node with floating IPs reach ACTIVE; all tagged; delete leaves nothing', async () => {
    await startWorker();
    const t0 = Date.now();
    const r = await api.post(`/projects/${PROJECT}/clusters`, { DisplayName: 'live1', NSlaves: 2, Services: [{ Type: 'jupyter' }, { Type: 'postgresql' }] });
    expect(r.status, r.raw).toBe(201);
    const id = r.data.ID as string;
    created.push(id);
    await waitActive('live1-live', id);
    times['create live1 (4 nodes) to ACTIVE'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;

    const tag = clusterTag(id);
    const signal = AbortSignal.timeout(60_000);
    const [servers, ports, fips, sgs] = await Promise.all([
      listServers(session, { tag }, signal),
      listPorts(session, { tag }, signal),
      listFloatingIps(session, { tag }, signal),
      listSecurityGroups(session, { tag }, signal),
    ]);
    const names = ['live1-live-master', 'live1-live-slave-1', 'live1-live-slave-2', 'live1-live-storage'];
    expect(servers.map((s) => s.name).sort()).toEqual(names);
    for (const s of servers) expect(s.metadata).toMatchObject({ michman_cluster: id, cluster: 'live1-live', hostname: s.name });
    expect(ports.map((p) => p.name).sort()).toEqual(names);
    expect(fips).toHaveLength(4);
    expect(sgs).toHaveLength(1);
    expect(sgs[0]!.name).toContain(id);
    for (const p of ports) expect(p.security_groups).toEqual([sgs[0]!.id]);
    const fipOf = (node: string) => fips.find((f) => f.port_id === ports.find((p) => p.name === node)!.id)!.floating_ip_address;

    const cluster = (await api.get(`/projects/${PROJECT}/clusters/live1-live`)).data;
    expect(cluster.EntityStatus).toBe('ACTIVE');
    expect(cluster.MasterIP).toBe(fipOf('live1-live-master'));
    const url = (type: string) => (cluster.Services as Array<{ Type: string; URL: string }>).find((s) => s.Type === type)!.URL;
    expect(url('jupyter')).toBe(`${cluster.MasterIP}:8888`);
    expect(url('postgresql')).toBe(`${fipOf('live1-live-storage')}:5432`);

    await deleteAndCheck('live1-live', id);
  }, 2 * WAIT);

  it('a worker killed mid-provisioning: another finishes the create with no duplicate server', async () => {
    for (const w of workers.splice(0)) await w.kill();
    const a = await startWorker();
    const t0 = Date.now();
    const r = await api.post(`/projects/${PROJECT}/clusters`, { DisplayName: 'live2', NSlaves: 2, Services: [{ Type: 'jupyter' }, { Type: 'postgresql' }] });
    expect(r.status, r.raw).toBe(201);
    const id = r.data.ID as string;
    created.push(id);
    const tag = clusterTag(id);
    // Killed as soon as Nova has a server of the cluster: mid-provisioning, with creates in flight.
    const atKill = await until('a server of live2 in Nova', async () => {
      const s = await listServers(session, { tag });
      return s.length > 0 ? s : undefined;
    }, WAIT, 100);
    await a.kill('SIGKILL');
    const op = await opened.store.operations.latest(id, 'create');
    times['worker A killed after'] = `${((Date.now() - t0) / 1000).toFixed(1)} s with ${atKill.length} server(s) in Nova (${atKill.map((s) => s.status).join(', ')}), steps done: ${op!.steps.filter((s) => s.status === 'done').map((s) => s.name).join(', ') || 'none'}`;
    expect(op!.status).toBe('running');

    const b = await startWorker();
    await waitActive('live2-live', id);
    times['create live2 to ACTIVE across the kill'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const after = await opened.store.operations.latest(id, 'create');
    expect(after).toMatchObject({ status: 'succeeded', attempt: 2, leaseOwner: b.id });
    const servers = await listServers(session, { tag });
    expect(servers.map((s) => s.name).sort()).toEqual(['live2-live-master', 'live2-live-slave-1', 'live2-live-slave-2', 'live2-live-storage']);
    // Every server that existed at the kill is still the one in use: found, not recreated.
    for (const s of atKill) expect(servers.find((x) => x.name === s.name)!.id).toBe(s.id);
    expect((await listPorts(session, { tag })).length).toBe(4);
    expect((await listFloatingIps(session, { tag })).length).toBe(4);

    await deleteAndCheck('live2-live', id);
  }, 2 * WAIT);
});
