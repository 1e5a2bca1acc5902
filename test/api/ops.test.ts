// Michman's own endpoints: /healthz, /readyz (database and schema), /metrics (Prometheus text:
// requests by route pattern, operations, queue depth, claim latency, clusters, service health).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { Metrics } from '../../src/metrics.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

/** The value of one series in Prometheus text, 0 when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}

for (const backend of backends()) {
  describe(`ops endpoints [${backend.name}]`, () => {
    let opened: OpenedStore;
    let app: FastifyInstance;
    let api: Api;
    let worker: Worker;
    let metrics: Metrics;

    beforeAll(async () => {
      opened = await backend.open();
      metrics = new Metrics(opened.store);
      app = await buildServer({ store: opened.store, logger: false, metrics });
      api = new Api(app, opened.store);
      await api.post('/images', image());
      await api.post('/flavors', flavor());
      await api.post('/projects', project('alpha'));
      const kv = { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '1', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '1' }] };
      expect((await api.post('/configs', kv)).status).toBe(201);
      worker = new Worker(opened.store, { provider: new FakeProvider({ bootLatencyMs: 1 }), deployer: new NoopDeployer(), pollMs: 20, reconcileMs: 0, onClaim: (op, now) => metrics.claimed(op.kind, op.createdAt, now) });
    });
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await opened?.cleanup();
    });

    const scrape = async () => {
      const r = await api.get('/metrics');
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toContain('text/plain');
      return r.raw;
    };

    it('/healthz answers 200', async () => {
      const r = await api.get('/healthz');
      expect(r.status).toBe(200);
      expect(r.raw).toBe('ok\n');
    });

    it('/readyz answers 200 when the database answers and the schema is current', async () => {
      const r = await api.get('/readyz');
      expect(r.status).toBe(200);
      expect(r.raw).toBe('ready\n');
    });

    it('/metrics counts requests by route pattern, operations, queue depth, claims, clusters and services', async () => {
      const before = await scrape();
      const route = { method: 'GET', route: '/projects/:projectIdOrName/clusters', status: '200' };
      for (let i = 0; i < 3; i++) expect((await api.get('/projects/alpha/clusters')).status).toBe(200);
      expect((await api.get('/projects/alpha/clusters/nope')).status).toBe(404);
      expect((await api.post('/projects/alpha/clusters', { DisplayName: 'mon', Services: [{ Type: 'kv' }] })).status).toBe(201);
      const queued = await scrape();
      expect(value(queued, 'michman_http_requests_total', route) - value(before, 'michman_http_requests_total', route)).toBe(3);
      expect(value(queued, 'michman_http_request_duration_seconds_count', route)).toBe(value(queued, 'michman_http_requests_total', route));
      expect(value(queued, 'michman_http_requests_total', { method: 'GET', route: '/projects/:projectIdOrName/clusters/:clusterIdOrName', status: '404' })).toBe(1);
      expect(value(queued, 'michman_queue_depth')).toBe(1);
      expect(value(queued, 'michman_operations', { kind: 'create', status: 'queued' })).toBe(1);
      expect(value(queued, 'michman_clusters', { status: 'INITED' })).toBe(1);
      // Route patterns only: no project or cluster name in any label.
      expect(queued).not.toMatch(/alpha|nope/);

      worker.start();
      for (let i = 0; i < 300 && (await api.get('/projects/alpha/clusters/mon-alpha/status')).data !== 'ACTIVE'; i++) await new Promise((r) => setTimeout(r, 20));
      const after = await scrape();
      expect(value(after, 'michman_queue_depth')).toBe(0);
      expect(value(after, 'michman_operations', { kind: 'create', status: 'succeeded' })).toBe(1);
      expect(value(after, 'michman_operations', { kind: 'create', status: 'queued' })).toBe(0);
      expect(value(after, 'michman_operation_claim_latency_seconds_count', { kind: 'create' })).toBe(1);
      expect(value(after, 'michman_clusters', { status: 'ACTIVE' })).toBe(1);
      expect(value(after, 'michman_clusters', { status: 'INITED' })).toBe(0);
      expect(value(after, 'michman_cluster_services', { type: 'kv', status: 'ACTIVE' })).toBe(1);
      expect(value(after, 'michman_process_resident_memory_bytes')).toBeGreaterThan(0);
    });

    it('/metrics wants the metrics_token when one is set', async () => {
      const guarded = await buildServer({ store: opened.store, logger: false, metricsToken: 'm3trics-t0ken' });
      try {
        const get = (authorization?: string) => guarded.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
        expect((await get()).statusCode).toBe(401);
        expect((await get('Bearer wrong')).statusCode).toBe(401);
        const ok = await get('Bearer m3trics-t0ken');
        expect(ok.statusCode).toBe(200);
        expect(ok.body).toContain('michman_http_requests_total');
      } finally {
        await guarded.close();
      }
    });

    it('/readyz answers 503 when a migration is missing, naming it', async () => {
      await opened.store.db.deleteFrom('kysely_migration' as never).where('name' as never, '=', '004_health' as never).execute();
      const r = await api.get('/readyz');
      expect(r.status).toBe(503);
      expect(r.raw).toContain('004_health');
      expect((await api.get('/healthz')).status).toBe(200);
      await opened.store.migrate().catch(() => undefined);
      await opened.store.db.insertInto('kysely_migration' as never).values({ name: '004_health', timestamp: new Date().toISOString() } as never).execute().catch(() => undefined);
      expect((await api.get('/readyz')).status).toBe(200);
    });

    it('/readyz answers 503 when the database is closed; /healthz still 200', async () => {
      await worker.stop();
      await opened.store.close();
      const r = await api.get('/readyz');
      expect(r.status).toBe(503);
      expect(r.raw).toMatch(/^not ready: database does not answer/);
      expect((await api.get('/healthz')).status).toBe(200);
    });
  });
}
