// The periodic health check shared by several workers on one database: each round, one of them
// checks a due cluster (the claim is a compare-and-set in the database, nothing in memory), the
// statuses follow the verdicts and each transition is one event.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { Store } from '../../src/store/store.js';
import { Worker } from '../../src/engine/worker.js';
import { HealthMonitor } from '../../src/engine/healthMonitor.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import type { Deployer, HealthResult, ServiceDeployment } from '../../src/deploy/types.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

const TYPES = [
  { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '1', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '1' }] },
  { Type: 'web', Class: 'stand-alone', AccessPort: 80, DefaultVersion: '1', HealthCheck: [{ CheckType: 'HTTP' }], Versions: [{ Version: '1' }] },
];

/** A deployer whose health answers are set by the test, counting the checks. */
class Scripted {
  calls: string[] = [];
  sick = new Set<string>();
  async health(ctx: { clusterId: string }, d: ServiceDeployment): Promise<HealthResult> {
    this.calls.push(`${ctx.clusterId}/${d.type}`);
    return this.sick.has(d.type) ? { healthy: false, detail: `${d.type}: connection refused` } : { healthy: true, detail: `${d.type}: ok` };
  }
}

for (const backend of backends()) {
  describe(`health monitor [${backend.name}]`, () => {
    let opened: OpenedStore;
    let second: Store;
    let app: FastifyInstance;
    let api: Api;
    const provider = new FakeProvider({ bootLatencyMs: 1 });
    const scripted = new Scripted();
    let a: HealthMonitor;
    let b: HealthMonitor;
    let ids: string[] = [];

    beforeAll(async () => {
      opened = await backend.open();
      second = await Store.open({ storage: backend.name, url: opened.url });
      app = await buildServer({ store: opened.store, logger: false });
      api = new Api(app, opened.store);
      await api.post('/images', image());
      await api.post('/flavors', flavor());
      await api.post('/projects', project('hm'));
      for (const t of TYPES) expect((await api.post('/configs', t)).status).toBe(201);
      const worker = new Worker(opened.store, { provider, deployer: new NoopDeployer(), pollMs: 20, reconcileMs: 0 });
      worker.start();
      for (const n of ['c1', 'c2', 'c3']) expect((await api.post('/projects/hm/clusters', { DisplayName: n, Services: [{ Type: 'kv' }, { Type: 'web' }] })).status).toBe(201);
      for (let i = 0; i < 300; i++) {
        const list = (await api.get('/projects/hm/clusters')).data as Array<{ EntityStatus: string; ID: string }>;
        if (list.length === 3 && list.every((c) => c.EntityStatus === 'ACTIVE')) {
          ids = list.map((c) => c.ID);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await worker.stop();
      expect(ids).toHaveLength(3);
      const opts = { provider, deployer: scripted as unknown as Deployer, intervalMs: 60_000 };
      a = new HealthMonitor(opened.store, opts);
      b = new HealthMonitor(second, opts);
    }, 60_000);

    afterAll(async () => {
      await app?.close();
      await second?.close();
      await opened?.cleanup();
    });

    const status = async (name: string) => (await api.get(`/projects/hm/clusters/${name}`)).data;
    // Both workers run a round at once, as if the clusters were due `at`.
    const bothRounds = async (at: number) => {
      await opened.store.db.updateTable('clusters').set({ health_due_at: at - 1 }).execute();
      const [ra, rb] = await Promise.all([a.runOnce(at), b.runOnce(at)]);
      return [...ra.keys(), ...rb.keys()];
    };

    it('checks every due cluster once per round, whichever worker takes it', async () => {
      const checked = await bothRounds(Date.now());
      expect(checked.sort()).toEqual([...ids].sort());
      expect(scripted.calls.sort()).toEqual(ids.flatMap((id) => [`${id}/kv`, `${id}/web`]).sort());
      // Not due again before the interval: a second round checks nothing.
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(ra.size + rb.size).toBe(0);
      expect((await status('c1-hm')).Services.map((s: { EntityStatus: string }) => s.EntityStatus)).toEqual(['ACTIVE', 'ACTIVE']);
    });

    it('turns a failing service UNHEALTHY and its cluster DEGRADED, once', async () => {
      scripted.sick.add('kv');
      scripted.calls = [];
      await bothRounds(Date.now());
      await bothRounds(Date.now() + 1);
      expect(scripted.calls).toHaveLength(12);
      const c = await status('c2-hm');
      expect(c.EntityStatus).toBe('DEGRADED');
      expect(Object.fromEntries(c.Services.map((s: { Type: string; EntityStatus: string }) => [s.Type, s.EntityStatus]))).toEqual({ kv: 'UNHEALTHY', web: 'ACTIVE' });
      const events = (await api.get('/projects/hm/clusters/c2-hm/events')).data as Array<{ Level: string; Phase: string; Message: string; Service: string | null }>;
      const health = events.filter((e) => e.Phase === 'health' && e.Level === 'warn');
      expect(health.map((e) => e.Message)).toEqual(['kv fails its health check: kv: connection refused', 'cluster DEGRADED: kv unhealthy']);
    });

    it('goes back to ACTIVE when the service recovers, with info events', async () => {
      scripted.sick.clear();
      await bothRounds(Date.now() + 2);
      const c = await status('c3-hm');
      expect(c.EntityStatus).toBe('ACTIVE');
      expect(c.Services.every((s: { EntityStatus: string }) => s.EntityStatus === 'ACTIVE')).toBe(true);
      const events = (await api.get('/projects/hm/clusters/c3-hm/events')).data as Array<{ Level: string; Phase: string; Message: string; OperationID: string }>;
      // The monitor's events belong to no operation (the create's own health phase is info too).
      expect(events.filter((e) => e.Phase === 'health' && e.Level === 'info' && e.OperationID === '').map((e) => e.Message)).toEqual([
        'kv passes its health check again: kv: ok',
        'cluster ACTIVE again: every service passes its health check',
      ]);
    });

    it('leaves a cluster with an operation under way to it', async () => {
      expect((await api.put('/projects/hm/clusters/c1-hm', { NSlaves: 0, Services: [{ Type: 'kv' }, { Type: 'web' }, { Type: 'kv' }] })).status).toBeLessThan(500);
      await opened.store.db.updateTable('clusters').set({ entity_status: 'UPDATING' }).where('id', '=', ids[0]!).execute();
      scripted.calls = [];
      const checked = await bothRounds(Date.now() + 3);
      expect(checked).not.toContain(ids[0]);
      expect(scripted.calls.some((c) => c.startsWith(ids[0]!))).toBe(false);
    });
  });
}
