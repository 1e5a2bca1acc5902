// Service types (/configs) and their versions (/configs/{t}/versions): reference §2.4, §2.5, §3.3,
// §3.3.1, the "Service types" checklist of §11 and the fixes of §12.
import { it, expect } from 'vitest';
import { describeEachStore, type Api, type Reply } from '../helpers/api.js';
import { checked, client, expectError } from '../helpers/checks.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VIEW_ERROR =
  "bad view param. Supported query variables for view parameter are 'full' and 'summary', 'summary' is default";




const serviceType = (type: string, extra: Record<string, unknown> = {}) => ({
  Type: type,
  Description: `${type} service`,
  DefaultVersion: '1.0',
  Class: 'stand-alone',
  AccessPort: 8080,
  Ports: [
    { Port: 8080, Description: 'ui' },
    { Port: 7077, Description: 'rpc' },
  ],
  HealthCheck: [{ CheckType: 'TCP', Configs: [{ ParameterName: 'port', Type: 'int', DefaultValue: '8080', AnsibleVarName: `${type}_health_port` }] }],
  Versions: [
    {
      Version: '1.0',
      Description: 'first',
      DownloadURL: 'https://example.org/1.0',
      Configs: [
        { ParameterName: 'threads', Type: 'int', DefaultValue: '4', Required: true, AnsibleVarName: 'client_value' },
        { ParameterName: 'mode', Type: 'string', PossibleValues: ['a', 'b'], DefaultValue: 'a' },
      ],
    },
    { Version: '2.0' },
  ],
  ...extra,
});

