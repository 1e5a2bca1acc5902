// The truth about versions on the local provider: a catalog version runs only when the host's
// program is that version (major(.minor) as the catalog writes it). Refused at POST with the versions
// this host can run; GET /configs marks each version Deployable or not, with the reason.
import { afterAll, describe, expect, it } from 'vitest';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { programVersion, versionMatches } from '../../src/deploy/local/hostVersions.js';
import { redis } from '../../src/deploy/local/redis.js';
import { clickhouse } from '../../src/deploy/local/clickhouse.js';
import { lacksProgram } from '../helpers/requirements.js';
import { buildServer } from '../../src/api/server.js';
import { loadBuiltinCatalogIfEmpty } from '../../src/catalog.js';
import { backends } from '../helpers/stores.js';
import { Api } from '../helpers/api.js';

const deployer = new LocalDeployer();
const REDIS = ['7.0', '7.2', '7.4'];
const CLICKHOUSE = ['25.8', '25.3'];
const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

describe('versionMatches', () => {
  it('matches as many components as the catalog version names', () => {
    expect(versionMatches('15', '15.18')).toBe(true);
    expect(versionMatches('18', '15.18')).toBe(false);
    expect(versionMatches('7.0', '7.0.15')).toBe(true);
    expect(versionMatches('7.4', '7.0.15')).toBe(false);
    expect(versionMatches('3.5.7', '3.5.7')).toBe(true);
    expect(versionMatches('3.5.7', '3.5.8')).toBe(false);
    expect(versionMatches('25.8', '18.16.1')).toBe(false);
    expect(versionMatches('jupyter-lab', '6.4.12')).toBe(false);
  });
});

describe.skipIf(lacksProgram('/usr/bin/redis-server'))('redis on this host', () => {
  it('runs the catalog versions that are the host program, and refuses the others listing those', async () => {
    const host = (await programVersion('/usr/bin/redis-server', redis.versionProbe!))!;
    expect(host).toMatch(/^\d+\.\d+/);
    const runnable = REDIS.filter((v) => versionMatches(v, host));
    const other = REDIS.find((v) => !versionMatches(v, host))!;
    for (const v of runnable) expect(await deployer.check([{ type: 'redis', version: v, versions: REDIS }])).toEqual([]);
    const [problem] = await deployer.check([{ type: 'redis', version: other, versions: REDIS }]);
    expect(problem).toContain(`service 'redis' version '${other}' cannot run on the local provider: this host has redis-server ${host}`);
    expect(problem).toContain(`versions of redis this host can run: ${runnable.length > 0 ? runnable.join(', ') : 'none'}`);
  });
});

describe.skipIf(lacksProgram('/usr/sbin/clickhouse-server'))('clickhouse on this host', () => {
  it("refuses the catalog's versions when the host has another ClickHouse", async () => {
    const host = (await programVersion('/usr/sbin/clickhouse-server', clickhouse.versionProbe!))!;
    expect(host).toMatch(/^\d+\.\d+/);
    const expected = CLICKHOUSE.filter((v) => versionMatches(v, host));
    const problems = await deployer.check([{ type: 'clickhouse', version: '25.8', versions: CLICKHOUSE }]);
    if (expected.includes('25.8')) expect(problems).toEqual([]);
    else expect(problems[0]).toMatch(new RegExp(`this host has clickhouse-server ${host.replace(/\./g, '\\.')}.*versions of clickhouse this host can run: ${expected.length > 0 ? expected.join(', ') : 'none of 25.8, 25.3'}`));
    // Its own version runs.
    expect(await deployer.check([{ type: 'clickhouse', version: majorMinor(host) }])).toEqual([]);
  });
});

describe.skipIf(lacksProgram('/usr/bin/redis-server'))('the API on the local provider', () => {
  const backend = backends()[0]!;
  let close: () => Promise<void> = async () => undefined;
  afterAll(() => close());
  it('refuses at POST a version the host cannot run, and GET /configs marks each version', async () => {
    const opened = await backend.open();
    await loadBuiltinCatalogIfEmpty(opened.store);
    const app = await buildServer({ store: opened.store, logger: false, deployer, projectRefsRequired: false });
    close = async () => {
      await app.close();
      await opened.cleanup();
    };
    const api = new Api(app, opened.store);
    const host = (await programVersion('/usr/bin/redis-server', redis.versionProbe!))!;
    const good = REDIS.find((v) => versionMatches(v, host));
    const bad = REDIS.find((v) => !versionMatches(v, host))!;
    expect((await api.post('/projects', { DisplayName: 'here' })).status).toBe(201);

    const r = await api.post('/projects/here/clusters', { DisplayName: 'kv', Services: [{ Type: 'redis', Version: bad }] });
    expect(r.status, r.raw).toBe(400);
    expect(r.message).toContain(`service 'redis' version '${bad}' cannot run on the local provider: this host has redis-server ${host}`);
    expect(r.message).toContain(`versions of redis this host can run: ${good ?? 'none'}`);
    expect((await api.get('/projects/here/clusters/kv-here')).status).toBe(404);

    const list = (await api.get('/configs')).data as Array<{ Type: string; Versions: Array<{ Version: string; Deployable?: boolean; DeployableReason?: string }> }>;
    const versions = list.find((t) => t.Type === 'redis')!.Versions;
    expect(versions.find((v) => v.Version === bad)).toMatchObject({ Deployable: false, DeployableReason: expect.stringContaining(`this host has redis-server ${host}`) });
    if (good) expect(versions.find((v) => v.Version === good)).toMatchObject({ Deployable: true });
    if (good) expect(versions.find((v) => v.Version === good)!.DeployableReason).toBeUndefined();
    // A type without a local module is not deployable at all; the original's fields are all there.
    const slurm = list.find((t) => t.Type === 'slurm');
    if (slurm) expect(slurm.Versions.every((v) => v.Deployable === false && /cannot run on the local provider/.test(v.DeployableReason!))).toBe(true);
    const one = (await api.get('/configs/redis?view=full')).data as { Versions: Array<{ Version: string; Deployable: boolean; Configs: unknown[] }> };
    expect(one.Versions.find((v) => v.Version === bad)).toMatchObject({ Deployable: false, Configs: expect.any(Array) });
    expect((await api.get(`/configs/redis/versions/${bad}`)).data).toMatchObject({ Version: bad, Deployable: false });
  });
});
