// Apache Ignite 2.17 on nspawn, end to end through the API, the engine and the real ignite role: a
// master and two slaves reach ACTIVE as one cluster (static IP finder; the health check reads the
// topology with control.sh); control.sh lists every node; a value put through the thin-client port
// of one node is read through another's; a scale-out to 3 slaves adds a node to the topology and
// baseline without restarting the others, and a value put through it is read through the master;
// a second apply (on all four) changes nothing; the role's remove path and
// the delete leave nothing. The jars come from the pinned Maven Central class path through the
// host's artifact cache (`michman artifacts fetch ignite` warms it), Java from Debian.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { IMAGES_DIR, applyAgain, e2eApi, linkNames, netnsList, nspawnMissing, processesWith, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';
import { IgniteThinClient } from '../helpers/igniteThinClient.js';

const NETWORK = process.env.MICHMAN_TEST_IGNITE_NETWORK ?? '10.214.23.0/24';
const ARTIFACTS_DIR = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const PINS = JSON.parse(readFileSync('ansible/roles/ignite/vars/artifacts.json', 'utf8')) as { ignite: Record<string, { jars: Array<{ path: string }> }> };
const cached = PINS.ignite['2.17.0']!.jars.every((j) => existsSync(join(ARTIFACTS_DIR, 'maven2', j.path)));

const missing = lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined) || lacks('the Ignite 2.17.0 jars in the artifact cache (michman artifacts fetch ignite)', cached);

