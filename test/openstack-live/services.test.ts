// Services on OpenStack servers, end to end, with the real Ansible deployer: Nova (fake driver)
// reports the servers ACTIVE and the test hypervisor (test/openstack/hypervisor.ts) boots an nspawn
// machine for each at its Neutron port's fixed address, with the key pair's key for the image's
// user `debian` (root cannot log in). Michman (`serve`, provider openstack, os_reachability ssh)
// knows nothing of that. The testbed routes no floating IPs (no L3 agent), so the cluster is
// reached at its fixed addresses: its network is one of the test's own, 10.214.30.0/24, whose
// gateway address is the hypervisor's bridge on this host.
// - 1 master + 2 slaves (+ the storage node the databases ask for) with Redis, PostgreSQL and
//   Slurm reach ACTIVE; Ansible logged in as debian with sudo; each service answers its protocol;
//   `srun -N2 hostname` prints both slaves;
// - every server's host key was pinned at first contact; a slave whose key changes makes the next
//   operation fail naming it (and the health check too), and the retry passes once it is back;
// - delete removes the servers and the machines, and the janitor finds nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { serve, type Running } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { fromCloudsYaml } from '../../src/providers/openstack/credentials.js';
import { Session } from '../../src/providers/openstack/identity/session.js';
import { DEFAULT_HTTP } from '../../src/providers/openstack/http.js';
import { NspawnProvider } from '../../src/providers/nspawn/provider.js';
import { runJanitor, storeDirectory } from '../../src/engine/janitor.js';
import { redisCommands } from '../../src/deploy/local/net.js';
import { sshOptions } from '../../src/host/ssh.js';
import { normalizeKey } from '../../src/domain/hostKeys.js';
import { META_CLUSTER } from '../../src/providers/openstack/tags.js';
import { TestHypervisor } from '../openstack/hypervisor.js';
import { testbed, haveTestbed, liveProvider, liveSession, CALL_TIMEOUT_S, until } from './testbed.js';
import { apiCall, settle as settleOf, allEvents } from '../nspawn/helpers.js';
import { freePort } from '../helpers/ports.js';
import { lacks } from '../helpers/requirements.js';

const CIDR = '10.214.30.0/24';
const NET_NAME = 'michman-e2e-hypervisor';
const PROJECT = 'os';
const CLUSTER = `hv-${PROJECT}`;
const REDIS_PW = 'os-redis-Pw-51';
const PG_PW = 'os-pg-Pw-52';
const IMAGES_DIR = process.env.MICHMAN_NSPAWN_IMAGES_DIR ?? '/var/tmp/michman-nspawn-images';
const APT_CACHE_DIR = process.env.MICHMAN_TESTBED_APT_CACHE_DIR ?? '/var/tmp/michman-testbed-apt-cache';

const missing = (() => {
  if (!haveTestbed) return 'the OpenStack testbed (MICHMAN_TEST_OS_CLOUDS, from scripts/openstack-testbed.sh up)';
  if (process.getuid?.() !== 0) return 'root (the test hypervisor starts nspawn machines)';
  for (const p of ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap', '/usr/sbin/apt-cacher-ng', '/usr/bin/ansible-playbook', '/usr/bin/ssh-keyscan', '/usr/bin/nsenter']) {
    if (!existsSync(p)) return p;
  }
  if (!process.env.MICHMAN_TEST_OS_KEYPAIR_PRIVATE_KEY) return 'MICHMAN_TEST_OS_KEYPAIR_PRIVATE_KEY (testbed.env)';
  return undefined;
})();