describeEachStore('service types', (ctx) => {
  const api = client(() => ctx.api);

  it('lists service types (full documents)', async () => {
    expect((await api.post('/configs', serviceType('lista'))).status).toBe(201);
    expect((await api.post('/configs', serviceType('listb'))).status).toBe(201);
    const r = await api.get('/configs');
    expect(r.status).toBe(200);
    expect(Array.isArray(r.data)).toBe(true);
    const names = (r.data as Array<{ Type: string }>).map((t) => t.Type);
    expect(names).toEqual(expect.arrayContaining(['lista', 'listb']));
    const a = (r.data as Array<{ Type: string; Versions: unknown[] }>).find((t) => t.Type === 'lista')!;
    expect(a.Versions).toHaveLength(2);
  });

  it('creates a service type with generated IDs and AnsibleVarNames (client IDs overwritten)', async () => {
    const body = serviceType('created', {
      ID: 'client-id',
      Versions: [
        { ID: 'client-version-id', Version: '1.0', Configs: [{ ParameterName: 'threads', Type: 'int', DefaultValue: '4', AnsibleVarName: 'mine' }] },
      ],
    });
    const r = await api.post('/configs', body);
    expect(r.status).toBe(201);
    expect(r.data.ID).toMatch(UUID);
    expect(r.data.Type).toBe('created');
    expect(r.data.Class).toBe('stand-alone');
    expect(r.data.AccessPort).toBe(8080);
    expect(r.data.Versions[0].ID).toMatch(UUID);
    expect(r.data.Versions[0].Configs[0].AnsibleVarName).toBe('created_threads');
    expect(r.data.Ports.map((p: { Port: number }) => p.Port)).toEqual([8080, 7077]);
    expect(r.data.HealthCheck[0].CheckType).toBe('TCP');
    const full = await api.get('/configs/created?view=full');
    expect(full.data.ID).toBe(r.data.ID);
    expect(full.data.Versions[0].ID).toBe(r.data.Versions[0].ID);
  });

  it('refuses invalid JSON', async () => {
    expectError(await api.post('/configs', '{"Type": '), 400, 200, 'incorrect json format');
  });

  it('refuses a duplicate Type with class 600', async () => {
    expect((await api.post('/configs', serviceType('dup'))).status).toBe(201);
    expectError(await api.post('/configs', serviceType('dup')), 400, 600, 'service type with this name or id (dup) already exists');
  });

  it('checks the Class', async () => {
    expectError(await api.post('/configs', serviceType('badclass', { Class: 'badClass' })), 400, 300, 'class for service type is not supported');
    expectError(await api.post('/configs', serviceType('noclass', { Class: undefined })), 400, 300, 'class for service type is not supported');
    for (const c of ['master-slave', 'stand-alone', 'storage']) {
      expect((await api.post('/configs', serviceType(`class_${c.replace('-', '_')}`, { Class: c }))).status).toBe(201);
    }
  });

  it('checks AccessPort and Ports', async () => {
    expectError(await api.post('/configs', serviceType('negport', { AccessPort: -20 })), 400, 300, 'port is incorrect');
    expect((await api.post('/configs', serviceType('port20', { AccessPort: 20 }))).status).toBe(201);
    expect((await api.post('/configs', serviceType('noport', { AccessPort: 0, Ports: [] }))).status).toBe(201);
    expectError(
      await api.post('/configs', serviceType('zeroport', { Ports: [{ Port: 8080 }, { Port: 0, Description: 'zero' }] })),
      400,
      300,
      'port is incorrect',
    );
    expectError(await api.post('/configs', serviceType('negports', { Ports: [{ Port: -1 }] })), 400, 300, 'port is incorrect');
    // No port is above 65535 (the original had no upper bound on AccessPort).
    expectError(await api.post('/configs', serviceType('bigport', { AccessPort: 65536 })), 400, 300, 'port is incorrect');
    expectError(await api.post('/configs', serviceType('bigports', { Ports: [{ Port: 70000 }] })), 400, 300, 'port is incorrect');
    expect((await api.post('/configs', serviceType('maxport', { AccessPort: 65535, Ports: [{ Port: 65535 }] }))).status).toBe(201);
    for (const t of ['negport', 'zeroport', 'negports', 'bigport', 'bigports']) expect((await api.get(`/configs/${t}`)).status).toBe(404);
  });

  it('checks versions: unique names, default among them, non-empty', async () => {
    expectError(
      await api.post('/configs', serviceType('dupver', { Versions: [{ Version: '1.0' }, { Version: '2.0' }, { Version: '1.0' }] })),
      400,
      300,
      'version 1.0 is not unique',
    );
    // Fixed: the original answered 404 for a validation failure.
    expectError(
      await api.post('/configs', serviceType('baddefault', { DefaultVersion: '3.0' })),
      400,
      300,
      'default version not found in versions list',
    );
    expectError(
      await api.post('/configs', serviceType('noversions', { Versions: [] })),
      400,
      300,
      'default version not found in versions list',
    );
    expectError(
      await api.post('/configs', serviceType('emptyver', { DefaultVersion: '1.0', Versions: [{ Version: '1.0' }, { Version: '' }] })),
      400,
      300,
      'version field must be set',
    );
    for (const t of ['dupver', 'baddefault', 'noversions', 'emptyver']) expect((await api.get(`/configs/${t}`)).status).toBe(404);
  });

  it('refuses an empty Type (fixed: the original accepted it)', async () => {
    expectError(await api.post('/configs', serviceType('')), 400, 300, "service type field 'Type' must be set");
    expectError(await api.post('/configs', serviceType('x', { Type: undefined })), 400, 300, "service type field 'Type' must be set");
  });

  it('GET one: summary by default, full on request, bad view refused', async () => {
    const created = await api.post('/configs', serviceType('viewed'));
    expect(created.status).toBe(201);
    for (const url of ['/configs/viewed', '/configs/viewed?view=summary', '/configs/viewed?view=']) {
      const r = await api.get(url);
      expect(r.status).toBe(200);
      expect(Object.keys(r.data).sort()).toEqual(['AccessPort', 'Class', 'DefaultVersion', 'Description', 'ID', 'Type']);
      expect(r.data).toEqual({
        ID: created.data.ID,
        Type: 'viewed',
        Description: 'viewed service',
        DefaultVersion: '1.0',
        Class: 'stand-alone',
        AccessPort: 8080,
      });
      expect(r.message).toBe(`Request: GET ${url}`);
    }
    const full = await api.get('/configs/viewed?view=full');
    expect(full.status).toBe(200);
    expect(full.data.Versions.map((v: { Version: string }) => v.Version)).toEqual(['1.0', '2.0']);
    expect(full.data.Ports).toHaveLength(2);
    expect(full.data.HealthCheck).toHaveLength(1);
    expect(full.data.Versions[0].Configs.map((c: { AnsibleVarName: string }) => c.AnsibleVarName)).toEqual(['viewed_threads', 'viewed_mode']);

    const bad = await api.get('/configs/viewed?view=bad');
    expectError(bad, 400, 1100, VIEW_ERROR);
    expect(bad.message).toBe(VIEW_ERROR);
    expectError(await api.get('/configs?view=bad'), 400, 1100, VIEW_ERROR);
  });

  it('GET one by ID and by name; missing is 404', async () => {
    const created = await api.post('/configs', serviceType('byid'));
    const byId = await api.get(`/configs/${created.data.ID}?view=full`);
    expect(byId.status).toBe(200);
    expect(byId.data.Type).toBe('byid');
    const byName = await api.get('/configs/byid');
    expect(byName.data.ID).toBe(created.data.ID);
    expectError(await api.get('/configs/nope'), 404, 1000, 'service type with this name or id (nope) does not exist');
    expectError(
      await api.get('/configs/00000000-0000-4000-8000-000000000000'),
      404,
      1000,
      'service type with this name or id (00000000-0000-4000-8000-000000000000) does not exist',
    );
  });

  it('PUT patches Description, Class and AccessPort', async () => {
    const created = await api.post('/configs', serviceType('patched'));
    const r = await api.put('/configs/patched', { Description: 'new text', Class: 'master-slave', AccessPort: 9999 });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ ID: created.data.ID, Type: 'patched', Description: 'new text', Class: 'master-slave', AccessPort: 9999, DefaultVersion: '1.0' });
    const full = await api.get('/configs/patched?view=full');
    expect(full.data).toMatchObject({ Description: 'new text', Class: 'master-slave', AccessPort: 9999 });
    expect(full.data.Versions).toHaveLength(2);
    expect(full.data.Ports).toHaveLength(2);
    // Case-insensitive keys, as the original's decoder.
    expect((await api.put(`/configs/${created.data.ID}`, { description: 'by id' })).data.Description).toBe('by id');
  });

  it('PUT refuses ID, Type, Versions, a bad Class, bad ports; checks DefaultVersion', async () => {
    expect((await api.post('/configs', serviceType('guarded'))).status).toBe(201);
    const fieldsMsg = "some service types fields can't be modified (ID, Type)";
    expectError(await api.put('/configs/guarded', { ID: 'x' }), 400, 300, fieldsMsg);
    expectError(await api.put('/configs/guarded', { Type: 'other' }), 400, 300, fieldsMsg);
    const versionsMsg = "service types versions field can't be modified in this response. Use specified one";
    expectError(await api.put('/configs/guarded', { Versions: [] }), 400, 300, versionsMsg);
    expectError(await api.put('/configs/guarded', { Versions: [{ Version: '3.0' }] }), 400, 300, versionsMsg);
    expectError(await api.put('/configs/guarded', { DefaultVersion: '9.9' }), 400, 300, 'default version not found in versions list');
    expectError(await api.put('/configs/guarded', { Class: 'badClass' }), 400, 300, 'class for service type is not supported');
    expectError(await api.put('/configs/guarded', { AccessPort: -1 }), 400, 300, 'port is incorrect');
    expectError(await api.put('/configs/guarded', { Ports: [{ Port: 0 }] }), 400, 300, 'port is incorrect');
    expectError(await api.put('/configs/guarded', '{"Description": '), 400, 200, 'incorrect json format');
    expectError(await api.put('/configs/nope', { Description: 'x' }), 404, 1000, 'service type with this name or id (nope) does not exist');
    // Nothing above changed the type.
    const full = await api.get('/configs/guarded?view=full');
    expect(full.data).toMatchObject({ Type: 'guarded', DefaultVersion: '1.0', Class: 'stand-alone', AccessPort: 8080 });
    expect(full.data.Ports).toHaveLength(2);

    const r = await api.put('/configs/guarded', { DefaultVersion: '2.0' });
    expect(r.status).toBe(200);
    expect(r.data.DefaultVersion).toBe('2.0');
    expect((await api.get('/configs/guarded')).data.DefaultVersion).toBe('2.0');
  });

  it('PUT Ports replaces the list (fixed: the original could only add)', async () => {
    expect((await api.post('/configs', serviceType('ported'))).status).toBe(201);
    const r = await api.put('/configs/ported', { Ports: [{ Port: 9090, Description: 'metrics' }] });
    expect(r.status).toBe(200);
    expect(r.data.Ports).toEqual([{ Port: 9090, Description: 'metrics' }]);
    const full = await api.get('/configs/ported?view=full');
    expect(full.data.Ports).toEqual([{ Port: 9090, Description: 'metrics' }]);
    // Without Ports the list stays.
    expect((await api.put('/configs/ported', { Description: 'x' })).data.Ports).toEqual([{ Port: 9090, Description: 'metrics' }]);
  });

  it('PUT HealthCheck replaces it; entries get IDs as on create', async () => {
    const created = await api.post('/configs', serviceType('healthy'));
    expect(created.data.HealthCheck[0].ID).toMatch(UUID);
    const r = await api.put('/configs/healthy', { HealthCheck: [{ CheckType: 'HTTP', Configs: [{ ParameterName: 'path', Type: 'string', DefaultValue: '/' }] }] });
    expect(r.status).toBe(200);
    expect(r.data.HealthCheck).toHaveLength(1);
    expect(r.data.HealthCheck[0]).toMatchObject({ CheckType: 'HTTP' });
    expect(r.data.HealthCheck[0].ID).toMatch(UUID);
    expect((await api.get('/configs/healthy?view=full')).data.HealthCheck).toEqual(r.data.HealthCheck);
  });

  it('DELETE removes a type; missing is 404', async () => {
    expect((await api.post('/configs', serviceType('deleted'))).status).toBe(201);
    const r = await api.delete('/configs/deleted');
    expect(r.status).toBe(204);
    expectError(await api.get('/configs/deleted'), 404, 1000, 'service type with this name or id (deleted) does not exist');
    expectError(await api.delete('/configs/deleted'), 404, 1000, 'service type with this name or id (deleted) does not exist');
    // The name is free again.
    expect((await api.post('/configs', serviceType('deleted'))).status).toBe(201);
    const again = await api.get('/configs/deleted?view=full');
    expect(again.data.Versions).toHaveLength(2);
  });

  it('DELETE refuses a type another type depends on (class 600)', async () => {
    expect((await api.post('/configs', serviceType('basex'))).status).toBe(201);
    const dependent = serviceType('depx', {
      Versions: [{ Version: '1.0', Dependencies: [{ ServiceType: 'basex', ServiceVersions: ['1.0'], DefaultServiceVersion: '1.0' }] }],
    });
    expect((await api.post('/configs', dependent)).status).toBe(201);
    expectError(await api.delete('/configs/basex'), 400, 600, 'service type presents in dependencies for another service');
    expect((await api.get('/configs/basex')).status).toBe(200);
    // Once the dependent is gone, the type can go.
    expect((await api.delete('/configs/depx')).status).toBe(204);
    expect((await api.delete('/configs/basex')).status).toBe(204);
  });

  it('DELETE refuses a type used by a template (fixed: the original did not check)', async () => {
    expect((await api.post('/configs', serviceType('templated'))).status).toBe(201);
    const t = await api.post('/templates', { DisplayName: 'tpl', Services: [{ Type: 'templated' }] });
    expect(t.status).toBe(201);
    expectError(await api.delete('/configs/templated'), 400, 500, 'templated');
    expectError(await api.delete('/configs/templated/versions/1.0'), 400, 300, 'service type version set in default version');
    expect((await api.put('/configs/templated', { DefaultVersion: '2.0' })).status).toBe(200);
    // The template uses version 1.0 (the default when it was created).
    expectError(await api.delete('/configs/templated/versions/1.0'), 400, 500, '1.0');
    expect((await api.get('/configs/templated')).status).toBe(200);
    expect((await api.delete(`/templates/${t.data.ID}`)).status).toBe(204);
    expect((await api.delete('/configs/templated')).status).toBe(204);
  });

  it('a concurrent DELETE and template POST never leave a template of a deleted type', async () => {
    for (let i = 0; i < 10; i++) {
      const type = `raced${i}`;
      expect((await api.post('/configs', serviceType(type))).status).toBe(201);
      const [del, tpl] = await Promise.all([
        ctx.api.delete(`/configs/${type}`),
        ctx.api.post('/templates', { DisplayName: `race${i}`, Services: [{ Type: type }] }),
      ]);
      checked(del);
      checked(tpl);
      // Either the template came first (then the type is in use) or the delete did (then the type is unknown).
      expect([[201, 400], [204, 400]]).toContainEqual([del.status, tpl.status].sort());
      if (tpl.status === 201) expect((await api.get(`/configs/${type}`)).status).toBe(200);
    }
  });

  it('8 concurrent POSTs of one Type create it once', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => ctx.api.post('/configs', serviceType('racy'))));
    for (const r of replies) checked(r);
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of replies.filter((x) => x.status === 400)) {
      expectError(r, 400, 600, 'service type with this name or id (racy) already exists');
    }
    const list = await api.get('/configs');
    expect((list.data as Array<{ Type: string }>).filter((t) => t.Type === 'racy')).toHaveLength(1);
    const full = await api.get('/configs/racy?view=full');
    expect(full.data.Versions).toHaveLength(2);
    expect(full.data.Versions[0].Configs).toHaveLength(2);
  });

  it('concurrent PUTs of different fields do not lose each other', async () => {
    expect((await api.post('/configs', serviceType('puts'))).status).toBe(201);
    for (let i = 1; i <= 10; i++) {
      const replies = await Promise.all([
        ctx.api.put('/configs/puts', { Description: `round ${i}` }),
        ctx.api.put('/configs/puts', { AccessPort: 1000 + i }),
        ctx.api.put('/configs/puts', { Class: i % 2 ? 'storage' : 'master-slave' }),
      ]);
      for (const r of replies) expect(checked(r).status).toBe(200);
      const got = await api.get('/configs/puts');
      expect(got.data).toMatchObject({ Description: `round ${i}`, AccessPort: 1000 + i, Class: i % 2 ? 'storage' : 'master-slave' });
    }
  });
});