describe.skipIf(missing)('an Ignite cluster on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-ignite-',
    project: 'ig',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true, nspawn_artifacts_dir: ARTIFACTS_DIR }),
    overrides: { deploy_deadline_seconds: 900, ansible_task_timeout_seconds: 600 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;
  const refreshNodes = async () => {
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'igs-ig', signal: new AbortController().signal, emit: () => undefined });
  };
  const apply = (playbook = 'deploy.yml') => ({
    running: api.running(),
    provider: machinery().provider,
    clusterId,
    clusterName: 'igs-ig',
    nodes,
    playbook,
    only: 'ignite',
    vars: { n_slaves: nodes.filter((n) => n.role === 'slave').length },
    timeoutMs: 8 * 60_000,
  });
  /** The running server's PID: unchanged across a step means the step did not restart it. */
  const serverPid = (n: ProvisionedNode) => ssh(keyFile, n.address, 'systemctl show -p MainPID --value ignite').trim();

  it('creates 1 master + 2 slaves with ignite 2.17.0, and reaches ACTIVE as one cluster', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/ig/clusters', { DisplayName: 'igs', NSlaves: 2, Services: [{ Type: 'ignite', Version: '2.17.0' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('igs-ig', 20);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn ignite: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['igs-ig-master', 'igs-ig-slave-1', 'igs-ig-slave-2']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    expect((await events('igs-ig')).some((e) => /ignite topology has every node of the service \(3/.test(e.Message))).toBe(true);
  }, 22 * 60_000);

  it('refuses at POST a version nothing is pinned for (2.16.0), by name', async () => {
    const r = await call('POST', '/projects/ig/clusters', { DisplayName: 'igs2', NSlaves: 1, Services: [{ Type: 'ignite', Version: '2.16.0' }] });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.stringify(r.body)).toContain('ignite version 2.16.0 cannot be deployed');
  }, 60_000);

  it('control.sh on the master lists every node of the cluster', async () => {
    const out = ssh(keyFile, node('-master').address, `ignite-control --host ${node('-master').address} --baseline`, 180_000);
    for (const n of nodes) expect(out, out).toContain(n.name);
  }, 240_000);

  it('a value put through the master is read through slave-2, and one put through slave-1 through the master', async () => {
    const [m, s1, s2] = await Promise.all([IgniteThinClient.connect(node('-master').address), IgniteThinClient.connect(node('-slave-1').address), IgniteThinClient.connect(node('-slave-2').address)]);
    try {
      await m.getOrCreateCache('e2e');
      for (let i = 0; i < 20; i++) await m.put('e2e', `k${i}`, `from the master ${i}`);
      for (let i = 0; i < 20; i++) expect(await s2.get('e2e', `k${i}`)).toBe(`from the master ${i}`);
      await s1.put('e2e', 'x', 'from slave-1');
      expect(await m.get('e2e', 'x')).toBe('from slave-1');
      expect(await s2.get('e2e', 'missing')).toBeNull();
    } finally {
      for (const c of [m, s1, s2]) c.close();
    }
  }, 120_000);

  it('scales out to 3 slaves without restarting the running nodes: the new node joins the topology and baseline, and serves the data', async () => {
    const before = new Map(nodes.map((n) => [n.name, serverPid(n)]));
    for (const [name, pid] of before) expect(pid, name).toMatch(/^[1-9][0-9]*$/);
    const started = Date.now();
    const put = await call('PUT', '/projects/ig/clusters/igs-ig', { NSlaves: 3 });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const r = await settle('igs-ig', 15);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn ignite: scale-out 2 -> 3 slaves in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['igs-ig-master', 'igs-ig-slave-1', 'igs-ig-slave-2', 'igs-ig-slave-3']);
    // The running nodes kept their JVM (the new address went into discovery-addresses.xml only), and
    // every node, the new one too, lists all four for its next start.
    for (const [name, pid] of before) expect(serverPid(nodes.find((n) => n.name === name)!), `${name} was restarted`).toBe(pid);
    for (const n of nodes) {
      const list = ssh(keyFile, n.address, 'cat /etc/ignite/discovery-addresses.xml');
      for (const x of nodes) expect(list, n.name).toContain(`<value>${x.address}:47500</value>`);
    }
    // In memory (no persistence), the baseline follows the topology (auto-adjust, soft timeout 0).
    const out = ssh(keyFile, node('-master').address, `ignite-control --host ${node('-master').address} --baseline`, 180_000);
    expect(out, out).toContain('ConsistentId=igs-ig-slave-3');
    expect(out, out).toMatch(/Number of baseline nodes: 4/);
    const [s3, m] = await Promise.all([IgniteThinClient.connect(node('-slave-3').address), IgniteThinClient.connect(node('-master').address)]);
    try {
      await s3.getOrCreateCache('e2e');
      for (let i = 0; i < 20; i++) expect(await s3.get('e2e', `k${i}`)).toBe(`from the master ${i}`);
      for (let i = 0; i < 20; i++) await s3.put('e2e', `n${i}`, `from slave-3 ${i}`);
      for (let i = 0; i < 20; i++) expect(await m.get('e2e', `n${i}`)).toBe(`from slave-3 ${i}`);
    } finally {
      for (const c of [s3, m]) c.close();
    }
  }, 17 * 60_000);

  it('a second apply of the ignite role (deploy.yml) reports changed=0', async () => {
    const again = await applyAgain(apply());
    expect(again.changed).toEqual([]);
    expect(again.total).toBe(0);
  }, 9 * 60_000);

  it("the role's remove path leaves nothing of Ignite on the nodes", async () => {
    const leftovers =
      'getent passwd ignite >/dev/null && echo user; ' +
      'for p in /opt/ignite /opt/ignite-2.17.0 /etc/ignite /var/lib/ignite /usr/local/bin/ignite-control /etc/systemd/system/ignite.service; do [ -e $p ] && echo $p; done; ' +
      "pgrep -f '[C]ommandLineStartup' >/dev/null && echo process; true";
    expect(ssh(keyFile, node('-slave-3').address, leftovers).trim().split('\n')).toEqual(expect.arrayContaining(['user', '/opt/ignite', '/etc/ignite', 'process']));
    await runRole(apply('remove.yml'));
    for (const n of nodes) expect(ssh(keyFile, n.address, leftovers).trim(), n.name).toBe('');
  }, 9 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/ig/clusters/igs-ig')).status).toBe(200);
    expect((await settle('igs-ig', 10)).status).toBe('GONE');
    const m = machinery();
    expect(await m.provider.leftovers(clusterId)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
    expect(linkNames()).not.toContain(m.provider.bridge);
    expect(processesWith(join(api.dir(), 'data', 'nspawn'))).toEqual([]);
  }, 11 * 60_000);
});
