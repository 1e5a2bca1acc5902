// Real servers on real loopback addresses: for every service whose program is installed here, deploy
// it on a fresh local node, check health and that its credentials are enforced, redeploy (no second
// process, also from a "restarted" deployer), remove it and check that nothing is left.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { cmdlineOf, findProcesses, isAlive, readPidFile } from '../../src/host/processes.js';
import { httpGet, natsPing, portOpen, redisCommands } from '../../src/deploy/local/net.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { context, deployment, freeishPort, isRoot, tempRoot } from './helpers.js';
import { lacksProgram } from '../helpers/requirements.js';
import { programVersion } from '../../src/deploy/local/hostVersions.js';
import { clickhouse } from '../../src/deploy/local/clickhouse.js';

const tmp = tempRoot('services');
const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.81.0.0/16' });
const deployer = new LocalDeployer({ startTimeoutMs: 60_000, stopTimeoutMs: 15_000 });
const timings: Array<{ service: string; seconds: number; again: number }> = [];

afterAll(async () => {
  if (timings.length > 0) {
    console.log(
      'deploy → healthy (fresh node) / idempotent redeploy:\n' +
        timings.map((t) => `  ${t.service.padEnd(11)} ${t.seconds.toFixed(2)} s / ${t.again.toFixed(3)} s`).join('\n'),
    );
  }
  await tmp.cleanup();
}, 60_000);

interface Case {
  type: string;
  program: string;
  processName: string;
  config: () => Record<string, string>;
  /** The version to run when the catalog's default is not the host's (ClickHouse: Debian has 18.16, the catalog 25.x). */
  version?: () => Promise<string>;
  /** Resolves true when wrong or missing credentials are turned away. */
  refused?: (node: ProvisionedNode, port: number) => Promise<boolean>;
  /** Uses the credentials as a client would (config value or the generated one). */
  works?: (node: ProvisionedNode, port: number, creds: Record<string, string>, config: Record<string, string>) => Promise<boolean>;
}

const rnd = () => randomBytes(4).toString('hex');