describeEachStore('service type versions', (ctx) => {
  const api = client(() => ctx.api);

  it('lists versions; missing type is 404', async () => {
    expect((await api.post('/configs', serviceType('vlist'))).status).toBe(201);
    const r = await api.get('/configs/vlist/versions');
    expect(r.status).toBe(200);
    expect(r.data.map((v: { Version: string }) => v.Version)).toEqual(['1.0', '2.0']);
    expect(r.data[0].Configs).toHaveLength(2);
    expectError(await api.get('/configs/nope/versions'), 404, 1000, 'service type with this name or id (nope) does not exist');
  });

  it('POST creates a version and returns it (fixed: the original returned the whole type)', async () => {
    const type = await api.post('/configs', serviceType('vpost'));
    // Addressed by ID: AnsibleVarName still uses the type name (fixed §12.2-5).
    const r = await api.post(`/configs/${type.data.ID}/versions`, {
      Version: '3.0',
      Description: 'third',
      DownloadURL: 'https://example.org/3.0',
      Configs: [
        { ParameterName: 'heap', Type: 'string', DefaultValue: '1g', AnsibleVarName: 'client' },
        { ParameterName: 'list', Type: 'int', IsList: true, PossibleValues: ['[1, 2]', '[3]'], DefaultValue: '[1,2]' },
      ],
    });
    expect(r.status).toBe(201);
    expect(r.data.Version).toBe('3.0');
    expect(r.data.ID).toMatch(UUID);
    expect(r.data.Type).toBeUndefined();
    expect(r.data.Versions).toBeUndefined();
    expect(r.data.Configs.map((c: { AnsibleVarName: string }) => c.AnsibleVarName)).toEqual(['vpost_heap', 'vpost_list']);
    expect(r.data.Configs[1].PossibleValues).toEqual(['[1,2]', '[3]']);
    const got = await api.get('/configs/vpost/versions/3.0');
    expect(got.data).toEqual(r.data);
    expect((await api.get('/configs/vpost/versions')).data).toHaveLength(3);
  });

  it('POST with dependencies checks them against the target type', async () => {
    expect((await api.post('/configs', serviceType('vtarget'))).status).toBe(201);
    expect((await api.post('/configs', serviceType('vowner'))).status).toBe(201);
    const dep = { ServiceType: 'vtarget', ServiceVersions: ['1.0', '2.0'], DefaultServiceVersion: '2.0' };
    const r = await api.post('/configs/vowner/versions', { Version: '3.0', Dependencies: [dep] });
    expect(r.status).toBe(201);
    expect(r.data.Dependencies).toEqual([expect.objectContaining(dep)]);
    expectError(
      await api.post('/configs/vowner/versions', { Version: '4.0', Dependencies: [{ ...dep, ServiceType: 'ghost' }] }),
      404,
      1000,
      'service type with this name or id (ghost) does not exist',
    );
    expectError(
      await api.post('/configs/vowner/versions', { Version: '4.0', Dependencies: [{ ...dep, ServiceVersions: ['1.0', '9.9'] }] }),
      400,
      300,
      "service version in versions list doesn't exist",
    );
    expectError(
      await api.post('/configs/vowner/versions', { Version: '4.0', Dependencies: [dep, dep] }),
      400,
      300,
      'dependency with service type vtarget is not unique',
    );
    expect((await api.get('/configs/vowner/versions')).data).toHaveLength(3);
  });

  it('POST refuses duplicates, client IDs, missing Version, bad configs', async () => {
    expect((await api.post('/configs', serviceType('vbad'))).status).toBe(201);
    expectError(
      await api.post('/configs/vbad/versions', { Version: '1.0' }),
      400,
      600,
      'service type version with this name or id (1.0) already exists',
    );
    const idErr = await api.post('/configs/vbad/versions', { ID: '9a1d3c3e-5b1f-4b59-8f43-08a7f1b0c111', Version: '5.0' });
    expectError(idErr, 400, 700, "'ID'");
    expectError(await api.post('/configs/vbad/versions', { Description: 'no version' }), 400, 300, 'version field must be set');
    expectError(await api.post('/configs/vbad/versions', { Version: '' }), 400, 300, 'version field must be set');
    expectError(
      await api.post('/configs/vbad/versions', { Version: '5.0', Configs: [{ ParameterName: 'a', Type: 'wrongString' }] }),
      400,
      300,
      'parameter type must be int, float, bool, string. Got: wrongString',
    );
    expectError(
      await api.post('/configs/vbad/versions', {
        Version: '5.0',
        Configs: [
          { ParameterName: 'a', Type: 'int' },
          { ParameterName: 'a', Type: 'int' },
        ],
      }),
      400,
      300,
      'config with parameter name a is not unique',
    );
    expectError(await api.post('/configs/vbad/versions', '{'), 400, 200, 'incorrect json format');
    expectError(await api.post('/configs/nope/versions', { Version: '5.0' }), 404, 1000, 'service type with this name or id (nope) does not exist');
    expect((await api.get('/configs/vbad/versions')).data).toHaveLength(2);
  });

  it('GET one by name and ID; missing is 404', async () => {
    const type = await api.post('/configs', serviceType('vget'));
    const v1 = type.data.Versions[0];
    const byName = await api.get('/configs/vget/versions/1.0');
    expect(byName.status).toBe(200);
    expect(byName.data).toMatchObject({ ID: v1.ID, Version: '1.0', Description: 'first', DownloadURL: 'https://example.org/1.0' });
    expect(byName.data.Configs).toHaveLength(2);
    const byId = await api.get(`/configs/${type.data.ID}/versions/${v1.ID}`);
    expect(byId.data).toEqual(byName.data);
    expectError(await api.get('/configs/vget/versions/v'), 404, 1000, 'version with this name or id (v) does not exist');
    expectError(await api.get('/configs/nope/versions/1.0'), 404, 1000, 'service type with this name or id (nope) does not exist');
    // A version of another type is not found through this one.
    const other = await api.post('/configs', serviceType('vget2'));
    const otherId = other.data.Versions[0].ID as string;
    expectError(await api.get(`/configs/vget/versions/${otherId}`), 404, 1000, `version with this name or id (${otherId}) does not exist`);
  });

  it('PUT changes Description and DownloadURL only', async () => {
    expect((await api.post('/configs', serviceType('vput'))).status).toBe(201);
    const r = await api.put('/configs/vput/versions/1.0', { Description: 'updated', DownloadURL: 'https://example.org/new' });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ Version: '1.0', Description: 'updated', DownloadURL: 'https://example.org/new' });
    expect(r.data.Configs).toHaveLength(2);
    expect((await api.get('/configs/vput/versions/1.0')).data).toMatchObject({ Description: 'updated', DownloadURL: 'https://example.org/new' });

    const immut = "some service type version fields can't be modified (ID, Version)";
    expectError(await api.put('/configs/vput/versions/1.0', { ID: 'x' }), 400, 700, immut);
    expectError(await api.put('/configs/vput/versions/1.0', { Version: '1.1' }), 400, 700, immut);
    const sub = "service types version fields (config, dependencies) can't be modified in this response. Use specified one";
    expectError(await api.put('/configs/vput/versions/1.0', { Configs: [] }), 400, 300, sub);
    expectError(await api.put('/configs/vput/versions/1.0', { Dependencies: [] }), 400, 300, sub);
    expectError(await api.put('/configs/vput/versions/9.9', { Description: 'x' }), 404, 1000, 'version with this name or id (9.9) does not exist');
    expectError(await api.put('/configs/nope/versions/1.0', { Description: 'x' }), 404, 1000, 'service type with this name or id (nope) does not exist');
    expectError(await api.put('/configs/vput/versions/1.0', 'nope'), 400, 200, 'incorrect json format');
    const after = await api.get('/configs/vput/versions/1.0');
    expect(after.data.Version).toBe('1.0');
    expect(after.data.Configs).toHaveLength(2);
  });

  it('DELETE refuses the default version and versions others depend on', async () => {
    expect((await api.post('/configs', serviceType('vdelbase', { Versions: [{ Version: '1.0' }, { Version: '2.0' }, { Version: '3.0' }] }))).status).toBe(201);
    const dependent = serviceType('vdeldep', {
      Versions: [{ Version: '1.0', Dependencies: [{ ServiceType: 'vdelbase', ServiceVersions: ['2.0'], DefaultServiceVersion: '2.0' }] }],
    });
    expect((await api.post('/configs', dependent)).status).toBe(201);
    expectError(await api.delete('/configs/vdelbase/versions/1.0'), 400, 300, 'service type version set in default version');
    expectError(
      await api.delete('/configs/vdelbase/versions/2.0'),
      400,
      300,
      'service type version 2.0 presents in dependencies versions in vdeldep service',
    );
    expectError(await api.delete('/configs/vdelbase/versions/9.9'), 404, 1000, 'version with this name or id (9.9) does not exist');
    expectError(await api.delete('/configs/nope/versions/1.0'), 404, 1000, 'service type with this name or id (nope) does not exist');
    const r = await api.delete('/configs/vdelbase/versions/3.0');
    expect(r.status).toBe(204);
    expectError(await api.get('/configs/vdelbase/versions/3.0'), 404, 1000, 'version with this name or id (3.0) does not exist');
    expect((await api.get('/configs/vdelbase/versions')).data.map((v: { Version: string }) => v.Version)).toEqual(['1.0', '2.0']);
    // Deleting by ID works too, and the name can be reused.
    const v2 = await api.post('/configs/vdelbase/versions', { Version: '3.0' });
    expect(v2.status).toBe(201);
    expect((await api.delete(`/configs/vdelbase/versions/${v2.data.ID}`)).status).toBe(204);
  });
});
