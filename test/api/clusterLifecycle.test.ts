// Lifecycle features users of Dataproc and EMR expect: a TTL after which the engine deletes the
// cluster (a normal delete operation, warned before), per-project limits refused at POST naming the
// limit and the usage, and clusters created from a stored template. Real worker, fake provider.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { backends } from '../helpers/stores.js';
import { expectError } from '../helpers/checks.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { ExpirySweeper } from '../../src/clusters/expiry.js';
import { until } from '../engine/workerProcess.js';

const KV = { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '7', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '7' }] };
const NB = { Type: 'nb', Class: 'stand-alone', AccessPort: 8888, DefaultVersion: '1', HealthCheck: [{ CheckType: 'HTTP' }], Versions: [{ Version: '1' }] };

for (const backend of backends()) {
  describe(`cluster lifecycle [${backend.name}]`, () => {
    let api: Api;
    let worker: Worker;
    let sweeper: ExpirySweeper;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const opened = await backend.open();
      let w: Worker | undefined;
      const app = await buildServer({ store: opened.store, logger: false, onEnqueue: () => w?.notify(), limits: { maxClusters: 3, maxNodes: 5 } });
      api = new Api(app, opened.store);
      worker = w = new Worker(opened.store, { provider: new FakeProvider(), deployer: new NoopDeployer(), pollMs: 20, leaseMs: 3_000, reconcileMs: 0 });
      worker.start();
      sweeper = new ExpirySweeper({ store: opened.store, onEnqueue: () => worker.notify() }, { intervalMs: 100, warnBeforeMs: 0 }).start();
      close = async () => {
        await sweeper.stop();
        await worker.stop();
        await app.close();
        await opened.cleanup();
      };
      expect((await api.post('/images', image())).status).toBe(201);
      expect((await api.post('/flavors', flavor())).status).toBe(201);
      for (const p of ['ttl', 'quota', 'tpl']) expect((await api.post('/projects', project(p))).status).toBe(201);
      for (const t of [KV, NB]) expect((await api.post('/configs', t)).status).toBe(201);
    });
    afterAll(() => close?.());

    const status = async (p: string, c: string) => {
      const r = await api.get(`/projects/${p}/clusters/${c}/status`);
      return r.status === 404 ? 'GONE' : (r.data as string);
    };

    it('a cluster with a TTL is warned, then deleted by a normal delete operation', async () => {
      const before = Date.now();
      const r = await api.post('/projects/ttl/clusters', { DisplayName: 'short', TTL: 3 });
      expect(r.status, r.raw).toBe(201);
      const expiresAt = Date.parse(r.data.ExpiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3000);
      const id = r.data.ID as string;
      await until('ACTIVE', async () => ((await status('ttl', 'short-ttl')) === 'ACTIVE' ? true : undefined), 20_000);
      expect((await api.get('/projects/ttl/clusters/short-ttl')).data.ExpiresAt).toBe(new Date(expiresAt).toISOString());
      await until('the cluster to be deleted', async () => ((await status('ttl', 'short-ttl')) === 'GONE' ? true : undefined), 30_000, 100);
      // Its history stays readable by ID: the warning came first, then a delete operation.
      const events = (await api.get(`/projects/ttl/clusters/${id}/events`)).data as Array<{ Phase: string; Message: string; Time: string }>;
      const warned = events.findIndex((e) => e.Phase === 'expiry' && /expires at .* it will be deleted then/.test(e.Message));
      const expired = events.findIndex((e) => e.Phase === 'expiry' && /expired at .*: deleting it/.test(e.Message));
      expect(warned).toBeGreaterThanOrEqual(0);
      expect(expired).toBeGreaterThan(warned);
      expect(Date.parse(events[warned]!.Time)).toBeLessThan(expiresAt);
      const ops = (await api.get(`/projects/ttl/clusters/${id}/operations`)).data as Array<{ Kind: string; Status: string }>;
      expect(ops.map((o) => [o.Kind, o.Status])).toEqual([['create', 'succeeded'], ['delete', 'succeeded']]);
    }, 60_000);

    it('ExpiresAt is RFC 3339 and in the future; TTL or ExpiresAt, not both; PUT changes it', async () => {
      expectError(await api.post('/projects/ttl/clusters', { DisplayName: 'bad', ExpiresAt: 'tomorrow' }), 400, 300, "ExpiresAt 'tomorrow' is not an RFC 3339 time");
      expectError(await api.post('/projects/ttl/clusters', { DisplayName: 'bad', ExpiresAt: '2001-01-01T00:00:00Z' }), 400, 300, 'is in the past');
      expectError(await api.post('/projects/ttl/clusters', { DisplayName: 'bad', ExpiresAt: '2099-01-01T00:00:00Z', TTL: 60 }), 400, 300, 'either ExpiresAt or TTL');
      expectError(await api.post('/projects/ttl/clusters', { DisplayName: 'bad', TTL: 0 }), 400, 200, "'TTL'");
      const r = await api.post('/projects/ttl/clusters', { DisplayName: 'long', ExpiresAt: '2099-01-01T00:00:00+02:00' });
      expect(r.status, r.raw).toBe(201);
      expect(r.data.ExpiresAt).toBe('2098-12-31T22:00:00.000Z');
      await until('ACTIVE', async () => ((await status('ttl', 'long-ttl')) === 'ACTIVE' ? true : undefined), 20_000);
      const put = await api.put('/projects/ttl/clusters/long-ttl', { ExpiresAt: '2098-06-01T00:00:00Z' });
      expect(put.status, put.raw).toBe(200);
      expect((await api.get('/projects/ttl/clusters/long-ttl')).data.ExpiresAt).toBe('2098-06-01T00:00:00.000Z');
      expectError(await api.put('/projects/ttl/clusters/long-ttl', { Template: 'x' }), 400, 300, "'Template' can be given at create only");
    }, 60_000);

    it('per-project limits: refused at POST naming the limit and the usage', async () => {
      // 2 nodes (master + slave).
      expect((await api.post('/projects/quota/clusters', { DisplayName: 'qa', NSlaves: 1 })).status).toBe(201);
      // 2 + 4 > 5 nodes: refused, dry run too.
      for (const q of ['', '?dryRun=true']) {
        expectError(await api.post(`/projects/quota/clusters${q}`, { DisplayName: 'qb', NSlaves: 3 }), 400, 300, "project 'quota' may have at most 5 nodes (project_max_nodes); its clusters have 2 and this one needs 4");
      }
      expect((await api.get('/projects/quota/clusters/qb-quota')).status).toBe(404);
      expect((await api.post('/projects/quota/clusters', { DisplayName: 'qb', NSlaves: 1 })).status).toBe(201);
      expect((await api.post('/projects/quota/clusters', { DisplayName: 'qc' })).status).toBe(201);
      expectError(await api.post('/projects/quota/clusters', { DisplayName: 'qd' }), 400, 300, "project 'quota' may have at most 3 clusters (project_max_clusters) and has 3");
      // Another project has its own count.
      expect((await api.post('/projects/tpl/clusters?dryRun=true', { DisplayName: 'qd' })).status).toBe(200);
      // Scaling out counts too.
      await until('ACTIVE', async () => ((await status('quota', 'qa-quota')) === 'ACTIVE' ? true : undefined), 20_000);
      expectError(await api.put('/projects/quota/clusters/qa-quota', { NSlaves: 3 }), 400, 300, "at most 5 nodes (project_max_nodes); its clusters have 5 and this change adds 2");
    }, 60_000);

    it('creates a cluster from a stored template: its Services and NSlaves unless the body gives them', async () => {
      const t = await api.post('/projects/tpl/templates', { DisplayName: 'kvnb', Services: [{ Type: 'kv' }, { Type: 'nb' }], NSlaves: 1, Description: 'a template' });
      expect(t.status, t.raw).toBeLessThan(300);
      const r = await api.post('/projects/tpl/clusters', { DisplayName: 'fromtpl', Template: 'kvnb' });
      expect(r.status, r.raw).toBe(201);
      expect(r.data).toMatchObject({ NSlaves: 1, Name: 'fromtpl-tpl' });
      expect(r.data.Services.map((s: { Type: string }) => s.Type)).toEqual(['kv', 'nb']);
      // The services are the cluster's own.
      const tpl = (await api.get('/projects/tpl/templates/kvnb-tpl')).data;
      expect(r.data.Services.map((s: { ID: string }) => s.ID)).not.toContain(tpl.Services[0].ID);
      // By ID; the body's fields win.
      const own = await api.post('/projects/tpl/clusters', { DisplayName: 'own', Template: tpl.ID, NSlaves: 0, Services: [{ Type: 'nb' }] });
      expect(own.status, own.raw).toBe(201);
      expect(own.data).toMatchObject({ NSlaves: 0 });
      expect(own.data.Services.map((s: { Type: string }) => s.Type)).toEqual(['nb']);
      // A common template, by its name.
      expect((await api.post('/templates', { DisplayName: 'shared', Services: [{ Type: 'nb' }] })).status).toBeLessThan(300);
      const shared = await api.post('/projects/tpl/clusters?dryRun=true', { DisplayName: 'shared', Template: 'shared' });
      expect(shared.status, shared.raw).toBe(200);
      expect(shared.data.Cluster.Services.map((s: { Type: string }) => s.Type)).toEqual(['nb']);
      // DisplayName is still required; an unknown template is a 404 naming it.
      expectError(await api.post('/projects/tpl/clusters', { Template: 'kvnb' }), 400, 300, 'Bad name');
      expectError(await api.post('/projects/tpl/clusters', { DisplayName: 'x', Template: 'nosuch' }), 404, 1000, 'template with this name or id (nosuch) does not exist');
    }, 60_000);
  });
}
