// Service passwords: a given one is masked in every answer but GET .../credentials and never
// reaches the database; generated ones are readable there too; every read of it is audited.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { MemorySecretStore } from '../../src/secrets/memory.js';
import { MASK } from '../../src/domain/credentials.js';
import { sealStoredPasswords } from '../../src/clusters/index.js';

const REDIS_PW = 'Given-redis-pw-4f9a';
const PG_PW = 'Given-pg-pw/@:x7q';

// The parameters of catalog/redis.json and postgresql.json that matter here.
const TYPES = [
  { Type: 'redis', Class: 'storage', AccessPort: 6379, DefaultVersion: '7.0', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '7.0', Configs: [{ ParameterName: 'db_password', Type: 'string', DefaultValue: '' }] }] },
  {
    Type: 'postgresql', Class: 'storage', AccessPort: 5432, DefaultVersion: '15', HealthCheck: [{ CheckType: 'TCP' }],
    Versions: [{ Version: '15', Configs: [{ ParameterName: 'db_password', Type: 'string', DefaultValue: '' }, { ParameterName: 'db_user', Type: 'string', DefaultValue: 'pguser' }, { ParameterName: 'db_name', Type: 'string', DefaultValue: 'postgres' }] }],
  },
  { Type: 'spark', Class: 'master-slave', AccessPort: 8080, DefaultVersion: '3', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '3' }] },
];

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const backend of backends()) {
  describe(`credentials [${backend.name}]`, () => {
    let opened: OpenedStore;
    let app: FastifyInstance;
    let api: Api;
    let worker: Worker;
    const secrets = new MemorySecretStore();
    const answers: string[] = [];
    const call = async (method: string, url: string, body?: unknown) => {
      const r = await api.request(method, url, body);
      if (!url.endsWith('/credentials')) answers.push(r.raw);
      return r;
    };

    beforeAll(async () => {
      opened = await backend.open();
      app = await buildServer({ store: opened.store, logger: false, secrets });
      api = new Api(app, opened.store);
      await call('POST', '/images', image());
      await call('POST', '/flavors', flavor());
      expect((await call('POST', '/projects', project('alpha'))).status).toBe(201);
      for (const t of TYPES) expect((await call('POST', '/configs', t)).status).toBe(201);
      worker = new Worker(opened.store, { provider: new FakeProvider({ bootLatencyMs: 1 }), deployer: new NoopDeployer(), secrets, pollMs: 20, leaseMs: 3_000, reconcileMs: 0 });
      worker.start();
    });
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await opened?.cleanup();
    });

    it('masks a given password in the POST, dry run, GET and list answers', async () => {
      const body = { DisplayName: 'db', NSlaves: 1, Services: [{ Type: 'redis', Config: { db_password: REDIS_PW } }, { Type: 'postgresql', Name: 'main-pg', Config: { db_password: PG_PW } }, { Type: 'spark' }] };
      const dry = await call('POST', '/projects/alpha/clusters?dryRun=true', body);
      expect(dry.status).toBe(200);
      expect(dry.data.Cluster.Services[0].Config.db_password).toBe(MASK);
      const r = await call('POST', '/projects/alpha/clusters', body);
      expect(r.status).toBe(201);
      expect(r.data.Services.find((s: { Type: string }) => s.Type === 'redis').Config.db_password).toBe(MASK);
      expect(await until(() => call('GET', '/projects/alpha/clusters/db-alpha/status').then((x) => x.data), (s) => s === 'ACTIVE')).toBe('ACTIVE');
      const got = await call('GET', '/projects/alpha/clusters/db-alpha');
      expect(got.data.Services.find((s: { Type: string }) => s.Type === 'postgresql').Config.db_password).toBe(MASK);
      await call('GET', '/projects/alpha/clusters');
      await call('GET', '/projects/alpha/clusters/db-alpha/events');
      await call('GET', '/projects/alpha/clusters/db-alpha/operations');
      await call('GET', '/logs/projects/alpha/clusters/db-alpha');
      for (const a of answers) {
        expect(a).not.toContain(REDIS_PW);
        expect(a).not.toContain(encodeURIComponent(PG_PW));
        expect(a).not.toContain(PG_PW);
      }
    });

    it('gives every service its user, password, address and connection string', async () => {
      const r = await call('GET', '/projects/alpha/clusters/db-alpha/credentials');
      expect(r.status).toBe(200);
      expect(r.headers['cache-control']).toBe('no-store');
      const byType = Object.fromEntries((r.data as Array<{ Type: string }>).map((c) => [c.Type, c])) as Record<string, any>;
      expect(Object.keys(byType).sort()).toEqual(['postgresql', 'redis', 'spark']);
      const redis = byType.redis;
      expect(redis).toMatchObject({ Service: 'redis', User: null, Password: REDIS_PW, Port: 6379 });
      expect(redis.Host).toMatch(/^127\./);
      expect(redis.ConnectionString).toBe(`redis://:${encodeURIComponent(REDIS_PW)}@${redis.Host}:6379`);
      const pg = byType.postgresql;
      expect(pg).toMatchObject({ Service: 'main-pg', User: 'pguser', Password: PG_PW, Port: 5432 });
      expect(pg.ConnectionString).toBe(`postgresql://pguser:${encodeURIComponent(PG_PW)}@${pg.Host}:5432/postgres`);
      expect(byType.spark).toMatchObject({ Password: null, User: null, Port: 7077 });
      expect(byType.spark.ConnectionString).toMatch(/^spark:\/\/127\.[\d.]+:7077$/);
    });

    it('shows a password Michman generated (and keeps it)', async () => {
      expect((await call('POST', '/projects/alpha/clusters', { DisplayName: 'gen', Services: [{ Type: 'redis' }] })).status).toBe(201);
      await until(() => call('GET', '/projects/alpha/clusters/gen-alpha/status').then((x) => x.data), (s) => s === 'ACTIVE');
      const first = (await call('GET', '/projects/alpha/clusters/gen-alpha/credentials')).data[0];
      expect(first.Password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(first.ConnectionString).toContain(`:${first.Password}@`);
      expect((await call('GET', '/projects/alpha/clusters/gen-alpha/credentials')).data[0].Password).toBe(first.Password);
      expect(answers.join('\n')).not.toContain(first.Password);
    });

    it('writes an audit entry for every read; unknown clusters are 404', async () => {
      const rows = await opened.store.db.selectFrom('audit_log' as never).selectAll().execute() as Array<{ path: string; method: string; status: number }>;
      const reads = rows.filter((x) => x.path.endsWith('/credentials'));
      expect(reads.length).toBeGreaterThanOrEqual(3);
      expect(reads.every((x) => x.method === 'GET' && Number(x.status) === 200)).toBe(true);
      expect((await call('GET', '/projects/alpha/clusters/nope/credentials')).status).toBe(404);
      expect((await call('GET', '/projects/nope/clusters/db-alpha/credentials')).status).toBe(404);
    });

    it('keeps the given passwords out of every database row (and the SQLite files)', async () => {
      const db = opened.store.db as any;
      for (const table of ['clusters', 'cluster_services', 'operations', 'events', 'idempotency_keys', 'audit_log']) {
        const text = JSON.stringify(await db.selectFrom(table).selectAll().execute());
        expect(text, table).not.toContain(REDIS_PW);
        expect(text, table).not.toContain(PG_PW);
      }
      if (backend.name === 'sqlite') {
        for (const f of [opened.url, `${opened.url}-wal`]) {
          if (!existsSync(f)) continue;
          const bytes = readFileSync(f).toString('latin1');
          expect(bytes).not.toContain(REDIS_PW);
          expect(bytes).not.toContain(PG_PW);
        }
      }
    });

    it('moves a password an older version stored in plain text to the secret store', async () => {
      const c = (await call('GET', '/projects/alpha/clusters/gen-alpha')).data;
      const old = 'Legacy-plain-pw-77';
      await opened.store.db.updateTable('cluster_services').set({ config: JSON.stringify({ db_password: old }) }).where('owner_id', '=', c.ID).execute();
      expect(await sealStoredPasswords(opened.store, secrets)).toBe(1);
      expect(await sealStoredPasswords(opened.store, secrets)).toBe(0);
      const rows = await opened.store.db.selectFrom('cluster_services').select('config').where('owner_id', '=', c.ID).execute();
      expect(JSON.parse(rows[0]!.config)).toEqual({ db_password: MASK });
      expect((await call('GET', '/projects/alpha/clusters/gen-alpha/credentials')).data[0].Password).toBe(old);
    });
  });
}
