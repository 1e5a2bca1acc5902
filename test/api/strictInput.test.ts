// Strict input, with help: unknown query parameters and body fields are 400s naming them and the
// closest valid name, on every documented route; unknown service types, versions and config
// parameters list the valid ones; a project names every missing field in one answer, and on the
// local provider needs no image or flavors. What the original's clients send is still accepted.
import { it, expect, describe, afterAll } from 'vitest';
import { describeEachStore, image, flavor, project, Api } from '../helpers/api.js';
import { expectError } from '../helpers/checks.js';
import { buildServer } from '../../src/api/server.js';
import { backends } from '../helpers/stores.js';
import { closest } from '../../src/domain/suggest.js';

const KV = { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '7', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '7', Configs: [{ ParameterName: 'maxmemory', Type: 'string', DefaultValue: '' }, { ParameterName: 'password', Type: 'string', DefaultValue: '' }] }, { Version: '8' }] };
const NB = { Type: 'notebook', Class: 'stand-alone', AccessPort: 8888, DefaultVersion: '1', HealthCheck: [{ CheckType: 'HTTP' }], Versions: [{ Version: '1' }] };

describe('closest', () => {
  it('finds the name meant, case aside, and nothing for a name far from all', () => {
    expect(closest('dryrun', ['dryRun', 'force'])).toBe('dryRun');
    expect(closest('NSlave', ['NSlaves', 'Name', 'Services'])).toBe('NSlaves');
    expect(closest('zzzzzz', ['dryRun', 'force'])).toBeUndefined();
  });
});

describeEachStore('strict input', (ctx) => {
  it('setup', async () => {
    expect((await ctx.api.post('/images', image())).status).toBe(201);
    expect((await ctx.api.post('/flavors', flavor())).status).toBe(201);
    expect((await ctx.api.post('/projects', project('strict'))).status).toBe(201);
    for (const t of [KV, NB]) expect((await ctx.api.post('/configs', t)).status).toBe(201);
  });

  it("?dryrun=true is refused naming dryRun, and creates nothing", async () => {
    const r = await ctx.api.post('/projects/strict/clusters?dryrun=true', { DisplayName: 'typo' });
    expectError(r, 400, 1100, "unknown query parameter 'dryrun'; did you mean 'dryRun'?");
    expect((await ctx.api.get('/projects/strict/clusters/typo-strict')).status).toBe(404);
    // The real name still works.
    expect((await ctx.api.post('/projects/strict/clusters?dryRun=true', { DisplayName: 'typo' })).status).toBe(200);
  });

  it('unknown query parameters on other routes, with the valid names when none is close', async () => {
    expectError(await ctx.api.get('/projects?limt=2'), 400, 1100, "unknown query parameter 'limt'; did you mean 'limit'?");
    expectError(await ctx.api.get('/version?x=1'), 400, 1100, "unknown query parameter 'x'; none are accepted here");
    expectError(await ctx.api.get('/configs/kv?veiw=full'), 400, 1100, "did you mean 'view'?");
    expectError(await ctx.api.get('/projects?foo=1&bar=2'), 400, 1100, "unknown query parameter 'foo'; valid: limit, after; unknown query parameter 'bar'");
    // The original's documented list parameters are still accepted.
    expect((await ctx.api.get('/projects/strict/clusters?view=summary&clusterType=x')).status).toBe(200);
  });

  it('"NSlave": 3 is refused naming NSlaves; nested fields by their path', async () => {
    expectError(await ctx.api.post('/projects/strict/clusters', { DisplayName: 'typo2', NSlave: 3 }), 400, 1100, "unknown field 'NSlave'; did you mean 'NSlaves'?");
    expectError(
      await ctx.api.post('/projects/strict/clusters', { DisplayName: 'typo2', Services: [{ Type: 'kv', Verison: '7' }] }),
      400,
      1100,
      "unknown field 'Services[0].Verison'; did you mean 'Version'?",
    );
    expectError(await ctx.api.post('/images', { ...image('extra'), Foo: 1 }), 400, 1100, "unknown field 'Foo'");
    expect((await ctx.api.get('/projects/strict/clusters/typo2-strict')).status).toBe(404);
  });

  it("the original's compatibility stays: case-insensitive keys, generated fields as before, 404 before 400", async () => {
    const r = await ctx.api.post('/projects/strict/clusters?dryRun=true', { displayname: 'ci', nslaves: 0, Services: [{ type: 'kv', ClusterRef: '', URL: '' }] });
    expect(r.status, r.raw).toBe(200);
    // A generated field keeps its own (original) answer.
    expectError(await ctx.api.post('/projects/strict/clusters', { DisplayName: 'gen', ID: 'x' }), 400, 300, "'ID' field is generated");
    // The lookup comes first where the original looked up first.
    expect((await ctx.api.put('/projects/nosuch', { Descripton: 'x' })).status).toBe(404);
  });

  it('an unknown service type, version or config parameter lists the valid ones', async () => {
    expectError(await ctx.api.post('/projects/strict/clusters', { DisplayName: 'bad', Services: [{ Type: 'notebok' }] }), 400, 300, "service 'notebok' is not supported; did you mean 'notebook'? service types: kv, notebook");
    expectError(await ctx.api.post('/projects/strict/clusters', { DisplayName: 'bad', Services: [{ Type: 'kv', Version: '9' }] }), 400, 300, "'kv' service version '9' is not supported; versions of kv: 7, 8");
    expectError(
      await ctx.api.post('/projects/strict/clusters', { DisplayName: 'bad', Services: [{ Type: 'kv', Config: { maxmem: '1' } }] }),
      400,
      300,
      "'kv' service config param name 'maxmem' is not supported; did you mean 'maxmemory'? parameters: maxmemory, password",
    );
  });

  it('a project without its defaults: one answer names every missing field', async () => {
    expectError(await ctx.api.post('/projects', { DisplayName: 'bare' }), 400, 300, "required project fields are empty: 'DefaultImage', 'DefaultMasterFlavor', 'DefaultSlavesFlavor', 'DefaultStorageFlavor', 'DefaultMonitoringFlavor'");
    expectError(await ctx.api.post('/projects', { ...project('half'), DefaultSlavesFlavor: '', DefaultImage: undefined }), 400, 300, "required project fields are empty: 'DefaultImage', 'DefaultSlavesFlavor'");
    // One missing: the original's message.
    expectError(await ctx.api.post('/projects', { ...project('one'), DefaultImage: '' }), 400, 300, "required project field 'DefaultImage' is empty");
  });
});

describe('a project on the local provider', () => {
  const backend = backends()[0]!;
  let close: () => Promise<void> = async () => undefined;
  afterAll(() => close());
  it('needs no image and no flavors', async () => {
    const opened = await backend.open();
    const app = await buildServer({ store: opened.store, logger: false, projectRefsRequired: false });
    close = async () => {
      await app.close();
      await opened.cleanup();
    };
    const api = new Api(app, opened.store);
    const r = await api.post('/projects', { DisplayName: 'laptop' });
    expect(r.status, r.raw).toBe(201);
    expect((await api.post('/configs', NB)).status).toBe(201);
    const c = await api.post('/projects/laptop/clusters?dryRun=true', { DisplayName: 'nb', Services: [{ Type: 'notebook' }] });
    expect(c.status, c.raw).toBe(200);
    // Named ones must still exist.
    expect((await api.post('/projects', { DisplayName: 'named', DefaultImage: 'nosuch' })).status).toBe(404);
  });
});
