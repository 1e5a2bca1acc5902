// NATS on nspawn, end to end through the API, the engine and the real nats role: a master and two
// slaves reach ACTIVE (the health check sees /varz, a route from every node to every other, and a
// password login); each node's /varz shows the catalog parameters; a message published on one node
// reaches a subscriber on another; a version the distribution does not ship is refused by name; a
// scale-out adds a node that routes to all the others and whose publications cross; a second apply
// changes nothing; delete leaves nothing. nats-server comes from Debian through the host's apt cache.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { httpGet } from '../../src/deploy/local/net.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import type { PlaybookOutcome } from '../../src/deploy/ansible/playbook.js';
import type { ExtraVars } from '../../src/domain/extraVars.js';
import { NatsConnection, crossNodeMessage } from '../helpers/natsClient.js';
import { IMAGES_DIR, e2eApi, linkNames, netnsList, nspawnMissing, processesWith, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_NATS_NETWORK ?? '10.214.13.0/24';
const USER = 'app';
// Quotes and a space: the configuration must quote the password, not just paste it.
const PASSWORD = 'e2e "nats" Pw-45';
const MAX_PAYLOAD = 2097152;

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('a NATS cluster on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-nats-',
    project: 'nt',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true }),
    overrides: { deploy_deadline_seconds: 660, ansible_task_timeout_seconds: 480 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;
  const refreshNodes = async () => {
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'nts-nt', signal: new AbortController().signal, emit: () => undefined });
  };
  const open = (n: ProvisionedNode) => NatsConnection.open(n.address, 4222, { user: USER, pass: PASSWORD });
  /** Route IPs in each node's /routez. */
  const routesOf = async (n: ProvisionedNode): Promise<string[]> => {
    const r = await httpGet(`http://${n.address}:8222/routez`, {}, 5000);
    expect(r.status).toBe(200);
    return ((JSON.parse(r.body) as { routes: Array<{ ip: string }> | null }).routes ?? []).map((x) => x.ip).sort();
  };
  /** Runs deploy.yml (or remove.yml) for nats on the cluster's nodes, as the deployer does, with extra variables. */
  const applyNats = (extra: Record<string, unknown>, onChanged: (what: string) => void, playbook = 'deploy.yml'): Promise<PlaybookOutcome> =>
    runRole({
      running: api.running(),
      provider: machinery().provider,
      clusterId,
      clusterName: 'nts-nt',
      nodes,
      playbook,
      only: 'nats',
      // The stored plan holds the password masked (it lives in the secret store); the deployer fills it in, so do we.
      vars: { n_slaves: nodes.filter((n) => n.role === 'slave').length, nats_password: PASSWORD, ...(extra as ExtraVars) },
      timeoutMs: 6 * 60_000,
      redact: (t) => t.split(PASSWORD).join('********'),
      onChanged,
    });

  it('creates 1 master + 2 slaves with NATS, and reaches ACTIVE', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/nt/clusters', {
      DisplayName: 'nts',
      NSlaves: 2,
      Services: [{ Type: 'nats', Config: { user: USER, password: PASSWORD, max_payload: String(MAX_PAYLOAD), jetstream: 'true' } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('nts-nt', 14);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn nats: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['nts-nt-master', 'nts-nt-slave-1', 'nts-nt-slave-2']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = await events('nts-nt');
    console.log(all.filter((e) => /health|ok=/.test(e.Message)).map((e) => e.Message).join('\n'));
    expect(all.some((e) => /nats-server 2\.9\.\d+ .* routes to 2 node\(s\)/.test(e.Message))).toBe(true);
    expect(JSON.stringify(all)).not.toContain(PASSWORD);
  }, 15 * 60_000);

  it("serves the catalog's parameters on every node: version 2.9, max_payload, JetStream, one cluster named after the cluster", async () => {
    for (const n of nodes) {
      const varz = JSON.parse((await httpGet(`http://${n.address}:8222/varz`, {}, 5000)).body) as {
        version: string;
        server_name: string;
        max_payload: number;
        jetstream?: { config?: { store_dir?: string } };
        cluster: { name: string; addr: string; cluster_port: number };
      };
      expect(varz.version).toMatch(/^2\.9\./);
      expect(varz.server_name).toBe(n.name);
      expect(varz.max_payload).toBe(MAX_PAYLOAD);
      // The server keeps its file store in <store_dir>/jetstream.
      expect(varz.jetstream?.config?.store_dir).toMatch(/^\/var\/lib\/nats(\/jetstream)?$/);
      expect(varz.cluster.name).toBe('nts-nt');
      expect(varz.cluster.cluster_port).toBe(6222);
    }
  }, 60_000);

  it('routes every node to every other (/routez) and refuses a wrong password', async () => {
    for (const n of nodes) {
      expect(await routesOf(n)).toEqual(nodes.filter((x) => x !== n).map((x) => x.address).sort());
    }
    await expect(NatsConnection.open(node('-master').address, 4222, { user: USER, pass: 'wrong' })).rejects.toThrow(/Authorization Violation/);
    // The client port listens on the node's address, the data is the nats user's, the config is not world-readable.
    expect(ssh(keyFile, node('-slave-1').address, 'stat -c "%U %a" /var/lib/nats /etc/nats/nats-server.conf').trim().split('\n')).toEqual(['nats 750', 'root 640']);
  }, 60_000);

  it('delivers a message published on one node to subscribers on the others', async () => {
    const [m, s1, s2] = await Promise.all([open(node('-master')), open(node('-slave-1')), open(node('-slave-2'))]);
    try {
      expect((await crossNodeMessage(m, s2, 'michman.e2e.a', 'from the master to slave-2')).payload).toBe('from the master to slave-2');
      expect((await crossNodeMessage(s1, m, 'michman.e2e.b', 'from slave-1 to the master')).payload).toBe('from slave-1 to the master');
      // A payload over NATS's default 1 MiB and within the configured max_payload crosses too.
      const big = 'x'.repeat(1_500_000);
      expect((await crossNodeMessage(s2, s1, 'michman.e2e.big', big)).payload.length).toBe(big.length);
    } finally {
      for (const c of [m, s1, s2]) c.close();
    }
  }, 120_000);

  it('refuses a version Debian does not ship, by name, before changing anything', async () => {
    const changed: string[] = [];
    const err = await applyNats({ nats_version: '2.10' }, (c) => changed.push(c)).then(
      () => undefined,
      (e: Error & { output?: string }) => `${e.message}\n${e.output ?? ''}`,
    );
    expect(err).toBeDefined();
    expect(err).toContain("task 'Check that the distribution ships the requested NATS version'");
    expect(err).toMatch(/NATS 2\.10 cannot be deployed on Debian .*ships 2\.9\.\d+\S* \(NATS 2\.9\)\. Choose version 2\.9/);
    expect(changed).toEqual([]);
  }, 7 * 60_000);

  it('scales out to 3 slaves: the new node routes to every other and its publications cross', async () => {
    const started = Date.now();
    const put = await call('PUT', '/projects/nt/clusters/nts-nt', { NSlaves: 3 });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const r = await settle('nts-nt', 12);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn nats: scale-out 2 -> 3 slaves in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['nts-nt-master', 'nts-nt-slave-1', 'nts-nt-slave-2', 'nts-nt-slave-3']);
    for (const n of nodes) {
      expect(await routesOf(n)).toEqual(nodes.filter((x) => x !== n).map((x) => x.address).sort());
    }
    const [s3, m, s1] = await Promise.all([open(node('-slave-3')), open(node('-master')), open(node('-slave-1'))]);
    try {
      expect((await crossNodeMessage(s3, m, 'michman.e2e.c', 'from slave-3 to the master')).payload).toBe('from slave-3 to the master');
      expect((await crossNodeMessage(m, s3, 'michman.e2e.d', 'from the master to slave-3')).payload).toBe('from the master to slave-3');
      expect((await crossNodeMessage(s3, s1, 'michman.e2e.e', 'from slave-3 to slave-1')).payload).toBe('from slave-3 to slave-1');
    } finally {
      for (const c of [s3, m, s1]) c.close();
    }
  }, 15 * 60_000);

  it('a second apply of the nats role (deploy.yml) reports changed=0', async () => {
    const changed: string[] = [];
    const out = await applyNats({}, (c) => changed.push(c));
    expect(changed).toEqual([]);
    expect(Object.values(out.stats).reduce((a, s) => a + s.changed, 0)).toBe(0);
  }, 9 * 60_000);

  it("the role's remove path leaves nothing of NATS on the nodes, and a second removal is harmless", async () => {
    // What the role added: the package and its user (it installed them), config, data, unit drop-in, secret.
    const leftovers =
      "dpkg-query -W -f='${Status}\\n' nats-server 2>/dev/null | grep -q 'install ok' && echo package; " +
      'getent passwd nats >/dev/null && echo user; getent group nats >/dev/null && echo group; ' +
      'for p in /etc/nats /var/lib/nats /etc/systemd/system/nats-server.service.d /etc/nats-server.conf /root/.michman-secrets/nats_password; do [ -e $p ] && echo $p; done; ' +
      'grep -qx nats-server /proc/[0-9]*/comm 2>/dev/null && echo process; true';
    expect(ssh(keyFile, node('-slave-3').address, leftovers).trim().split('\n')).toEqual(expect.arrayContaining(['package', 'user', '/etc/nats', '/var/lib/nats', 'process']));
    await applyNats({}, () => undefined, 'remove.yml');
    for (const n of nodes) expect(ssh(keyFile, n.address, leftovers).trim(), n.name).toBe('');
    await applyNats({}, () => undefined, 'remove.yml');
  }, 9 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    const started = Date.now();
    expect((await call('DELETE', '/projects/nt/clusters/nts-nt')).status).toBe(200);
    expect((await settle('nts-nt', 10)).status).toBe('GONE');
    console.log(`nspawn nats: delete in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const m = machinery();
    expect(await m.provider.leftovers(clusterId)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
    expect(linkNames()).not.toContain(m.provider.bridge);
    expect(processesWith(join(api.dir(), 'data', 'nspawn'))).toEqual([]);
  }, 11 * 60_000);
});
