// The nspawn provider and the Ansible deployer on real containers, with the fixture playbooks of
// test/fixtures/ansible: boot, SSH with the cluster's key, restart without duplicates, prepare,
// deploy (events per host and task; a second apply changes nothing), a failing task naming host,
// role and task, cancel killing ansible, remove, and delete leaving no container, namespace or link.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NspawnProvider } from '../../src/providers/nspawn/index.js';
import { AnsibleDeployer } from '../../src/deploy/ansible/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { EngineEvent, ProvisionedNode, StepContext } from '../../src/providers/types.js';
import type { ServiceDeployment } from '../../src/deploy/types.js';
import type { OperationPlan } from '../../src/domain/plan.js';
import { hostLinkName } from '../../src/providers/nspawn/names.js';
import { IMAGES_DIR, linkNames, netnsList, nspawnMissing, processesWith, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const FIXTURE = join(PACKAGE_ROOT, 'test', 'fixtures', 'ansible');
const CLUSTER = 'c0ffee00-0000-4000-8000-00000000a001';
const NETWORK = '10.213.240.0/28';

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('nspawn provider + ansible deployer (fixture playbooks)', () => {
  let dir: string;
  let provider: NspawnProvider;
  let deployer: AnsibleDeployer;
  const events: EngineEvent[] = [];
  let nodes: ProvisionedNode[] = [];

  const plan: OperationPlan = {
    image: 'debian',
    nodes: [],
    levels: [['demo']],
    services: [
      {
        id: 'd1',
        type: 'demo',
        version: '1',
        class: 'stand-alone',
        accessPort: 0,
        config: {},
        params: [
          { ParameterName: 'value', Type: 'string', IsList: false, DefaultValue: 'v1', Required: true },
          { ParameterName: 'db_password', Type: 'string', IsList: false, DefaultValue: '', Required: false },
          { ParameterName: 'sleep', Type: 'int', IsList: false, DefaultValue: '', Required: false },
        ],
        nodes: ['fx-master'],
      },
    ],
    cluster: { name: 'fx', displayName: 'fx', nSlaves: 1, ownerId: 'u', monitoring: false, keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests test'], masterFlavor: '', slavesFlavor: '', storageFlavor: '', monitoringFlavor: '' },
  };
  const ctx = (signal = new AbortController().signal): StepContext => ({
    clusterId: CLUSTER,
    clusterName: 'fx',
    signal,
    emit: (e) => events.push(e),
    plan,
    nodes: () => nodes,
  });
  const demo = (config: Record<string, string> = {}): ServiceDeployment => ({
    type: 'demo',
    version: '1',
    config,
    params: plan.services[0]!.params,
    nodes: nodes.filter((n) => n.role === 'master'),
    accessPort: 0,
  });
  const make = () =>
    new NspawnProvider({ dir: join(dir, 'nspawn'), imagesDir: IMAGES_DIR, secretsDir: join(dir, 'secrets'), network: NETWORK });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-nspawn-'));
    provider = make();
    deployer = new AnsibleDeployer({
      ansibleDir: FIXTURE,
      keys: provider.keys,
      secretsDir: join(dir, 'secrets'),
      listNodes: (c) => provider.listNodes(c),
      aptProxy: () => provider.aptProxyUrl(),
      preflight: () => provider.problems(),
      knownTypes: ['demo', 'redis'],
    });
  }, 60_000);

  afterAll(async () => {
    // Whatever failed above: leave nothing on the host.
    if (provider) {
      for (const n of await provider.listNodes(ctx()).catch(() => [])) await provider.deleteNode(ctx(), n).catch(() => undefined);
      await provider.cleanupCluster(ctx()).catch(() => undefined);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('finds this host ready and checks services against the roles it has', async () => {
    expect(await provider.problems()).toEqual([]);
    expect(await deployer.check([{ type: 'demo', version: '1' }])).toEqual([]);
    const p = await deployer.check([{ type: 'spark', version: '3' }]);
    expect(p).toEqual(["service 'spark' has no Ansible role (ansible/roles/spark); this Michman can deploy: demo"]);
  });

  it('boots a master and a slave that answer SSH with the cluster key', async () => {
    const c = ctx();
    await provider.prepareCluster(c);
    nodes = await Promise.all([
      provider.ensureNode(c, { name: 'fx-master', role: 'master', flavor: '', image: 'debian' }),
      provider.ensureNode(c, { name: 'fx-slave-1', role: 'slave', flavor: '', image: 'debian' }),
    ]);
    await Promise.all(nodes.map((n) => provider.waitReachable(c, n)));
    const key = (await provider.keys.ensure(CLUSTER)).privateKeyFile;
    expect(statSync(key).mode & 0o777).toBe(0o600);
    for (const n of nodes) {
      expect(ssh(key, n.address, 'hostname').trim()).toBe(n.name);
      expect(n.address.startsWith('10.213.240.')).toBe(true);
    }
    // Nodes reach each other and the apt cache on the bridge.
    expect(ssh(key, nodes[0]!.address, `timeout 5 bash -c '</dev/tcp/${nodes[1]!.address}/22' && echo ok`).trim()).toBe('ok');
    expect(ssh(key, nodes[0]!.address, 'cat /etc/apt/apt.conf.d/00michman-proxy')).toContain(provider.aptProxyUrl()!);
  }, 600_000);

  it('after a restart finds the same containers again, without starting duplicates', async () => {
    const again = make();
    const c = ctx();
    const n2 = await again.ensureNode(c, { name: 'fx-master', role: 'master', flavor: '', image: 'debian' });
    expect(n2.address).toBe(nodes[0]!.address);
    expect(processesWith(join(dir, 'nspawn', 'clusters', CLUSTER, 'fx-master') + '/')).toHaveLength(1);
    expect((await again.listNodes(c)).map((n) => n.name)).toEqual(['fx-master', 'fx-slave-1']);
  }, 120_000);

  it("the base role's bounded apt refresh kills a stalled apt-get and tries again", async () => {
    // The script as the role renders it, with a 2 s limit, and an apt-get that stalls on its first
    // call (as apt has behind apt-cacher-ng's 503s) and succeeds on the second.
    const script = readFileSync(join(PACKAGE_ROOT, 'ansible', 'roles', 'base', 'templates', 'michman-apt-update.j2'), 'utf8')
      .replace('{{ ansible_managed }}', 'rendered by the test')
      .replace('{{ base_apt_update_timeout | int }}', '2')
      .replace('{{ base_apt_update_tries | int }}', '3');
    expect(script).not.toContain('{{');
    const fake = ['#!/bin/sh', 'n=$(cat /tmp/fake-apt-tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > /tmp/fake-apt-tries', '[ "$n" -ge 2 ] && exit 0', 'sleep 307', ''].join('\n');
    const put = (path: string, text: string) => `echo ${Buffer.from(text).toString('base64')} | base64 -d > ${path} && chmod 0755 ${path}`;
    const key = (await provider.keys.ensure(CLUSTER)).privateKeyFile;
    const out = ssh(
      key,
      nodes[0]!.address,
      [
        'mkdir -p /tmp/fakebin',
        put('/tmp/michman-apt-update', script),
        put('/tmp/fakebin/apt-get', fake),
        'rm -f /tmp/fake-apt-tries /var/lib/apt/periodic/update-success-stamp',
        'PATH=/tmp/fakebin:$PATH /tmp/michman-apt-update 2>&1; echo rc=$?',
        'echo tries=$(cat /tmp/fake-apt-tries)',
        'test -f /var/lib/apt/periodic/update-success-stamp && echo stamped',
        // The pattern must not match this command line itself.
        "pgrep -f 'sleep [3]07' || echo no-sleep-left",
      ].join('; '),
    );
    expect(out).toContain('michman-apt-update: try 1 of 3 failed or took longer than 2 s');
    expect(out).toContain('rc=0');
    expect(out).toContain('tries=2');
    expect(out).toContain('stamped');
    expect(out).toContain('no-sleep-left');
  }, 120_000);

  it('prepares every node with the inventory groups and the cluster keys', async () => {
    await deployer.prepare(ctx());
    const key = (await provider.keys.ensure(CLUSTER)).privateKeyFile;
    const text = ssh(key, nodes[1]!.address, 'cat /etc/michman-prepared');
    expect(text).toContain('node=fx-slave-1');
    expect(text).toContain('masters=fx-master');
    expect(text).toContain('slaves=fx-slave-1');
    expect(text).toContain('keys=1');
    // One result per host, and the task's start once (a debug event, for the play).
    const results = events.filter((e) => e.phase === 'deploy' && /Record the node's name and the cluster's groups: (ok|changed)$/.test(e.message));
    expect(results.map((e) => e.node).sort()).toEqual(['fx-master', 'fx-slave-1']);
    expect(events.filter((e) => e.phase === 'deploy' && /Record the node's name and the cluster's groups: started$/.test(e.message)).map((e) => e.level)).toEqual(['debug']);
  }, 300_000);

  it('deploys a service, and a second apply reports changed=0', async () => {
    events.length = 0;
    const first = await deployer.deployWithOutcome(ctx(), demo());
    expect(first!.stats['fx-master']!.changed).toBeGreaterThan(0);
    const key = (await provider.keys.ensure(CLUSTER)).privateKeyFile;
    // The generated password reached the role (24 characters) and never an event.
    expect(ssh(key, nodes[0]!.address, 'cat /etc/michman-demo').trim()).toBe('value=v1 secret_length=24');
    const second = await deployer.deployWithOutcome(ctx(), demo());
    expect(Object.values(second!.stats).reduce((a, s) => a + s.changed, 0)).toBe(0);
    expect(events.some((e) => e.node === 'fx-master' && e.service === 'demo' && e.message.startsWith('[demo] Write the service marker: changed'))).toBe(true);
    expect((await deployer.health(ctx(), demo())).healthy).toBe(true);
    // The runs' ssh connection masters were their own (in the run's directory) and are gone with it.
    // Only this test's (their command line names its cluster key): other suites may run Ansible beside it.
    const ours = () => processesWith('michman-ansible-', dir);
    const until = performance.now() + 10_000;
    while (ours().length > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(ours()).toEqual([]);
  }, 300_000);

  it('a failing task names its host, role and task', async () => {
    const err = (await deployer.deploy(ctx(), demo({ value: 'impossible' })).catch((e: unknown) => e)) as Error & { output?: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("ansible deploy.yml: host fx-master: role demo, task 'Refuse an impossible value' failed: demo_value 'impossible' is impossible");
    expect(err.output).toContain('is impossible');
  }, 300_000);

  it('cancel kills ansible and its ssh clients at once', async () => {
    const ac = new AbortController();
    events.length = 0;
    const q = deployer.deploy(ctx(ac.signal), demo({ value: 'v1', sleep: '600' }));
    const until = Date.now() + 120_000;
    while (!events.some((e) => e.message.includes('[demo] Write the service marker')) || processesWith('sleep 600').length === 0) {
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = ansibleProcesses(FIXTURE);
    expect(before.length).toBeGreaterThan(0);
    ac.abort(new Error('operation cancelled'));
    await expect(q).rejects.toThrow('operation cancelled');
    const gone = Date.now() + 15_000;
    while (ansibleProcesses(FIXTURE).length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 200));
    expect(ansibleProcesses(FIXTURE)).toEqual([]);
  }, 300_000);

  it('removes the service, then deletes the nodes leaving no container, namespace or link', async () => {
    await deployer.remove(ctx(), demo());
    const key = (await provider.keys.ensure(CLUSTER)).privateKeyFile;
    expect(ssh(key, nodes[0]!.address, 'test -e /etc/michman-demo && echo present || echo absent').trim()).toBe('absent');
    const links = nodes.map((n) => hostLinkName(CLUSTER, n.name));
    for (const n of nodes) await provider.deleteNode(ctx(), { name: n.name, providerId: n.name });
    await provider.cleanupCluster(ctx());
    expect(await provider.leftovers(CLUSTER)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(CLUSTER))).toEqual([]);
    expect(linkNames().filter((l) => links.includes(l))).toEqual([]);
    expect(linkNames()).not.toContain(provider.bridge);
    expect(processesWith(join(dir, 'nspawn'))).toEqual([]);
    expect(readdirSync(join(dir, 'nspawn', 'addresses'))).toEqual([]);
    nodes = [];
  }, 300_000);
});

/** ansible-playbook processes (and their workers) running in `cwd`. */
function ansibleProcesses(cwd: string): number[] {
  return processesWith('ansible-playbook').filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === cwd;
    } catch {
      return false;
    }
  });
}
