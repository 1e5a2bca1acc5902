// End to end through the API and the engine on the nspawn provider with the real roles of ansible/:
// a cluster of Redis, PostgreSQL and MariaDB on the storage node, Slurm on a master and two slaves,
// Jupyter, and monitoring reaches ACTIVE; each service answers by its own protocol; srun runs on
// both slaves; Prometheus scrapes every node; a second apply of every playbook changes nothing; a
// failing task reaches the operation's error with host, role and task; delete leaves nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { loadConfig } from '../../src/config/load.js';
import { serve, type Running } from '../../src/app.js';
import { nspawnMachinery } from '../../src/machinery/nspawn.js';
import { redisCommands, httpGet } from '../../src/deploy/local/net.js';
import type { OperationPlan } from '../../src/domain/plan.js';
import type { ProvisionedNode, StepContext } from '../../src/providers/types.js';
import { runVars } from '../../src/deploy/ansible/vars.js';
import { buildInventory } from '../../src/deploy/ansible/inventory.js';
import { runPlaybook } from '../../src/deploy/ansible/playbook.js';
import { catalogTypes } from '../../src/deploy/ansible/deployer.js';
import { serializeExtraVars } from '../../src/domain/extraVars.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { IMAGES_DIR, nothingLeftOf, nspawnMissing, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = '10.213.241.0/24';
const REDIS_PW = 'e2e-redis-Pw-41';
const PG_PW = 'e2e-pg-Pw-42';
const MARIA_PW = 'e2e-maria-Pw-43';
const JUPYTER_TOKEN = 'e2e-jupyter-token-44';
const ADMIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eAdminKeyForMichmanTestsOnly0000000000 e2e-admin';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('a Slurm + databases + Jupyter cluster on nspawn, end to end', () => {
  let dir: string;
  let running: Running;
  let base: string;
  const config = () =>
    loadConfig({
      env: {},
      cwd: dir,
      overrides: {
        provider: 'nspawn',
        data_dir: join(dir, 'data'),
        nspawn_network: NETWORK,
        nspawn_images_dir: IMAGES_DIR,
        log_level: 'warn',
        listen: `127.0.0.1:${port}`,
        workers: 2,
        // Below the settle waits (and vitest's 15 min), so a step that hangs fails the operation
        // with its phase named, and the test shows that rather than a bare timeout.
        deploy_deadline_seconds: 660,
        ansible_task_timeout_seconds: 480,
      },
    });
  let port = 0;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Every event of the cluster, page by page (the API gives at most 1000 at a time). */
  const allEvents = async (name: string) => {
    const out: Array<{ ID: number; Time: string; Level: string; Node: string; Message: string }> = [];
    for (let page = 0; page < 100; page++) {
      const r = await call('GET', `/projects/e2e/clusters/${name}/events?limit=1000&after=${out.at(-1)?.ID ?? 0}`);
      expect(r.status).toBe(200);
      const data = r.body.Detail.Data as typeof out;
      out.push(...data);
      if (data.length < 1000) break;
    }
    return out;
  };
  /**
   * Waits until the cluster leaves CREATING/UPDATING/...; returns its last operation and the tail
   * of its events (what was running, for a failure message). Monotonic time: a wall-clock step of
   * the machine must not end the wait early.
   */
  const settle = async (name: string, minutes: number) => {
    const until = performance.now() + minutes * 60_000;
    for (;;) {
      const s = await call('GET', `/projects/e2e/clusters/${name}`);
      const st = s.body?.Detail?.Data?.EntityStatus as string | undefined;
      if (st === 'ACTIVE' || st === 'FAILED' || s.status === 404 || performance.now() > until) {
        const ops = await call('GET', `/projects/e2e/clusters/${name}/operations`);
        const events = (s.status === 404 ? [] : await allEvents(name)).slice(-40).map((e) => `${e.Time} ${e.Level} ${e.Node} ${e.Message}`);
        return { status: s.status === 404 ? 'GONE' : st, cluster: s.body?.Detail?.Data, op: (ops.body?.Detail?.Data ?? [])[0], events };
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-nspawn-e2e-'));
    port = await freePort();
    running = await serve(config());
    base = `http://127.0.0.1:${port}`;
    expect((await call('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'nspawn' })).status).toBe(201);
    expect((await call('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 5 })).status).toBe(201);
    const project = { DisplayName: 'e2e', DefaultImage: 'debian', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' };
    expect((await call('POST', '/projects', project)).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    // Whatever happened: no container, namespace or link of ours stays on the host.
    const m = nspawnMachinery({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true });
    await running?.close();
    for (const id of await m.provider.clusterIds()) {
      const ctx: StepContext = { clusterId: id, clusterName: '', signal: new AbortController().signal, emit: () => undefined };
      for (const n of await m.provider.listNodes(ctx)) await m.provider.deleteNode(ctx, n).catch(() => undefined);
      await m.provider.cleanupCluster(ctx).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const machinery = () => nspawnMachinery({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true });

  it('refuses at POST a service without a role, naming it', async () => {
    const r = await call('POST', '/projects/e2e/clusters', { DisplayName: 'nope', NSlaves: 1, Services: [{ Type: 'ignite' }] });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain("service 'ignite' has no Ansible role");
  });

  it('creates the cluster and reaches ACTIVE', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/e2e/clusters', {
      DisplayName: 'hpc',
      NSlaves: 2,
      Monitoring: true,
      Keys: [ADMIN_KEY],
      Services: [
        { Type: 'redis', Config: { db_password: REDIS_PW } },
        { Type: 'postgresql', Config: { db_password: PG_PW } },
        { Type: 'mariadb', Config: { db_password: MARIA_PW } },
        { Type: 'slurm' },
        { Type: 'jupyter', Config: { token: JUPYTER_TOKEN } },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('hpc-e2e', 14);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn e2e: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    const m = machinery();
    nodes = await m.provider.listNodes({ clusterId, clusterName: 'hpc-e2e', signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name).sort()).toEqual(['hpc-e2e-master', 'hpc-e2e-monitoring', 'hpc-e2e-slave-1', 'hpc-e2e-slave-2', 'hpc-e2e-storage']);
    keyFile = (await m.provider.keys.ensure(clusterId)).privateKeyFile;
    // Passwords never reach events (all of them: every task's start and every result per host).
    const all = await allEvents('hpc-e2e');
    expect(all.some((e) => e.Message.startsWith('[redis] ') && e.Message.endsWith(': started'))).toBe(true);
    const events = JSON.stringify(all);
    for (const secret of [REDIS_PW, PG_PW, MARIA_PW, JUPYTER_TOKEN]) expect(events).not.toContain(secret);
  }, 15 * 60_000);

  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;

  it('answers: Redis PING with its password, SELECT 1 on PostgreSQL and MariaDB, Jupyter /api', async () => {
    const storage = node('-storage').address;
    expect(await redisCommands(storage, 6379, [['AUTH', REDIS_PW], ['PING']])).toEqual(['+OK', '+PONG']);
    const c = new pg.Client({ host: storage, port: 5432, user: 'pguser', password: PG_PW, database: 'postgres' });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await c.end();
    const my = await createConnection({ host: storage, port: 3306, user: 'user', password: MARIA_PW, database: 'mariadb' });
    const [rows] = await my.query('SELECT 1 AS one');
    expect((rows as Array<{ one: number }>)[0]!.one).toBe(1);
    await my.end();
    const api = await httpGet(`http://${node('-master').address}:8888/api`, { Authorization: `token ${JUPYTER_TOKEN}` });
    expect(api.status).toBe(200);
    expect(api.body).toContain('version');
  }, 120_000);

  it('runs srun -N2 hostname on both slaves, and installed the admin key', () => {
    const out = ssh(keyFile, node('-master').address, 'srun -N2 hostname').split('\n').map((l) => l.trim()).filter(Boolean).sort();
    expect(out).toEqual(['hpc-e2e-slave-1', 'hpc-e2e-slave-2']);
    expect(ssh(keyFile, node('-slave-1').address, 'cat /root/.ssh/authorized_keys')).toContain('e2e-admin');
  }, 120_000);

  it('has every node as an up Prometheus target', async () => {
    const until = Date.now() + 120_000;
    let last = '';
    for (;;) {
      const r = await httpGet(`http://${node('-monitoring').address}:9090/api/v1/targets`, {}, 5000);
      const targets = (JSON.parse(r.body).data.activeTargets ?? []) as Array<{ labels: { instance: string }; health: string }>;
      const up = new Set(targets.filter((t) => t.health === 'up').map((t) => t.labels.instance.split(':')[0]));
      last = JSON.stringify(targets.map((t) => [t.labels.instance, t.health]));
      const covered = nodes.every((n) => up.has(n.address) || up.has(n.name));
      if (covered) break;
      if (Date.now() > until) throw new Error(`not every node is an up target: ${last}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }, 180_000);

  it('a failing task puts its host, role and task into the operation error', async () => {
    const created = await call('POST', '/projects/e2e/clusters', {
      DisplayName: 'bad',
      Services: [{ Type: 'jupyter', Config: { token: 'x-token-123', install_sparkmagic: 'true' } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('bad-e2e', 11);
    expect(r.status).toBe('FAILED');
    const err = r.op.Error as { Phase?: string; phase?: string; message?: string; Message?: string; output?: string; Output?: string };
    const text = JSON.stringify(err);
    expect(text).toContain('host bad-e2e-master');
    expect(text).toContain('role jupyter');
    expect(text).toContain("task 'Check the Jupyter request'");
    expect(text).toContain('sparkmagic');
    expect((await call('DELETE', '/projects/e2e/clusters/bad-e2e')).status).toBe(200);
    expect((await settle('bad-e2e', 3)).status).toBe('GONE');
  }, 15 * 60_000);

  it('a second apply of every role (create.yml: prepare + every service) reports changed=0', async () => {
    const op = (await running.store.operations.latest(clusterId, 'create'))!;
    const plan = op.plan as OperationPlan;
    const m = machinery();
    const key = await m.provider.keys.ensure(clusterId);
    const changed: string[] = [];
    // One run of the hand-run wrapper with exactly what the deployer passes (inventory, extra-vars
    // with the same generated secrets), which applies every role once.
    const generated: Record<string, Record<string, string>> = {};
    const vars = runVars({ plan, clusterName: 'hpc-e2e', action: 'create', knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')), keyFile: key.privateKeyFile, nodes, aptProxy: m.provider.aptProxyUrl()!, generated });
    const out = await runPlaybook({
      ansibleDir: join(PACKAGE_ROOT, 'ansible'),
      playbook: 'create.yml',
      inventory: buildInventory('hpc-e2e', nodes, key.privateKeyFile),
      extraVars: serializeExtraVars(vars),
      callbackDir: join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
      signal: AbortSignal.timeout(10 * 60_000),
      taskTimeoutSeconds: 300,
      redact: (t) => t,
      onResult: (r) => {
        if (r.status === 'changed') changed.push(`${r.host} [${r.role}] ${r.task}`);
      },
    });
    expect(changed).toEqual([]);
    expect(Object.values(out.stats).reduce((a, s) => a + s.changed, 0)).toBe(0);
  }, 11 * 60_000);

  it('delete leaves no container, namespace or link', async () => {
    expect((await call('DELETE', '/projects/e2e/clusters/hpc-e2e')).status).toBe(200);
    expect((await settle('hpc-e2e', 10)).status).toBe('GONE');
    await nothingLeftOf(machinery().provider, clusterId, join(dir, 'data'));
  }, 11 * 60_000);
});