async function pgLogin(node: ProvisionedNode, port: number, user: string, password: string, database: string): Promise<boolean> {
  const c = new pg.Client({ host: node.address, port, user, password, database, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const r = await c.query<{ one: number }>('SELECT 1 AS one');
    return r.rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function myLogin(node: ProvisionedNode, port: number, user: string, password: string, database: string): Promise<boolean> {
  try {
    const c = await createConnection({ host: node.address, port, user, password, database, connectTimeout: 3000 });
    try {
      const [rows] = await c.query('SELECT 1 AS one');
      return (rows as Array<{ one: number }>)[0]?.one === 1;
    } finally {
      await c.end();
    }
  } catch {
    return false;
  }
}

const CASES: Case[] = [
  {
    type: 'redis',
    program: '/usr/bin/redis-server',
    processName: 'redis-server',
    // A configured password with characters the config syntax must quote.
    config: () => ({ db_password: `r"e\\dis ${rnd()}` }),
    refused: async (node, port) => {
      const [noAuth] = await redisCommands(node.address, port, [['PING']]);
      const [wrong] = await redisCommands(node.address, port, [['AUTH', 'not-the-password']]);
      return noAuth!.startsWith('-NOAUTH') && wrong!.startsWith('-WRONGPASS');
    },
    works: async (node, port, creds, config) => {
      expect(creds.password).toBe(config.db_password);
      const r = await redisCommands(node.address, port, [['AUTH', config.db_password!], ['SET', 'k', 'v'], ['GET', 'k']]);
      return r.join(',') === '+OK,+OK,v';
    },
  },
  {
    type: 'postgresql',
    program: '/usr/lib/postgresql/15/bin/postgres',
    processName: 'postgres',
    // Empty password: generated and kept in the node's data directory.
    config: () => ({ db_password: '', db_user: 'app_user', db_name: 'appdb' }),
    refused: async (node, port) => !(await pgLogin(node, port, 'postgres', 'wrong-password', 'postgres')) && !(await pgLogin(node, port, 'app_user', '', 'appdb')),
    works: async (node, port, creds) =>
      creds.password!.length >= 20 && (await pgLogin(node, port, 'postgres', creds.password!, 'postgres')) && (await pgLogin(node, port, 'app_user', creds.password!, 'appdb')),
  },
  {
    type: 'mariadb',
    program: '/usr/sbin/mariadbd',
    processName: 'mariadbd',
    config: () => ({ db_password: `m'a"r\\ia ${rnd()}`, db_user: 'app', db_name: 'appdb' }),
    refused: async (node, port) => !(await myLogin(node, port, 'app', 'wrong', 'appdb')) && !(await myLogin(node, port, 'root', '', 'mysql')),
    works: async (node, port, creds, config) => creds.password === config.db_password && (await myLogin(node, port, 'app', config.db_password!, 'appdb')),
  },
  {
    type: 'jupyter',
    program: '/usr/bin/jupyter-notebook',
    processName: 'jupyter-notebook',
    config: () => ({ token: '' }),
    refused: async (node, port) => {
      const none = await httpGet(`http://${node.address}:${port}/api/status`);
      const wrong = await httpGet(`http://${node.address}:${port}/api/status`, { Authorization: 'token nope' });
      return none.status === 403 && wrong.status === 403;
    },
    works: async (node, port, creds) => {
      const r = await httpGet(`http://${node.address}:${port}/api/contents`, { Authorization: `token ${creds.token}` });
      return r.status === 200;
    },
  },
  {
    type: 'clickhouse',
    program: '/usr/sbin/clickhouse-server',
    processName: 'clickhouse-server',
    version: async () => (await programVersion('/usr/sbin/clickhouse-server', clickhouse.versionProbe!))!.split('.').slice(0, 2).join('.'),
    config: () => ({ db_password: '' }),
    refused: async (node, port) => {
      const none = await httpGet(`http://${node.address}:${port}/?query=SELECT%201`);
      const wrong = await httpGet(`http://${node.address}:${port}/?query=SELECT%201`, { Authorization: `Basic ${Buffer.from('default:x').toString('base64')}` });
      return none.status !== 200 && wrong.status !== 200;
    },
    works: async (node, port, creds) => {
      const auth = Buffer.from(`default:${creds.password}`).toString('base64');
      const r = await httpGet(`http://${node.address}:${port}/?query=SELECT%2040%2B2`, { Authorization: `Basic ${auth}` });
      return r.status === 200 && r.body.trim() === '42';
    },
  },
  {
    type: 'nats',
    program: '/usr/sbin/nats-server',
    processName: 'nats-server',
    config: () => ({ user: 'app', password: `n"ats ${rnd()}`, jetstream: 'true' }),
    refused: async (node, port) => {
      const wrong = await natsPing(node.address, port, { user: 'app', pass: 'wrong' });
      const none = await natsPing(node.address, port, undefined);
      return wrong.answer.startsWith('-ERR') && none.answer.startsWith('-ERR');
    },
    works: async (node, port, creds, config) => {
      const r = await natsPing(node.address, port, { user: 'app', pass: config.password! });
      return creds.password === config.password && r.answer === 'PONG' && r.info.jetstream === true;
    },
  },
  {
    type: 'prometheus',
    program: '/usr/bin/prometheus',
    processName: 'prometheus',
    config: () => ({ scrape_interval: '5s', retention_time: '1d', install_node_exporter: 'false' }),
    works: async (node, port) => {
      const r = await httpGet(`http://${node.address}:${port}/api/v1/status/runtimeinfo`);
      return r.status === 200;
    },
  },
];

const secretsIn = (config: Record<string, string>, creds: Record<string, string>) =>
  [...Object.values(creds), ...Object.values(config)].filter((v) => v.length >= 8);

describe.each(CASES)('local $type', (c) => {
  const missing = lacksProgram(c.program);
  it.skipIf(missing)(`deploys, enforces credentials, redeploys without a second process and removes cleanly${missing ? ` (skipped: ${c.program} is not installed)` : ''}`, async () => {
    const ctx = context();
    const node = await provider.ensureNode(ctx, { name: `${ctx.clusterId}-storage`, role: 'storage', flavor: 'local', image: 'host' });
    await provider.waitReachable(ctx, node);
    const port = freeishPort();
    const config = c.config();
    const d = deployment(c.type, [node], { config, accessPort: port });
    if (c.version) d.version = await c.version();
    expect(await deployer.check([{ type: d.type, version: d.version }])).toEqual([]);

    const t0 = performance.now();
    await deployer.deploy(ctx, d);
    const seconds = (performance.now() - t0) / 1000;

    const health = await deployer.health(ctx, d);
    expect(health, health.detail).toMatchObject({ healthy: true });

    const dir = join(node.dataDir!, 'services', c.type);
    const pid = (await readPidFile(join(dir, `${c.processName}.pid`)))!;
    expect(pid).toBeGreaterThan(1);
    expect(await isAlive(pid)).toBe(true);
    // Detached: its own session, so it outlives Michman.
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]).toBe(String(pid));

    // Never root: postgres and mariadbd refuse it, and nobody should get a root shell through a notebook.
    if (isRoot) expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]).not.toBe('0');

    // Bound to the node address and the AccessPort only.
    expect(await portOpen(node.address, port)).toBe(true);
    expect(await portOpen('127.0.0.1', port)).toBe(false);

    const creds = await deployer.credentials(d);
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    if (c.refused) expect(await c.refused(node, port)).toBe(true);
    if (c.works) expect(await c.works(node, port, creds, config)).toBe(true);

    // Secrets appear neither in arguments nor in events.
    const argv = ((await cmdlineOf(pid)) ?? []).join(' ');
    const eventsText = JSON.stringify(ctx.events);
    for (const s of secretsIn(config, creds)) {
      expect(argv.includes(s)).toBe(false);
      expect(eventsText.includes(s)).toBe(false);
    }
    expect(ctx.events.some((e) => e.phase === 'deploy' && /ready on/.test(e.message))).toBe(true);

    // Idempotent: a repeated deploy, and one from a fresh deployer (Michman restarted), keep the process.
    const t1 = performance.now();
    await deployer.deploy(ctx, d);
    const again = (performance.now() - t1) / 1000;
    await new LocalDeployer().deploy(ctx, d);
    expect(await readPidFile(join(dir, `${c.processName}.pid`))).toBe(pid);
    expect(await findProcesses({ programs: [c.processName], marker: dir })).toEqual([pid]);
    expect(ctx.events.filter((e) => /already running/.test(e.message)).length).toBe(2);
    timings.push({ service: c.type, seconds, again });

    await deployer.remove(ctx, d);
    expect(await isAlive(pid)).toBe(false);
    expect(await portOpen(node.address, port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(ctx.events.some((e) => e.phase === 'delete' && /stopped/.test(e.message))).toBe(true);
    expect((await deployer.health(ctx, d)).healthy).toBe(false);
    await deployer.remove(ctx, d); // absent service: not an error

    await provider.deleteNode(ctx, node);
    expect(existsSync(node.dataDir!)).toBe(false);
  }, 120_000);
});
