// The process bookkeeping of the local deployer: refusals at check time, stale pid files that point
// at strangers, crashes, lost pid files, concurrent deploys, aborts and start-up failures.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { findProcesses, isAlive, readPidFile } from '../../src/host/processes.js';
import { executable, type ServiceModule } from '../../src/deploy/local/service.js';
import { httpGet, portOpen } from '../../src/deploy/local/net.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { context, deployment, freeishPort, tempRoot, type RecordingContext } from './helpers.js';
import { lacksProgram, lacksRoot } from '../helpers/requirements.js';

const tmp = tempRoot('lifecycle');
const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.82.0.0/16' });
const deployer = new LocalDeployer({ startTimeoutMs: 30_000, stopTimeoutMs: 10_000 });
const strangers: ChildProcess[] = [];

afterAll(async () => {
  for (const s of strangers) s.kill('SIGKILL');
  await tmp.cleanup();
}, 60_000);

const NO_REDIS = lacksProgram('/usr/bin/redis-server');
const NO_NATS = lacksProgram('/usr/sbin/nats-server');
const NO_POSTGRES = lacksProgram('/usr/lib/postgresql/15/bin/postgres');

async function freshNode(ctx: RecordingContext, role: ProvisionedNode['role'] = 'storage', suffix = 'storage'): Promise<ProvisionedNode> {
  return provider.ensureNode(ctx, { name: `${ctx.clusterId}-${suffix}`, role, flavor: 'local', image: 'host' });
}

/** An unrelated long-running process (`sleep 60`) that a stale pid file can point at. */
function stranger(): number {
  const s = spawn('sleep', ['60'], { stdio: 'ignore' });
  strangers.push(s);
  return s.pid!;
}

describe('check', () => {
  it('refuses services the local provider cannot run, naming the alternative', async () => {
    expect(await deployer.check([{ type: 'ignite', version: '2.17.0' }])).toEqual([
      "service 'ignite' cannot run on the local provider; use openstack or nspawn",
    ]);
    const [lab] = await deployer.check([{ type: 'jupyter', version: 'jupyter-lab' }]);
    expect(lab).toMatch(/^service 'jupyter' version 'jupyter-lab' cannot run on the local provider/);
  });

  it('names the Debian package of a missing program', async () => {
    const ghost: ServiceModule = {
      type: 'ghost',
      defaultPort: 1,
      processName: 'ghost-server',
      runAs: [],
      secretParams: {},
      locate: () => executable('/usr/sbin/ghost-server', 'ghost', 'ghost-server'),
      ports: () => [],
      configure: () => Promise.reject(new Error('unused')),
      health: () => Promise.resolve({ healthy: false, detail: 'unused' }),
    };
    const d = new LocalDeployer({ modules: [ghost] });
    expect(await d.check([{ type: 'ghost', version: '1' }])).toEqual(["service 'ghost' needs ghost-server: apt-get install ghost-server"]);
  });

  it('accepts every service whose program is installed here', async () => {
    const present = [
      ['redis', '7.0', '/usr/bin/redis-server'],
      ['postgresql', '15', '/usr/lib/postgresql/15/bin/postgres'],
      ['mariadb', '10.11', '/usr/sbin/mariadbd'],
      ['jupyter', 'jupyter-notebook', '/usr/bin/jupyter-notebook'],
      ['clickhouse', '18.16', '/usr/sbin/clickhouse-server'], // Debian 12's: the catalog's 25.x cannot run here
      ['nats', '2.9', '/usr/sbin/nats-server'],
      ['prometheus', '2.42', '/usr/bin/prometheus'],
    ].filter(([, , p]) => !lacksProgram(p!));
    expect(await deployer.check(present.map(([type, version]) => ({ type: type!, version: version! })))).toEqual([]);
  });
});

describe('stale pid files', () => {
  it('remove and deleteNode never signal a process that is not ours', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const dir = join(node.dataDir!, 'services', 'redis');
    mkdirSync(dir, { recursive: true });
    const pid = stranger();
    writeFileSync(join(dir, 'redis-server.pid'), `${pid}\n`);
    await deployer.remove(ctx, deployment('redis', [node]));
    expect(await isAlive(pid)).toBe(true);
    expect(existsSync(dir)).toBe(false);

    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'redis-server.pid'), `${pid}\n`);
    writeFileSync(join(dir, 'sleep.pid'), `${pid}\n`); // even named after the program: wrong directory
    await provider.deleteNode(ctx, node);
    expect(existsSync(node.dataDir!)).toBe(false);
    expect(await isAlive(pid)).toBe(true);
  });

  it.skipIf(NO_REDIS)('deploy starts its own server instead of trusting a stale pid, and remove spares the stranger', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const dir = join(node.dataDir!, 'services', 'redis');
    mkdirSync(dir, { recursive: true });
    const pid = stranger();
    writeFileSync(join(dir, 'redis-server.pid'), `${pid}\n`);
    const d = deployment('redis', [node], { accessPort: freeishPort() });
    await deployer.deploy(ctx, d);
    const mine = await readPidFile(join(dir, 'redis-server.pid'));
    expect(mine).not.toBe(pid);
    expect((await deployer.health(ctx, d)).healthy).toBe(true);
    await deployer.remove(ctx, d);
    expect(await isAlive(mine!)).toBe(false);
    expect(await isAlive(pid)).toBe(true);
    await provider.deleteNode(ctx, node);
  }, 60_000);
});