describe.skipIf(lacks(`services on OpenStack servers: ${missing}`, missing === undefined))('Redis, PostgreSQL and Slurm on OpenStack servers, installed by Ansible', () => {
  let dir = '';
  let running: Running | undefined;
  let hv: TestHypervisor | undefined;
  let base = '';
  let keyFile = '';
  let networkId = '';
  let clusterId = '';
  const call = apiCall(() => base);
  const settle = (minutes: number) => settleOf(call, PROJECT, CLUSTER, minutes);
  const user = liveSession();
  const admin = new Session(async () => fromCloudsYaml(testbed.clouds, process.env.MICHMAN_TEST_OS_CLOUD_ADMIN ?? 'testbed-admin'), { ...DEFAULT_HTTP, timeoutMs: CALL_TIMEOUT_S * 1000 });
  const provider = liveProvider({ network: NET_NAME, floatingIpPool: undefined, reachability: 'ssh' });
  const times: Record<string, string> = {};
  const log = (l: string) => console.log(l);

  const sshAs = (login: string, address: string, command: string) =>
    execFileSync('ssh', [...sshOptions(keyFile), `${login}@${address}`, command], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const machineOf = (suffix: string) => {
    const m = hv!.list().find((x) => x.name === `${CLUSTER}${suffix}`);
    if (!m) throw new Error(`no machine for ${CLUSTER}${suffix}: ${hv!.list().map((x) => x.name).join(', ')}`);
    return m;
  };

  /** The test's own Neutron network: a subnet in our private range, gateway = the hypervisor's bridge. */
  async function ensureNetwork(): Promise<string> {
    const nets = await user.requestAll<{ id: string; name: string }>('network', `/networks?name=${NET_NAME}`, 'networks');
    let id = nets[0]?.id;
    if (!id) id = (await user.request<{ network: { id: string } }>('network', 'POST', '/networks', { network: { name: NET_NAME } })).network.id;
    const subnets = await user.requestAll<{ id: string }>('network', `/subnets?network_id=${id}`, 'subnets');
    if (subnets.length === 0) {
      await user.request('network', 'POST', '/subnets', {
        subnet: { network_id: id, name: `${NET_NAME}-subnet`, ip_version: 4, cidr: CIDR, gateway_ip: '10.214.30.1', enable_dhcp: false, allocation_pools: [{ start: '10.214.30.10', end: '10.214.30.250' }] },
      });
    }
    return id;
  }

  /**
   * What a killed earlier run of this file left in the testbed (CI reuses machines, and the
   * testbed's Nova keeps its servers across `openstack-testbed.sh down`/`up`): this cluster's servers
   * with everything Michman made for them, then this test's networks with whatever ports remain.
   * The hypervisor would otherwise boot machines for the old servers beside the new ones.
   */
  async function sweepLeftovers(): Promise<void> {
    const servers = await user.requestAll<{ id: string; name: string; metadata?: Record<string, string> }>('compute', '/servers/detail', 'servers');
    const old = servers.filter((x) => x.name.startsWith(`${CLUSTER}-`));
    for (const id of new Set(old.map((x) => x.metadata?.[META_CLUSTER]).filter((x): x is string => !!x))) {
      log(`[openstack services] removing cluster ${id}, left by an earlier run`);
      await provider.removeCluster(id, AbortSignal.timeout(300_000));
    }
    for (const x of old.filter((y) => !y.metadata?.[META_CLUSTER])) await user.request('compute', 'DELETE', `/servers/${x.id}`).catch(() => undefined);
    await until('the old servers to go', async () => ((await user.requestAll<{ name: string }>('compute', '/servers/detail', 'servers')).some((x) => x.name.startsWith(`${CLUSTER}-`)) ? undefined : true), 120_000, 2000);
    for (const net of await user.requestAll<{ id: string }>('network', `/networks?name=${NET_NAME}`, 'networks')) {
      for (const port of await user.requestAll<{ id: string }>('network', `/ports?network_id=${net.id}`, 'ports')) await user.request('network', 'DELETE', `/ports/${port.id}`).catch(() => undefined);
      for (const sub of await user.requestAll<{ id: string }>('network', `/subnets?network_id=${net.id}`, 'subnets')) await user.request('network', 'DELETE', `/subnets/${sub.id}`);
      await user.request('network', 'DELETE', `/networks/${net.id}`);
      log(`[openstack services] network ${net.id} (${NET_NAME}), left by an earlier run, removed`);
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-os-services-'));
    await sweepLeftovers();
    networkId = await ensureNetwork();
    const t0 = Date.now();
    const imageRoot = await new NspawnProvider({ dir: join(dir, 'nspawn'), imagesDir: IMAGES_DIR, secretsDir: join(dir, 'nspawn-secrets') }).buildImage(log);
    hv = new TestHypervisor({ admin, imageRoot, dir: join(dir, 'hypervisor'), aptCacheDir: APT_CACHE_DIR, cidr: CIDR, bridge: 'mtbhv-br0', prefix: 'mtbhv', log });
    await hv.start();
    times['image + hypervisor up'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;

    // The operator's copy of the key pair's private half, where the deployer looks for it.
    const data = join(dir, 'data');
    mkdirSync(join(data, 'secrets'), { recursive: true, mode: 0o700 });
    keyFile = join(data, 'secrets', 'ssh_key');
    copyFileSync(process.env.MICHMAN_TEST_OS_KEYPAIR_PRIVATE_KEY!, keyFile);
    const port = await freePort();
    running = await serve(
      loadConfig({
        env: {},
        cwd: dir,
        overrides: {
          provider: 'openstack',
          data_dir: data,
          listen: `127.0.0.1:${port}`,
          log_level: 'warn',
          workers: 2,
          os_cloud: testbed.cloud,
          os_clouds_file: testbed.clouds,
          virtual_network: NET_NAME,
          os_key_name: testbed.keypair,
          os_reachability: 'ssh',
          os_request_timeout_seconds: CALL_TIMEOUT_S,
          janitor_interval_seconds: 0,
          health_interval: 5,
          deploy_deadline_seconds: 1200,
          ansible_task_timeout_seconds: 600,
        },
      }),
    );
    base = `http://127.0.0.1:${port}`;
    for (const [path, body] of [
      ['/images', { Name: testbed.image, AnsibleUser: 'debian', CloudImageID: process.env.MICHMAN_TEST_OS_IMAGE_ID ?? '' }],
      ['/flavors', { Name: testbed.flavor, VCPUs: 1, RAM: 512, Disk: 1 }],
      ['/projects', { DisplayName: PROJECT, DefaultImage: testbed.image, DefaultMasterFlavor: testbed.flavor, DefaultSlavesFlavor: testbed.flavor, DefaultStorageFlavor: testbed.flavor, DefaultMonitoringFlavor: testbed.flavor }],
    ] as const) {
      const r = await call('POST', path, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  }, 15 * 60_000);

  afterAll(async () => {
    await running?.close();
    if (clusterId) await provider.removeCluster(clusterId, AbortSignal.timeout(300_000)).catch((e: Error) => console.error(`cleanup of ${clusterId}: ${e.message}`));
    if (hv) {
      await until('the hypervisor to see the servers go', async () => ((await hv!.settled(), hv!.list().length === 0) ? true : undefined), 120_000, 1000).catch(() => undefined);
      await hv.stop();
    }
    if (networkId) {
      for (const s of await user.requestAll<{ id: string }>('network', `/subnets?network_id=${networkId}`, 'subnets').catch(() => [])) await user.request('network', 'DELETE', `/subnets/${s.id}`).catch(() => undefined);
      await user.request('network', 'DELETE', `/networks/${networkId}`).catch((e: Error) => console.error(`network ${NET_NAME}: ${e.message}`));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`[openstack services] times: ${JSON.stringify(times, null, 1)}`);
  }, 10 * 60_000);

  it('creates 1 master + 2 slaves with Redis, PostgreSQL and Slurm on OpenStack servers and reaches ACTIVE', async () => {
    const t0 = Date.now();
    const r = await call('POST', `/projects/${PROJECT}/clusters`, {
      DisplayName: 'hv',
      NSlaves: 2,
      Services: [{ Type: 'redis', Config: { db_password: REDIS_PW } }, { Type: 'postgresql', Config: { db_password: PG_PW } }, { Type: 'slurm' }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    clusterId = r.body.Detail.Data.ID;
    const s = await settle(25);
    expect(s.status, `${JSON.stringify(s.op?.Error ?? s.op, null, 2)}\n${s.events.join('\n')}\n${hv!.errors.join('\n')}`).toBe('ACTIVE');
    times['POST -> ACTIVE'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const names = hv!.list().map((m) => m.name).sort();
    // One machine per node: a node whose server was made twice shows here, with the node events that say why.
    const nodeEvents = (await allEvents(call, PROJECT, CLUSTER)).filter((e) => e.Node).map((e) => `${e.Time} ${e.Level} ${e.Node} ${e.Message}`);
    expect(names, `${hv!.list().map((m) => `${m.name} ${m.serverId} ${m.address}`).join('\n')}\n${nodeEvents.slice(0, 80).join('\n')}`).toEqual([`${CLUSTER}-master`, `${CLUSTER}-slave-1`, `${CLUSTER}-slave-2`, `${CLUSTER}-storage`]);
    // The addresses Michman used are the servers' fixed ones (no floating IP on this testbed).
    expect(s.cluster.MasterIP).toBe(machineOf('-master').address);
    const events = JSON.stringify(await allEvents(call, PROJECT, CLUSTER));
    for (const secret of [REDIS_PW, PG_PW]) expect(events).not.toContain(secret);
  }, 30 * 60_000);

  it('logged in as the image user debian with sudo: root cannot log in, debian becomes root', () => {
    const master = machineOf('-master');
    expect(master.user).toBe('debian');
    expect(() => sshAs('root', master.address, 'true')).toThrow(/Permission denied/);
    expect(sshAs('debian', master.address, 'sudo -n id -u').trim()).toBe('0');
  }, 120_000);

  it('answers: Redis AUTH + PING, PostgreSQL SELECT 1, srun -N2 hostname on both slaves', async () => {
    const storage = machineOf('-storage').address;
    expect(await redisCommands(storage, 6379, [['AUTH', REDIS_PW], ['PING']])).toEqual(['+OK', '+PONG']);
    const c = new pg.Client({ host: storage, port: 5432, user: 'pguser', password: PG_PW, database: 'postgres' });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
    const out = sshAs('debian', machineOf('-master').address, 'srun -N2 hostname').split('\n').map((l) => l.trim()).filter(Boolean).sort();
    expect(out).toEqual([`${CLUSTER}-slave-1`, `${CLUSTER}-slave-2`]);
  }, 180_000);

  it("pinned every server's own host key at first contact, with the cluster", async () => {
    const pins = await running!.store.hostKeys.list(clusterId);
    expect(pins.map((p) => p.node)).toEqual([`${CLUSTER}-master`, `${CLUSTER}-slave-1`, `${CLUSTER}-slave-2`, `${CLUSTER}-storage`]);
    const seen = new Set<string>();
    for (const p of pins) {
      const m = machineOf(p.node.slice(CLUSTER.length));
      expect(p.serverId).toBe(m.serverId);
      expect(p.address).toBe(m.address);
      const actual = normalizeKey(await hv!.exec(p.node, 'cat /etc/ssh/ssh_host_ed25519_key.pub'))!;
      expect(p.keys).toContain(actual);
      seen.add(actual);
    }
    // Each machine made keys of its own at first boot, as cloud-init does.
    expect(seen.size).toBe(4);
  }, 120_000);

  it('refuses a slave whose host key changed: the next operation fails naming it; the retry passes once the key is back', async () => {
    const slave = `${CLUSTER}-slave-1`;
    await hv!.exec(slave, 'mkdir -p /root/pinned && cp -a /etc/ssh/ssh_host_* /root/pinned/ && rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && systemctl restart ssh');
    let update: { ID: string; Error: unknown } | undefined;
    try {
      const r = await call('PUT', `/projects/${PROJECT}/clusters/${CLUSTER}`, { Services: [{ Type: 'nats' }] });
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
      const s = await settle(10);
      expect(s.status).toBe('FAILED');
      const ops = ((await call('GET', `/projects/${PROJECT}/clusters/${CLUSTER}/operations`)).body.Detail.Data ?? []) as Array<{ ID: string; Kind: string; Error: unknown; CreatedAt: string }>;
      update = ops.filter((o) => o.Kind === 'update').sort((a, b) => a.CreatedAt.localeCompare(b.CreatedAt)).pop();
      const err = JSON.stringify(update?.Error);
      expect(err).toContain(`host key of node ${slave}`);
      expect(err).toContain('changed');
    } finally {
      await hv!.exec(slave, 'cp -a /root/pinned/ssh_host_* /etc/ssh/ && systemctl restart ssh');
    }
    const retry = await call('POST', `/operations/${update!.ID}/retry`);
    expect(retry.status, JSON.stringify(retry.body)).toBeLessThan(300);
    const again = await settle(15);
    expect(again.status, `${JSON.stringify(again.op?.Error ?? again.op, null, 2)}\n${again.events.join('\n')}`).toBe('ACTIVE');
  }, 30 * 60_000);

  it('delete removes the servers and the machines; the janitor finds nothing', async () => {
    const t0 = Date.now();
    const r = await call('DELETE', `/projects/${PROJECT}/clusters/${CLUSTER}`);
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    const s = await settle(15);
    expect(s.status, `${JSON.stringify(s.op?.Error ?? s.op, null, 2)}\n${s.events.join('\n')}`).toBe('GONE');
    times['DELETE -> gone'] = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    expect(await provider.taggedResources(clusterId, AbortSignal.timeout(120_000))).toEqual([]);
    await until('the machines to go', async () => ((await hv!.settled(), hv!.list().length === 0) ? true : undefined), 120_000, 1000);
    expect(await hv!.leftovers()).toEqual([]);
    const report = await runJanitor(provider, storeDirectory(running!.store), { signal: AbortSignal.timeout(120_000) });
    expect(report.orphans).toEqual([]);
    clusterId = '';
  }, 20 * 60_000);
});
