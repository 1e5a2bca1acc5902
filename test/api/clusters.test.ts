// Clusters through the API with a real worker on the fake provider: accepted at once, built by the
// worker, status that tells the truth, plans, idempotency, retry, scoping, delete.
import { it, expect, beforeAll, afterAll } from 'vitest';
import { describeEachStore, image, flavor, project, type Api } from '../helpers/api.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';

const SERVICE_TYPES = [
  { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '7', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '7', Configs: [{ ParameterName: 'password', Type: 'string', DefaultValue: '' }] }] },
  { Type: 'nb', Class: 'stand-alone', AccessPort: 8888, DefaultVersion: '1', HealthCheck: [{ CheckType: 'HTTP' }], Versions: [{ Version: '1' }] },
  { Type: 'hub', Class: 'stand-alone', AccessPort: 8000, DefaultVersion: '5', HealthCheck: [{ CheckType: 'HTTP' }], Versions: [{ Version: '5', Dependencies: [{ ServiceType: 'nb', ServiceVersions: ['1'], DefaultServiceVersion: '1' }] }] },
  { Type: 'grid', Class: 'master-slave', AccessPort: 8080, DefaultVersion: '3', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '3' }] },
];

async function waitFor(api: Api, url: string, pred: (status: string) => boolean, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    const r = await api.get(url);
    last = r.status === 404 ? 'GONE' : r.data;
    if (pred(last)) return last;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out at ${last}`);
}

describeEachStore('clusters', (ctx) => {
  // Boots fail while `failing` is set (the retry test); otherwise never.
  let failing = false;
  const provider = new FakeProvider({ failureRate: 0.5, random: () => (failing ? 0 : 1) });
  let worker: Worker;
  beforeAll(async () => {
    await ctx.api.post('/images', image());
    await ctx.api.post('/flavors', flavor());
    for (const p of ['alpha', 'beta']) expect((await ctx.api.post('/projects', project(p))).status).toBe(201);
    for (const t of SERVICE_TYPES) expect((await ctx.api.post('/configs', t)).status).toBe(201);
    worker = new Worker(ctx.api.store, { provider, deployer: new NoopDeployer(), secrets: ctx.api.secrets, pollMs: 20, leaseMs: 3_000, concurrency: 4, reconcileMs: 0 });
    worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('accepts a cluster at once (INITED), and the worker makes it ACTIVE with MasterIP and URLs', async () => {
    const r = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'one', Services: [{ Type: 'kv', Config: { password: 's3cret' } }, { Type: 'hub' }] });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({ Name: 'one-alpha', EntityStatus: 'INITED', NSlaves: 0, OwnerID: 'unauthorized', Image: 'ubuntu', MasterFlavor: 'small' });
    // The dependency was added by the resolver.
    expect(r.data.Services.map((s: { Type: string }) => s.Type)).toEqual(['kv', 'hub', 'nb']);
    expect(await waitFor(ctx.api, '/projects/alpha/clusters/one-alpha/status', (s) => s === 'ACTIVE')).toBe('ACTIVE');
    const c = (await ctx.api.get('/projects/alpha/clusters/one-alpha')).data;
    expect(c.MasterIP).toMatch(/^127\./);
    const url = (t: string) => c.Services.find((s: { Type: string }) => s.Type === t).URL;
    expect(url('hub')).toBe(`${c.MasterIP}:8000`);
    expect(url('kv')).toMatch(/^127\.\d+\.\d+\.\d+:6379$/);
    const ops = (await ctx.api.get('/projects/alpha/clusters/one-alpha/operations')).data;
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ Kind: 'create', Status: 'succeeded' });
    const events = (await ctx.api.get('/projects/alpha/clusters/one-alpha/events')).data;
    expect(events.some((e: { Phase: string }) => e.Phase === 'provision')).toBe(true);
    // Secrets never reach events.
    expect(JSON.stringify(events)).not.toContain('s3cret');
  });

  it('dryRun returns the plan and stores nothing', async () => {
    const r = await ctx.api.post('/projects/alpha/clusters?dryRun=true', { DisplayName: 'dry', NSlaves: 2, Services: [{ Type: 'grid' }, { Type: 'kv' }] });
    expect(r.status).toBe(200);
    expect(r.data.Plan.nodes.map((n: { name: string }) => n.name)).toEqual(['dry-alpha-master', 'dry-alpha-slave-1', 'dry-alpha-slave-2', 'dry-alpha-storage']);
    expect((await ctx.api.get('/projects/alpha/clusters/dry-alpha')).status).toBe(404);
  });

  it('validates: empty Services is valid, NSlaves < 1 with a master-slave service is a 400, unknown type 400', async () => {
    const empty = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'empty', Services: [] });
    expect(empty.status).toBe(201);
    const ms = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'ms', Services: [{ Type: 'grid' }] });
    expect(ms.status).toBe(400);
    expect(ms.message).toBe('NSlaves parameter must be number >= 1 because master-slave services will be installed');
    const unknown = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'unk', Services: [{ Type: 'nope' }] });
    expect(unknown.status).toBe(400);
    const gen = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'gen', EntityStatus: 'ACTIVE' });
    expect(gen.status).toBe(400);
    const missingProject = await ctx.api.post('/projects/nope/clusters', { DisplayName: 'x1' });
    expect(missingProject.status).toBe(404);
  });

  it('a cluster addressed by ID through another project is not found', async () => {
    const c = (await ctx.api.get('/projects/alpha/clusters/one-alpha')).data;
    expect((await ctx.api.get(`/projects/beta/clusters/${c.ID}`)).status).toBe(404);
    expect((await ctx.api.delete(`/projects/beta/clusters/${c.ID}`)).status).toBe(404);
    expect((await ctx.api.get(`/projects/alpha/clusters/${c.ID}`)).status).toBe(200);
  });

  it('an Idempotency-Key makes a repeated POST return the first response and start no second operation', async () => {
    const send = () => ctx.api.request('POST', '/projects/beta/clusters', { DisplayName: 'idem' }, { 'idempotency-key': 'k-1' });
    const [a, b] = [await send(), await send()];
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.data.ID).toBe(a.data.ID);
    expect(b.headers['idempotent-replayed']).toBe('true');
    const ops = (await ctx.api.get('/projects/beta/clusters/idem-beta/operations')).data;
    expect(ops).toHaveLength(1);
    const other = await ctx.api.request('POST', '/projects/beta/clusters', { DisplayName: 'idem2' }, { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(400);
  });

  it('a POST of an existing non-FAILED name is 400 already exists', async () => {
    const r = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'one' });
    expect(r.status).toBe(400);
    expect(r.message).toBe('cluster with this name or id (one-alpha) already exists');
  });

  it('refers to images and flavors by name or ID; a missing one is a 404 naming it, the image first', async () => {
    const img = (await ctx.api.get('/images/ubuntu')).data as { ID: string };
    const byId = await ctx.api.post('/projects/alpha/clusters?dryRun=true', { DisplayName: 'refs', Image: img.ID, MasterFlavor: 'small' });
    expect(byId.status).toBe(200);
    // The plan carries what providers and deployers need of the image: the cloud's ID, the login user.
    expect((byId.data as { Plan: { imageRef: unknown } }).Plan.imageRef).toEqual({ cloudImageId: image().CloudImageID, ansibleUser: image().AnsibleUser });
    const noImage = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'refs', Image: 'nope', MasterFlavor: 'nada' });
    expect(noImage.status).toBe(404);
    expect(noImage.message).toContain('image');
    expect(noImage.message).toContain('nope');
    const noFlavor = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'refs', SlavesFlavor: 'nada' });
    expect(noFlavor.status).toBe(404);
    expect(noFlavor.message).toContain('flavor');
    expect(noFlavor.message).toContain('nada');
    expect((await ctx.api.get('/projects/alpha/clusters/refs-alpha')).status).toBe(404);
  });

  it('a POST of a FAILED cluster\'s name retries its create operation, which then succeeds', async () => {
    failing = true;
    try {
      const first = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'flaky' });
      expect(first.status).toBe(201);
      await waitFor(ctx.api, '/projects/alpha/clusters/flaky-alpha/status', (s) => s === 'FAILED');
    } finally {
      failing = false;
    }
    const [failed] = (await ctx.api.get('/projects/alpha/clusters/flaky-alpha/operations')).data as Array<{ ID: string; Status: string; Attempt: number }>;
    expect(failed).toMatchObject({ Status: 'failed', Attempt: 1 });
    const again = await ctx.api.post('/projects/alpha/clusters', { DisplayName: 'flaky' });
    expect(again.status).toBe(201);
    expect((again.data as { EntityStatus: string }).EntityStatus).toBe('INITED');
    await waitFor(ctx.api, '/projects/alpha/clusters/flaky-alpha/status', (s) => s === 'ACTIVE');
    // The same operation ran again (a second attempt), not a new one.
    const ops = (await ctx.api.get('/projects/alpha/clusters/flaky-alpha/operations')).data as Array<{ ID: string; Status: string; Attempt: number }>;
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ ID: failed!.ID, Status: 'succeeded', Attempt: 2 });
  });

  it('update adds a service and scale changes NSlaves; both go through UPDATING back to ACTIVE', async () => {
    await ctx.api.post('/projects/beta/clusters', { DisplayName: 'grow', NSlaves: 1, Services: [{ Type: 'grid' }] });
    await waitFor(ctx.api, '/projects/beta/clusters/grow-beta/status', (s) => s === 'ACTIVE');
    const up = await ctx.api.put('/projects/beta/clusters/grow-beta', { Services: [{ Type: 'kv' }] });
    expect(up.status).toBe(200);
    expect(up.data.EntityStatus).toBe('UPDATING');
    // No second change while one runs.
    const busy = await ctx.api.put('/projects/beta/clusters/grow-beta', { NSlaves: 3 });
    expect([200, 400]).toContain(busy.status);
    await waitFor(ctx.api, '/projects/beta/clusters/grow-beta/status', (s) => s === 'ACTIVE');
    const scaled = await ctx.api.put('/projects/beta/clusters/grow-beta', { NSlaves: 3 });
    if (scaled.status === 200) await waitFor(ctx.api, '/projects/beta/clusters/grow-beta/status', (s) => s === 'ACTIVE');
    const c = (await ctx.api.get('/projects/beta/clusters/grow-beta')).data;
    expect(c.NSlaves).toBe(3);
    expect(c.Services.map((s: { Type: string }) => s.Type).sort()).toEqual(['grid', 'kv']);
    expect([...provider.nodes.get(c.ID)!.keys()].filter((n) => n.includes('slave'))).toHaveLength(3);
    // Scale in: the highest slaves go.
    expect((await ctx.api.put('/projects/beta/clusters/grow-beta', { NSlaves: 1 })).status).toBe(200);
    await waitFor(ctx.api, '/projects/beta/clusters/grow-beta/status', (s) => s === 'ACTIVE');
    expect([...provider.nodes.get(c.ID)!.keys()].filter((n) => n.includes('slave'))).toEqual(['grow-beta-slave-1']);
  });

  it('a node that disappears makes the cluster MISSING, and its return ACTIVE again', async () => {
    const r = await ctx.api.post('/projects/beta/clusters', { DisplayName: 'watch', Services: [{ Type: 'kv' }] });
    await waitFor(ctx.api, '/projects/beta/clusters/watch-beta/status', (s) => s === 'ACTIVE');
    const nodes = provider.nodes.get(r.data.ID)!;
    const [name, node] = [...nodes.entries()][0]!;
    nodes.delete(name);
    expect(await worker.reconcile()).toContainEqual({ id: r.data.ID, status: 'MISSING' });
    expect((await ctx.api.get('/projects/beta/clusters/watch-beta/status')).data).toBe('MISSING');
    const events = (await ctx.api.get('/projects/beta/clusters/watch-beta/events')).data;
    expect(events.at(-1)).toMatchObject({ Phase: 'reconcile', Level: 'warn', Message: `node(s) gone: ${name}` });
    // A second pass changes nothing.
    expect((await worker.reconcile()).filter((c) => c.id === r.data.ID)).toEqual([]);
    nodes.set(name, node);
    expect(await worker.reconcile()).toContainEqual({ id: r.data.ID, status: 'ACTIVE' });
    expect((await ctx.api.get('/projects/beta/clusters/watch-beta/status')).data).toBe('ACTIVE');
  });

  it('delete goes through STOPPING and removes the cluster and its nodes; its operations stay readable', async () => {
    const c = (await ctx.api.get('/projects/alpha/clusters/one-alpha')).data;
    const ops = (await ctx.api.get('/projects/alpha/clusters/one-alpha/operations')).data;
    const d = await ctx.api.delete('/projects/alpha/clusters/one-alpha');
    expect(d.status).toBe(200);
    expect(d.data.EntityStatus).toBe('STOPPING');
    await waitFor(ctx.api, '/projects/alpha/clusters/one-alpha/status', (s) => s === 'GONE');
    expect((await ctx.api.get('/projects/alpha/clusters')).data.map((x: { Name: string }) => x.Name)).not.toContain('one-alpha');
    expect(provider.nodes.get(c.ID)?.size ?? 0).toBe(0);
    expect((await ctx.api.get(`/operations/${ops[0].ID}`)).data.Status).toBe('succeeded');
    // By its ID the deleted cluster's history stays readable: operations, events and the delete log.
    const history = (await ctx.api.get(`/projects/alpha/clusters/${c.ID}/operations`)).data;
    expect(history.map((o: { Kind: string; Status: string }) => `${o.Kind}:${o.Status}`)).toEqual(['create:succeeded', 'delete:succeeded']);
    expect((await ctx.api.get(`/projects/alpha/clusters/${c.ID}/events`)).data.length).toBeGreaterThan(0);
    expect((await ctx.api.get(`/logs/projects/alpha/clusters/${c.ID}?action=delete`)).data.cluster_logs).toContain('delete succeeded');
    // ... but not through another project.
    expect((await ctx.api.get(`/projects/beta/clusters/${c.ID}/operations`)).status).toBe(404);
  });

  it('a forced delete works from any state, and an unforced one only from ACTIVE or FAILED', async () => {
    await worker.stop(); // nothing runs: the cluster stays INITED
    try {
      await ctx.api.post('/projects/beta/clusters', { DisplayName: 'stuck' });
      const plain = await ctx.api.delete('/projects/beta/clusters/stuck-beta');
      expect(plain.status).toBe(400);
      expect(plain.message).toBe("cluster status must be 'ACTIVE' or 'FAILED' for UPDATE or DELETE");
      expect((await ctx.api.delete('/projects/beta/clusters/stuck-beta?force=true')).status).toBe(200);
    } finally {
      worker.start();
    }
    await waitFor(ctx.api, '/projects/beta/clusters/stuck-beta/status', (s) => s === 'GONE');
  });
});
