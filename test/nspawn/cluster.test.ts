// End to end through the API and the engine on the nspawn provider with the real roles of ansible/:
// a cluster of Redis, PostgreSQL and MariaDB on the storage node, Slurm on a master and two slaves,
// Jupyter, and monitoring reaches ACTIVE; each service answers by its own protocol; srun runs on
// both slaves; Prometheus scrapes every node; a second apply of every playbook changes nothing; a
// failing task reaches the operation's error with host, role and task; delete leaves nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { serve, type Running } from '../../src/app.js';
import { nspawnMachinery } from '../../src/machinery/nspawn.js';
import { redisCommands, httpGet } from '../../src/deploy/local/net.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { IMAGES_DIR, allEvents as eventsOf, apiCall, applyAgain, createProject, e2eConfig, nothingLeftOf, nspawnMissing, tearDown, settle as settleOf, ssh } from './helpers.js';
import { freePort } from '../helpers/ports.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_CLUSTER_NETWORK ?? '10.213.241.0/24';
const REDIS_PW = 'e2e-redis-Pw-41';
const PG_PW = 'e2e-pg-Pw-42';
const MARIA_PW = 'e2e-maria-Pw-43';
const JUPYTER_TOKEN = 'e2e-jupyter-token-44';
const ADMIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eAdminKeyForMichmanTestsOnly0000000000 e2e-admin';

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('a Slurm + databases + Jupyter cluster on nspawn, end to end', () => {
  let dir: string;
  let running: Running;
  let base: string;
  const config = () =>
    e2eConfig(dir, port, {
      data_dir: join(dir, 'data'),
      nspawn_network: NETWORK,
      nspawn_images_dir: IMAGES_DIR,
      // Below the settle waits (and vitest's 15 min), so a step that hangs fails the operation
      // with its phase named, and the test shows that rather than a bare timeout.
      deploy_deadline_seconds: 660,
      ansible_task_timeout_seconds: 480,
    });
  let port = 0;
  const call = apiCall(() => base);
  const allEvents = (name: string) => eventsOf(call, 'e2e', name);
  const settle = (name: string, minutes: number) => settleOf(call, 'e2e', name, minutes);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-nspawn-e2e-'));
    port = await freePort();
    running = await serve(config());
    base = `http://127.0.0.1:${port}`;
    await createProject(call, 'e2e');
  }, 120_000);

  afterAll(async () => {
    // Whatever happened: no container, namespace or link of ours stays on the host.
    await tearDown(running, machinery().provider, dir);
  }, 300_000);

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const machinery = () => nspawnMachinery({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true });

  it('refuses at POST a service without a role, naming it', async () => {
    const r = await call('POST', '/projects/e2e/clusters', { DisplayName: 'nope', NSlaves: 1, Services: [{ Type: 'greenplum' }] });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain("service 'greenplum' has no Ansible role");
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
    // One run of the hand-run wrapper with exactly what the deployer passes (inventory, extra-vars
    // with the same generated secrets), which applies every role once.
    const { changed, total } = await applyAgain({ running, provider: machinery().provider, clusterId, clusterName: 'hpc-e2e', nodes, playbook: 'create.yml', timeoutMs: 10 * 60_000 });
    expect(changed).toEqual([]);
    expect(total).toBe(0);
  }, 11 * 60_000);

  it('delete leaves no container, namespace or link', async () => {
    expect((await call('DELETE', '/projects/e2e/clusters/hpc-e2e')).status).toBe(200);
    expect((await settle('hpc-e2e', 10)).status).toBe('GONE');
    await nothingLeftOf(machinery().provider, clusterId, join(dir, 'data'));
  }, 11 * 60_000);
});