describe.skipIf(NO_REDIS)('crashes, lost pid files, concurrency (redis)', () => {
  it('restarts a crashed server and adopts a running one whose pid file was lost', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const d = deployment('redis', [node], { accessPort: freeishPort(), config: { db_password: '' } });
    const dir = join(node.dataDir!, 'services', 'redis');
    const pidFile = join(dir, 'redis-server.pid');
    await deployer.deploy(ctx, d);
    const first = (await readPidFile(pidFile))!;
    const password = (await deployer.credentials(d)).password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);

    process.kill(first, 'SIGKILL');
    for (let i = 0; i < 100 && (await isAlive(first)); i++) await new Promise((r) => setTimeout(r, 20));
    const h = await deployer.health(ctx, d);
    expect(h.healthy).toBe(false);
    expect(h.detail).toMatch(/not running/);
    await deployer.deploy(ctx, d);
    const second = (await readPidFile(pidFile))!;
    expect(second).not.toBe(first);
    // The generated password survives the restart.
    expect((await deployer.credentials(d)).password).toBe(password);

    writeFileSync(pidFile, ''); // lost/corrupt pid file: found again by /proc, not started twice
    await deployer.deploy(ctx, d);
    expect(await readPidFile(pidFile)).toBe(second);
    expect(ctx.events.some((e) => /adopted/.test(e.message))).toBe(true);
    expect(await findProcesses({ programs: ['redis-server'], marker: dir })).toEqual([second]);

    await deployer.remove(ctx, d);
    await provider.deleteNode(ctx, node);
  }, 60_000);

  it('concurrent deploys of one service start one process', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const d = deployment('redis', [node], { accessPort: freeishPort() });
    await Promise.all([deployer.deploy(ctx, d), deployer.deploy(ctx, d), new LocalDeployer().deploy(ctx, d)]);
    const dir = join(node.dataDir!, 'services', 'redis');
    expect((await findProcesses({ programs: ['redis-server'], marker: dir })).length).toBe(1);
    await deployer.remove(ctx, d);
    await provider.deleteNode(ctx, node);
  }, 60_000);

  it('deleteNode stops a service whose remove was skipped', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const d = deployment('redis', [node], { accessPort: freeishPort() });
    await deployer.deploy(ctx, d);
    const pid = (await readPidFile(join(node.dataDir!, 'services', 'redis', 'redis-server.pid')))!;
    await provider.deleteNode(ctx, node);
    expect(await isAlive(pid)).toBe(false);
    expect(existsSync(node.dataDir!)).toBe(false);
  }, 60_000);

  it('refuses to start on a port another program holds, and stops at once when aborted', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    const port = freeishPort();
    const squatter = createServer();
    await new Promise<void>((ok) => squatter.listen(port, node.address, ok));
    try {
      await expect(deployer.deploy(ctx, deployment('redis', [node], { accessPort: port }))).rejects.toThrow(/already in use by another program/);
    } finally {
      await new Promise((ok) => squatter.close(ok));
    }
    const aborted = context(ctx.clusterId);
    aborted.controller.abort(new Error('cancelled by the user'));
    await expect(deployer.deploy(aborted, deployment('redis', [node], { accessPort: port }))).rejects.toThrow(/cancelled by the user/);
    expect(await findProcesses({ programs: ['redis-server'], marker: node.dataDir! })).toEqual([]);
    await provider.deleteNode(ctx, node);
  }, 60_000);
});

