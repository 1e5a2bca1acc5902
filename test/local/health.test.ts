// Health that stays true, with a real redis-server on the local provider: the worker's periodic
// check (health_interval, here 1 s) notices a killed server, the API shows the service UNHEALTHY
// and the cluster DEGRADED, with events; started again through the deployer, both are ACTIVE
// again. The credentials endpoint's password and connection string open the real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { Store } from '../../src/store/store.js';
import { Worker } from '../../src/engine/worker.js';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { MemorySecretStore } from '../../src/secrets/memory.js';
import { importCatalogFiles, BUILTIN_CATALOG_DIR } from '../../src/catalog.js';
import { findProcesses } from '../../src/host/processes.js';
import { redisCommands } from '../../src/deploy/local/net.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { lacksProgram } from '../helpers/requirements.js';
import { context, deployment, tempRoot } from './helpers.js';

const NO_REDIS = lacksProgram('/usr/bin/redis-server');
const tmp = tempRoot('health');
const PASSWORD = 'Health-test-pw-31';

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(NO_REDIS)('periodic health check on the local provider', () => {
  let store: Store;
  let app: FastifyInstance;
  let api: Api;
  let worker: Worker;
  const secrets = new MemorySecretStore();
  const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.86.0.0/16' });

  beforeAll(async () => {
    store = await Store.open({ storage: 'sqlite', url: join(tmp.root, 'michman.sqlite') });
    await store.migrate();
    const imported = await importCatalogFiles(store, [join(BUILTIN_CATALOG_DIR, 'redis.json')]);
    expect(imported.every((r) => !r.error)).toBe(true);
    app = await buildServer({ store, logger: false, secrets });
    api = new Api(app, store, secrets);
    await api.post('/images', image());
    await api.post('/flavors', flavor());
    expect((await api.post('/projects', project('hp'))).status).toBe(201);
    worker = new Worker(store, { provider, deployer: new LocalDeployer({ startTimeoutMs: 30_000, stopTimeoutMs: 10_000 }), secrets, pollMs: 50, reconcileMs: 0, healthIntervalMs: 1_000, healthTimeoutMs: 5_000 });
    worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await store?.close();
    await tmp.cleanup();
  }, 60_000);

  const cluster = async (name: string) => (await api.get(`/projects/hp/clusters/${name}`)).data;

  it('creates a Redis cluster whose service is ACTIVE, with working credentials', async () => {
    expect((await api.post('/projects/hp/clusters', { DisplayName: 'kv', Services: [{ Type: 'redis', Config: { db_password: PASSWORD } }] })).status).toBe(201);
    const c = await until(() => cluster('kv-hp'), (x) => x.EntityStatus === 'ACTIVE' || x.EntityStatus === 'FAILED');
    expect(c.EntityStatus).toBe('ACTIVE');
    expect(c.Services[0].EntityStatus).toBe('ACTIVE');
    const [cred] = (await api.get('/projects/hp/clusters/kv-hp/credentials')).data;
    expect(cred).toMatchObject({ Type: 'redis', Password: PASSWORD });
    expect(await redisCommands(cred.Host, cred.Port, [['AUTH', cred.Password], ['PING']])).toEqual(['+OK', '+PONG']);
  }, 90_000);

  it('shows a killed redis-server as UNHEALTHY and the cluster DEGRADED, with events', async () => {
    const pids = await findProcesses({ programs: ['redis-server'], marker: tmp.dataRoot });
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL');
    const c = await until(() => cluster('kv-hp'), (x) => x.EntityStatus === 'DEGRADED' && x.Services[0].EntityStatus === 'UNHEALTHY', 20_000);
    expect(c.EntityStatus).toBe('DEGRADED');
    expect(c.Services[0].EntityStatus).toBe('UNHEALTHY');
    const events = (await api.get('/projects/hp/clusters/kv-hp/events')).data as Array<{ Level: string; Phase: string; Message: string }>;
    expect(events.some((e) => e.Level === 'warn' && e.Phase === 'health' && e.Message.startsWith('redis fails its health check'))).toBe(true);
    expect(events.some((e) => e.Level === 'warn' && e.Message === 'cluster DEGRADED: redis unhealthy')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
  }, 30_000);

  it('is ACTIVE again once the server runs again (started through the deployer)', async () => {
    const c = await cluster('kv-hp');
    const ctx = context(c.ID);
    const nodes = await provider.listNodes(ctx);
    await new LocalDeployer({ startTimeoutMs: 30_000 }).deploy(ctx, deployment('redis', nodes, { config: { db_password: PASSWORD } }));
    const back = await until(() => cluster('kv-hp'), (x) => x.EntityStatus === 'ACTIVE' && x.Services[0].EntityStatus === 'ACTIVE', 20_000);
    expect(back.EntityStatus).toBe('ACTIVE');
    expect(back.Services[0].EntityStatus).toBe('ACTIVE');
    const events = (await api.get('/projects/hp/clusters/kv-hp/events')).data as Array<{ Level: string; Message: string }>;
    expect(events.some((e) => e.Level === 'info' && e.Message.startsWith('redis passes its health check again'))).toBe(true);
    expect(events.some((e) => e.Level === 'info' && e.Message === 'cluster ACTIVE again: every service passes its health check')).toBe(true);
  }, 30_000);

  it('gives a generated password that opens the server', async () => {
    expect((await api.post('/projects/hp/clusters', { DisplayName: 'gen', Services: [{ Type: 'redis' }] })).status).toBe(201);
    const c = await until(() => cluster('gen-hp'), (x) => x.EntityStatus === 'ACTIVE' || x.EntityStatus === 'FAILED');
    expect(c.EntityStatus).toBe('ACTIVE');
    const [cred] = (await api.get('/projects/hp/clusters/gen-hp/credentials')).data;
    expect(cred.Password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await redisCommands(cred.Host, cred.Port, [['AUTH', cred.Password], ['PING']])).toEqual(['+OK', '+PONG']);
    expect(cred.ConnectionString).toBe(`redis://:${cred.Password}@${cred.Host}:${cred.Port}`);
  }, 90_000);

  it('deletes both clusters and their secrets', async () => {
    const ids = [(await cluster('kv-hp')).ID, (await cluster('gen-hp')).ID];
    for (const n of ['kv-hp', 'gen-hp']) expect((await api.delete(`/projects/hp/clusters/${n}`)).status).toBe(200);
    for (const n of ['kv-hp', 'gen-hp']) expect(await until(() => api.get(`/projects/hp/clusters/${n}`).then((r) => r.status), (s) => s === 404)).toBe(404);
    for (const id of ids) expect(await secrets.get(`michman/clusters/${id}/services/redis`)).toBeUndefined();
    expect(await findProcesses({ programs: ['redis-server'], marker: tmp.dataRoot })).toEqual([]);
  }, 60_000);
});
