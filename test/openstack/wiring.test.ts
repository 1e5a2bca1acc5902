// The provider as `michman serve` builds it from the config (clouds.yaml named cloud, the
// original's floating_ip_pool "None"), and the clusters API's dry run with the quota report;
// quota_check: enforce refuses a create that does not fit with a 400 naming the resource.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FastifyInstance } from 'fastify';
import { FakeOpenStack } from './fakeOpenstack.js';
import { ctxOf, planOf, specsOf } from './helpers.js';
import { loadConfig } from '../../src/config/load.js';
import { machinery, quotaCheck } from '../../src/app.js';
import { buildServer } from '../../src/api/server.js';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import type { MichmanConfig } from '../../src/config/schema.js';

let fake: FakeOpenStack;
let dir: string;
let cfg: MichmanConfig;

beforeAll(async () => {
  fake = await new FakeOpenStack().start();
  dir = mkdtempSync(join(tmpdir(), 'michman-os-wiring-'));
  writeFileSync(join(dir, 'clouds.yaml'), stringify({ clouds: { fake: { auth: fake.auth(), region_name: 'RegionOne' } } }));
  cfg = loadConfig({
    cwd: dir,
    env: {},
    overrides: { provider: 'openstack', os_cloud: 'fake', os_clouds_file: join(dir, 'clouds.yaml'), virtual_network: 'private', floating_ip_pool: 'None', os_reachability: 'active' },
  });
});
afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('OpenStack from the config', () => {
  it('machinery builds the provider from a named cloud; floating_ip_pool None = fixed IPs', async () => {
    const { provider } = machinery(cfg);
    expect(provider.name).toBe('openstack');
    const ctx = ctxOf(planOf('w1-proj', 0, false));
    await provider.prepareCluster!(ctx);
    const node = await provider.ensureNode(ctx, specsOf(ctx.plan!)[0]!);
    expect(node.address).toMatch(/^10\.0\./);
    await provider.deleteNode(ctx, { name: node.name, providerId: node.name });
    await provider.cleanupCluster!(ctx);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);
  });

  it('refuses a config without virtual_network, naming the key', () => {
    expect(() => machinery({ ...cfg, virtual_network: undefined })).toThrow(/virtual_network/);
  });
});

describe('dry run with the quota report', () => {
  let opened: OpenedStore;
  const apps: FastifyInstance[] = [];
  const apiWith = async (quota_check: 'warn' | 'enforce') => {
    const { provider } = machinery(cfg);
    const app = await buildServer({ store: opened.store, logger: false, quota: quotaCheck({ ...cfg, quota_check }, provider) });
    apps.push(app);
    return new Api(app, opened.store);
  };

  beforeAll(async () => {
    opened = await backends()[0]!.open();
    const api = await apiWith('warn');
    for (const [url, body] of [['/images', image('cirros')], ['/flavors', flavor('m1.small')], ['/projects', project('quota', 'cirros', 'm1.small')]] as const) {
      const r = await api.post(url, body);
      expect(r.status, r.raw).toBe(201);
    }
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await opened?.cleanup();
  });

  it('shows what the cluster needs against limits and usage', async () => {
    const api = await apiWith('warn');
    const r = await api.post('/projects/quota/clusters?dryRun=true', { DisplayName: 'd1', NSlaves: 2, Services: [] });
    expect(r.status, r.raw).toBe(200);
    expect(r.data.Quota.ok).toBe(true);
    const by = Object.fromEntries((r.data.Quota.items as Array<{ resource: string }>).map((i) => [i.resource, i]));
    expect(by.instances).toMatchObject({ need: 3, limit: fake.limits.instances, short: false });
    expect(by.cores).toMatchObject({ need: 6 });
    expect(by.ram_mb).toMatchObject({ need: 3 * 2048 });
    expect(by.security_groups).toMatchObject({ need: 1 });
    expect(by.floating_ips).toBeUndefined(); // floating_ip_pool: None
  });

  it('warn: a shortfall shows in the dry run and does not block; enforce: 400 naming the resource', async () => {
    fake.limits.cores = 4;
    try {
      const warn = await apiWith('warn');
      const dry = await warn.post('/projects/quota/clusters?dryRun=true', { DisplayName: 'd2', NSlaves: 2, Services: [] });
      expect(dry.data.Quota.ok).toBe(false);
      expect((dry.data.Quota.items as Array<{ resource: string; short: boolean }>).filter((i) => i.short).map((i) => i.resource)).toEqual(['cores']);
      expect((await warn.post('/projects/quota/clusters', { DisplayName: 'd2', NSlaves: 2, Services: [] })).status).toBe(201);

      const enforce = await apiWith('enforce');
      const refused = await enforce.post('/projects/quota/clusters', { DisplayName: 'd3', NSlaves: 2, Services: [] });
      expect(refused.status).toBe(400);
      expect(refused.message).toContain('cores (need 6, available 4)');
      expect((await enforce.get('/projects/quota/clusters/d3-quota')).status).toBe(404);
    } finally {
      fake.limits.cores = 200;
    }
  });

  it('a cloud that does not answer: the dry run says so, the create is not blocked', async () => {
    fake.faults = [{ path: /^\/compute\/limits/, status: 500, times: 100 }];
    try {
      const enforce = await apiWith('enforce');
      const dry = await enforce.post('/projects/quota/clusters?dryRun=true', { DisplayName: 'd4', NSlaves: 1, Services: [] });
      expect(dry.data.Quota.error).toMatch(/quota check failed: compute GET .*limits: HTTP 500/);
    } finally {
      fake.faults = [];
    }
  });
});