describe('start-up failures', () => {
  it('report that the program exited, with the end of its log and secrets masked', async () => {
    const broken: ServiceModule = {
      type: 'broken',
      defaultPort: 1,
      processName: 'sh',
      runAs: [],
      secretParams: { password: 'db_password' },
      locate: () => executable('/bin/sh', 'broken', 'dash'),
      ports: () => [],
      configure: async (run) => ({
        program: '/bin/sh',
        args: ['-c', 'echo "starting with $0"; echo "fatal: cannot open $1" >&2; exit 3', run.confDir, run.secrets.password ?? ''],
      }),
      health: () => Promise.resolve({ healthy: false, detail: 'never' }),
    };
    const d = new LocalDeployer({ modules: [broken], startTimeoutMs: 10_000 });
    const ctx = context();
    const node = await freshNode(ctx);
    const dep = { ...deployment('redis', [node]), type: 'broken', config: { db_password: 'sup3r-s3cret-value' } };
    const err = await d.deploy(ctx, dep).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/sh exited during start-up; end of its log:/);
    expect(err?.message).toContain('fatal: cannot open ***');
    expect(err?.message).not.toContain('sup3r-s3cret-value');
    await provider.deleteNode(ctx, node);
  });

  it('rejects config values a service cannot take, before writing anything', async () => {
    const ctx = context();
    const node = await freshNode(ctx);
    await expect(deployer.deploy(ctx, deployment('nats', [node], { config: { max_payload: 'lots' } }))).rejects.toThrow(/max_payload must be an integer/);
    await expect(deployer.deploy(ctx, deployment('mariadb', [node], { config: { db_user: "x'; DROP" } }))).rejects.toThrow(/db_user/);
    await provider.deleteNode(ctx, node);
  });

  it.skipIf(lacksRoot() || NO_POSTGRES)('names the directory a service user cannot traverse', async () => {
    const closed = join(tmp.root, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const p = new LocalProvider({ dataRoot: join(closed, 'data'), addressBase: '127.82.0.0/16' });
    const ctx = context();
    const node = await p.ensureNode(ctx, { name: 'n-storage', role: 'storage', flavor: 'local', image: 'host' });
    await expect(deployer.deploy(ctx, deployment('postgresql', [node]))).rejects.toThrow(/is not searchable by the service user postgres; run 'chmod o\+x/);
    await p.deleteNode(ctx, node);
  });
});

describe.skipIf(NO_NATS)('multi-node services (nats)', () => {
  it('runs one server per node, joined by routes, and removes all of them', async () => {
    const ctx = context();
    const master = await freshNode(ctx, 'master', 'master');
    const slave = await freshNode(ctx, 'slave', 'slave-1');
    const d = deployment('nats', [master, slave], { accessPort: freeishPort(), config: { jetstream: 'false' } });
    await deployer.deploy(ctx, d);
    const h = await deployer.health(ctx, d);
    expect(h.healthy, h.detail).toBe(true);
    // Same generated password on both nodes, and the two servers see each other.
    let routes = 0;
    for (let i = 0; i < 50 && routes < 1; i++) {
      const r = await httpGet(`http://${master.address}:8222/routez`);
      routes = (JSON.parse(r.body) as { num_routes: number }).num_routes;
      if (routes < 1) await new Promise((ok) => setTimeout(ok, 100));
    }
    expect(routes).toBe(1);
    await deployer.remove(ctx, d);
    for (const n of [master, slave]) {
      expect(await portOpen(n.address, d.accessPort)).toBe(false);
      expect(existsSync(join(n.dataDir!, 'services', 'nats'))).toBe(false);
      await provider.deleteNode(ctx, n);
    }
  }, 60_000);
});

describe.skipIf(lacksProgram('/usr/bin/jupyter-notebook'))('notebook kernels (jupyter)', () => {
  it('kernels listen on loopback only and are stopped with the server', async () => {
    const ctx = context();
    const node = await freshNode(ctx, 'master', 'master');
    const d = deployment('jupyter', [node], { accessPort: freeishPort() });
    await deployer.deploy(ctx, d);
    const { token } = await deployer.credentials(d);
    const base = `http://${node.address}:${d.accessPort}`;
    const started = await fetch(`${base}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}` }, body: '{}' });
    expect(started.status).toBe(201);
    const kernel = (await started.json()) as { id: string };
    const dir = join(node.dataDir!, 'services', 'jupyter');
    const conn = JSON.parse(readFileSync(join(dir, 'conf', 'runtime', `kernel-${kernel.id}.json`), 'utf8')) as { ip: string };
    expect(conn.ip).toBe('127.0.0.1');
    let kernels: number[] = [];
    for (let i = 0; i < 100 && kernels.length === 0; i++) {
      kernels = await findProcesses({ programs: ['ipykernel_launcher'], marker: dir });
      if (kernels.length === 0) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(kernels.length).toBe(1);
    await deployer.remove(ctx, d);
    for (const k of kernels) expect(await isAlive(k)).toBe(false);
    expect(await portOpen(node.address, d.accessPort)).toBe(false);
    await provider.deleteNode(ctx, node);
  }, 60_000);
});
