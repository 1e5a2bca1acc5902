// Version configs (/configs/{t}/versions/{v}/configs) and version dependencies
// (/configs/{t}/versions/{v}/dependencies): reference §2.6, §2.7, §3.3.2, §3.3.3, §4 and the fixes of §12.
import { it, expect, beforeAll } from 'vitest';
import { describeEachStore, type Api, type Reply } from '../helpers/api.js';
import { checked, client, expectError } from '../helpers/checks.js';




const serviceType = (type: string, versions: string[], extra: Record<string, unknown> = {}) => ({
  Type: type,
  Description: `${type} service`,
  DefaultVersion: versions[0],
  Class: 'stand-alone',
  HealthCheck: [{ CheckType: 'NotSupported' }],
  Versions: versions.map((v) => ({ Version: v })),
  ...extra,
});

describeEachStore('version configs', (ctx) => {
  const api = client(() => ctx.api);
  const base = '/configs/params/versions/1.0/configs';

  beforeAll(async () => {
    const r = await ctx.api.post(
      '/configs',
      serviceType('params', ['1.0', '2.0'], {
        Versions: [
          { Version: '1.0', Configs: [{ ParameterName: 'existing', Type: 'string', DefaultValue: 'x' }] },
          { Version: '2.0' },
        ],
      }),
    );
    expect(r.status).toBe(201);
  });

  it('lists the configs of a version', async () => {
    const r = await api.get(base);
    expect(r.status).toBe(200);
    expect(r.data).toEqual([expect.objectContaining({ ParameterName: 'existing', Type: 'string', AnsibleVarName: 'params_existing' })]);
    expectError(await api.get('/configs/params/versions/9.9/configs'), 404, 1000, 'version with this name or id (9.9) does not exist');
    expectError(await api.get('/configs/nope/versions/1.0/configs'), 404, 1000, 'service type with this name or id (nope) does not exist');
  });

  it('POST creates a config with a generated AnsibleVarName', async () => {
    const type = await api.get('/configs/params');
    // Addressed by ID: the variable still uses the type name.
    const r = await api.post(`/configs/${type.data.ID}/versions/1.0/configs`, {
      ParameterName: 'threads',
      Type: 'int',
      DefaultValue: '4',
      Required: true,
      Description: 'worker threads',
      AnsibleVarName: 'client_chosen',
    });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({
      ParameterName: 'threads',
      Type: 'int',
      DefaultValue: '4',
      Required: true,
      Description: 'worker threads',
      AnsibleVarName: 'params_threads',
    });
    const got = await api.get(`${base}/threads`);
    expect(got.status).toBe(200);
    expect(got.data).toEqual(r.data);
    expect((await api.get(base)).data.map((c: { ParameterName: string }) => c.ParameterName)).toEqual(['existing', 'threads']);
    expectError(await api.post(base, '{"ParameterName"'), 400, 200, 'incorrect json format');
    expectError(
      await api.post('/configs/params/versions/9.9/configs', { ParameterName: 'x', Type: 'int' }),
      404,
      1000,
      'version with this name or id (9.9) does not exist',
    );
  });

  it('POST refuses a duplicate ParameterName, a bad Type, an empty ParameterName', async () => {
    expectError(
      await api.post(base, { ParameterName: 'existing', Type: 'string' }),
      400,
      600,
      'service type version config with this name or id (existing) already exists',
    );
    expectError(
      await api.post(base, { ParameterName: 'bad', Type: 'wrongString' }),
      400,
      300,
      'parameter type must be int, float, bool, string. Got: wrongString',
    );
    expectError(await api.post(base, { ParameterName: 'bad' }), 400, 300, 'parameter type must be int, float, bool, string. Got: ');
    expectError(await api.post(base, { Type: 'int' }), 400, 300, 'config parameter ParameterName must be set');
    // The same name in another version is fine.
    expect((await api.post('/configs/params/versions/2.0/configs', { ParameterName: 'existing', Type: 'int' })).status).toBe(201);
  });

  it('POST validates PossibleValues', async () => {
    // Fixed: the original dropped the connection on an empty list.
    expectError(await api.post(base, { ParameterName: 'pv0', Type: 'string', PossibleValues: [], DefaultValue: 'a' }), 400, 300, 'config possible value is empty');
    expectError(
      await api.post(base, { ParameterName: 'pv1', Type: 'int', PossibleValues: ['1', 'x'], DefaultValue: '1' }),
      400,
      300,
      'config possible value x set incorrectly',
    );
    expectError(
      await api.post(base, { ParameterName: 'pv2', Type: 'int', IsList: true, PossibleValues: ['[1, 2]', '[1,2]'], DefaultValue: '[1,2]' }),
      400,
      300,
      'config possible value [1,2] is not unique',
    );
    expectError(
      await api.post(base, { ParameterName: 'pv3', Type: 'string', PossibleValues: ['a', 'a', 'b'], DefaultValue: 'a' }),
      400,
      300,
      'config possible value a is not unique',
    );
    // Fixed: the original's scan skipped the last position.
    expectError(
      await api.post(base, { ParameterName: 'pv4', Type: 'string', PossibleValues: ['a', 'b', 'a'], DefaultValue: 'b' }),
      400,
      300,
      'config possible value a is not unique',
    );
    expectError(
      await api.post(base, { ParameterName: 'pv5', Type: 'string', PossibleValues: ['a', 'b', 'b'], DefaultValue: 'a' }),
      400,
      300,
      'config possible value b is not unique',
    );
    expectError(
      await api.post(base, { ParameterName: 'pv6', Type: 'string', PossibleValues: ['a', ''], DefaultValue: 'a' }),
      400,
      300,
      'config possible value is empty',
    );
    expectError(
      await api.post(base, { ParameterName: 'pv7', Type: 'string', PossibleValues: ['a', 'b'] }),
      400,
      300,
      'service type version config default value must be set',
    );
    const notIn = await api.post(base, { ParameterName: 'pv8', Type: 'float', PossibleValues: ['+Inf', '2.0', '0.0'], DefaultValue: '15.3' });
    expectError(notIn, 400, 300, 'not in possible values');
    expect(notIn.message).toContain('15.3');
    expect(notIn.message).toContain('pv8');
    for (const p of ['pv0', 'pv1', 'pv2', 'pv3', 'pv4', 'pv5', 'pv6', 'pv7', 'pv8']) {
      expect((await api.get(`${base}/${p}`)).status).toBe(404);
    }
  });

  it('POST accepts well-formed PossibleValues; list values are stored without spaces', async () => {
    const scalar = await api.post(base, { ParameterName: 'mode', Type: 'string', PossibleValues: ['fast', 'safe'], DefaultValue: 'safe' });
    expect(scalar.status).toBe(201);
    expect(scalar.data.PossibleValues).toEqual(['fast', 'safe']);
    // Fixed: a list default written with spaces matches the stripped values.
    const list = await api.post(base, {
      ParameterName: 'sizes',
      Type: 'int',
      IsList: true,
      PossibleValues: ['[ 11, 22  , 33, 4]', '[1, 2]'],
      DefaultValue: '[1, 2]',
    });
    expect(list.status).toBe(201);
    expect(list.data.PossibleValues).toEqual(['[11,22,33,4]', '[1,2]']);
    expect(list.data.IsList).toBe(true);
    const bools = await api.post(base, { ParameterName: 'flags', Type: 'bool', IsList: true, PossibleValues: ['[true, false]', '[false]'], DefaultValue: '[false]' });
    expect(bools.status).toBe(201);
    expect((await api.get(`${base}/sizes`)).data.PossibleValues).toEqual(['[11,22,33,4]', '[1,2]']);
  });

  it('GET one; missing is 404 (fixed: the original answered 200 {})', async () => {
    const r = await api.get(`${base}/existing`);
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ ParameterName: 'existing', Type: 'string', DefaultValue: 'x', AnsibleVarName: 'params_existing' });
    expectError(await api.get(`${base}/missing`), 404, 1000, 'service type version config with this name or id (missing) does not exist');
  });

  it('PUT refuses ParameterName, AnsibleVarName and ID (class 700)', async () => {
    expect((await api.post(base, { ParameterName: 'immut', Type: 'int', DefaultValue: '1' })).status).toBe(201);
    const msg = "some service type version config fields can't be modified (ID, ParameterName, AnsibleVarName)";
    expectError(await api.put(`${base}/immut`, { ParameterName: 'other' }), 400, 700, msg);
    expectError(await api.put(`${base}/immut`, { AnsibleVarName: 'x_y' }), 400, 700, msg);
    expectError(await api.put(`${base}/immut`, { ID: 'x' }), 400, 700, msg);
    expectError(await api.put(`${base}/immut`, { Type: 'wrongString' }), 400, 300, 'parameter type must be int, float, bool, string. Got: wrongString');
    expectError(await api.put(`${base}/missing`, { Description: 'x' }), 404, 1000, 'service type version config with this name or id (missing) does not exist');
    expectError(await api.put(`${base}/immut`, '['), 400, 200, 'incorrect json format');
    expect((await api.get(`${base}/immut`)).data).toMatchObject({ ParameterName: 'immut', Type: 'int', AnsibleVarName: 'params_immut' });
  });

  it('PUT applies Description, Type, DefaultValue and Required', async () => {
    expect((await api.post(base, { ParameterName: 'patched', Type: 'int', DefaultValue: '1' })).status).toBe(201);
    const r = await api.put(`${base}/patched`, { Description: 'now described', DefaultValue: '2', Required: true });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ ParameterName: 'patched', Description: 'now described', DefaultValue: '2', Required: true, AnsibleVarName: 'params_patched' });
    // Fixed: Required could not be changed in the original.
    expect((await api.get(`${base}/patched`)).data.Required).toBe(true);
    expect((await api.put(`${base}/patched`, { Required: false })).data.Required).toBeFalsy();
    expect((await api.get(`${base}/patched`)).data.Required).toBeFalsy();
    expect((await api.put(`${base}/patched`, { Type: 'string' })).data.Type).toBe('string');
  });

  it('PUT validates new PossibleValues against the merged Type/IsList (fixed)', async () => {
    expect((await api.post(base, { ParameterName: 'merged', Type: 'int', DefaultValue: '1' })).status).toBe(201);
    // The stored Type is int: "x" is not an int even though the request names no Type.
    expectError(
      await api.put(`${base}/merged`, { PossibleValues: ['1', 'x'], DefaultValue: '1' }),
      400,
      300,
      'config possible value x set incorrectly',
    );
    expectError(await api.put(`${base}/merged`, { PossibleValues: [] }), 400, 300, 'config possible value is empty');
    expectError(await api.put(`${base}/merged`, { PossibleValues: ['2', '3'] }), 400, 300, "default value '1'");
    const ok = await api.put(`${base}/merged`, { PossibleValues: ['1', '2'] });
    expect(ok.status).toBe(200);
    expect(ok.data.PossibleValues).toEqual(['1', '2']);
    // Only a DefaultValue: checked against the stored values.
    expectError(await api.put(`${base}/merged`, { DefaultValue: '3' }), 400, 300, "default value '3'");
    expect((await api.put(`${base}/merged`, { DefaultValue: '2' })).data.DefaultValue).toBe('2');
    // Changing the Type re-checks the stored values: "2" is not a bool.
    expectError(await api.put(`${base}/merged`, { Type: 'bool' }), 400, 300, 'config possible value 2 set incorrectly');
    // Making it a list re-checks them as lists.
    expectError(await api.put(`${base}/merged`, { IsList: true }), 400, 300, 'set incorrectly');
    const listed = await api.put(`${base}/merged`, { IsList: true, PossibleValues: ['[1, 2]', '[3]'], DefaultValue: '[3]' });
    expect(listed.status).toBe(200);
    expect(listed.data.PossibleValues).toEqual(['[1,2]', '[3]']);
    const got = await api.get(`${base}/merged`);
    expect(got.data).toMatchObject({ Type: 'int', IsList: true, PossibleValues: ['[1,2]', '[3]'], DefaultValue: '[3]' });
  });

  it('DELETE removes a config, then it is 404', async () => {
    expect((await api.post(base, { ParameterName: 'gone', Type: 'int' })).status).toBe(201);
    expect((await api.delete(`${base}/gone`)).status).toBe(204);
    expectError(await api.get(`${base}/gone`), 404, 1000, 'service type version config with this name or id (gone) does not exist');
    expectError(await api.delete(`${base}/gone`), 404, 1000, 'service type version config with this name or id (gone) does not exist');
    // The name is free again.
    expect((await api.post(base, { ParameterName: 'gone', Type: 'bool', DefaultValue: 'true' })).status).toBe(201);
  });
});

describeEachStore('version dependencies', (ctx) => {
  const api = client(() => ctx.api);
  const deps = '/configs/app/versions/1.0/dependencies';

  beforeAll(async () => {
    for (const body of [
      serviceType('lib', ['1.0', '2.0', '3.0']),
      serviceType('other', ['a', 'b']),
      serviceType('app', ['1.0', '2.0']),
    ]) {
      expect((await ctx.api.post('/configs', body)).status).toBe(201);
    }
  });

  it('POST adds a dependency; the same ServiceType again is 400 class 600 (fixed: the original answered an empty 200)', async () => {
    const dep = { ServiceType: 'lib', ServiceVersions: ['1.0', '2.0'], DefaultServiceVersion: '1.0', Description: 'needs lib' };
    const r = await api.post(deps, dep);
    expect(r.status).toBe(201);
    expect(r.data).toEqual(dep);
    expect((await api.get(deps)).data).toEqual([dep]);
    expectError(await api.post(deps, dep), 400, 600, 'service type version dependency with this name or id (lib) already exists');
    expectError(await api.post(deps, { ...dep, ServiceVersions: ['3.0'], DefaultServiceVersion: '3.0' }), 400, 600, 'already exists');
    expect((await api.get(deps)).data).toEqual([dep]);
  });

  it('POST checks the target type and versions', async () => {
    const path = '/configs/app/versions/2.0/dependencies';
    expectError(
      await api.post(path, { ServiceType: 'ghost', ServiceVersions: ['1.0'], DefaultServiceVersion: '1.0' }),
      404,
      1000,
      'service type with this name or id (ghost) does not exist',
    );
    const empty = "service default version | versions list in dependency can't be empty";
    expectError(await api.post(path, { ServiceType: 'lib', ServiceVersions: [], DefaultServiceVersion: '1.0' }), 400, 300, empty);
    expectError(await api.post(path, { ServiceType: 'lib', DefaultServiceVersion: '1.0' }), 400, 300, empty);
    expectError(await api.post(path, { ServiceType: 'lib', ServiceVersions: ['1.0'] }), 400, 300, empty);
    expectError(
      await api.post(path, { ServiceType: 'lib', ServiceVersions: ['1.0', '2.0'], DefaultServiceVersion: '3.0' }),
      400,
      300,
      "service default version in dependencies doesn't exist",
    );
    expectError(
      await api.post(path, { ServiceType: 'lib', ServiceVersions: ['1.0', 'a'], DefaultServiceVersion: '1.0' }),
      400,
      300,
      "service version in versions list doesn't exist",
    );
    expectError(await api.post(path, 'x'), 400, 200, 'incorrect json format');
    // A version cannot depend on its own type: a cluster holds one version per type.
    expectError(
      await api.post(path, { ServiceType: 'app', ServiceVersions: ['1.0'], DefaultServiceVersion: '1.0' }),
      400,
      300,
      "service type app can't depend on itself",
    );
    expectError(
      await api.post('/configs/app/versions', { Version: '3.0', Dependencies: [{ ServiceType: 'app', ServiceVersions: ['1.0'], DefaultServiceVersion: '1.0' }] }),
      400,
      300,
      "service type app can't depend on itself",
    );
    expectError(
      await api.post('/configs/app/versions/9.9/dependencies', { ServiceType: 'lib', ServiceVersions: ['1.0'], DefaultServiceVersion: '1.0' }),
      404,
      1000,
      'version with this name or id (9.9) does not exist',
    );
    const list = await api.get(path);
    expect(list.status).toBe(200);
    expect(list.data).toEqual([]);
  });

  it('GET one; missing is 404 class 1000', async () => {
    expect((await api.post('/configs/app/versions/2.0/dependencies', { ServiceType: 'other', ServiceVersions: ['a'], DefaultServiceVersion: 'a' })).status).toBe(201);
    const r = await api.get('/configs/app/versions/2.0/dependencies/other');
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ ServiceType: 'other', ServiceVersions: ['a'], DefaultServiceVersion: 'a' });
    expectError(await api.get('/configs/app/versions/2.0/dependencies/lib'), 404, 1000, 'service type lib not found in dependencies of version 2.0');
    expectError(await api.get('/configs/app/versions/2.0/dependencies/X'), 404, 1000, 'service type X not found in dependencies of version 2.0');
    expectError(await api.get('/configs/app/versions/9.9/dependencies/other'), 404, 1000, 'version with this name or id (9.9) does not exist');
  });

  it('PUT replaces ServiceVersions (fixed: the original kept the union) and refuses ServiceType', async () => {
    const path = '/configs/app/versions/2.0/dependencies';
    expect((await api.post(path, { ServiceType: 'lib', ServiceVersions: ['1.0', '2.0'], DefaultServiceVersion: '1.0' })).status).toBe(201);
    const r = await api.put(`${path}/lib`, { ServiceVersions: ['2.0', '3.0'], DefaultServiceVersion: '2.0', Description: 'narrowed' });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ ServiceType: 'lib', ServiceVersions: ['2.0', '3.0'], DefaultServiceVersion: '2.0', Description: 'narrowed' });
    expect((await api.get(`${path}/lib`)).data).toEqual(r.data);
    // The old default would not be in the new list.
    expectError(await api.put(`${path}/lib`, { ServiceVersions: ['3.0'] }), 400, 300, "service default version in dependencies doesn't exist");
    expectError(await api.put(`${path}/lib`, { ServiceVersions: ['3.0', '9.9'] }), 400, 300, "service version in versions list doesn't exist");
    expectError(await api.put(`${path}/lib`, { ServiceVersions: [] }), 400, 300, "service default version | versions list in dependency can't be empty");
    expectError(await api.put(`${path}/lib`, { DefaultServiceVersion: '1.0' }), 400, 300, "service default version in dependencies doesn't exist");
    expectError(
      await api.put(`${path}/lib`, { ServiceType: 'other' }),
      400,
      300,
      "some service types version dependency fields can't be modified (Service Type)",
    );
    expectError(await api.put(`${path}/ghost`, { Description: 'x' }), 404, 1000, 'service type ghost not found in dependencies of version 2.0');
    expectError(await api.put(`${path}/lib`, '{'), 400, 200, 'incorrect json format');
    expect((await api.get(`${path}/lib`)).data).toEqual(r.data);
    // Removing versions lets them be deleted from the target type (they no longer appear in a dependency).
    expect((await api.put(`${path}/lib`, { ServiceVersions: ['3.0'], DefaultServiceVersion: '3.0' })).status).toBe(200);
  });

  it('DELETE removes a dependency; missing is 404 (fixed: the original answered an empty 200)', async () => {
    const path = '/configs/app/versions/1.0/dependencies';
    expect((await api.post(path, { ServiceType: 'other', ServiceVersions: ['a', 'b'], DefaultServiceVersion: 'b' })).status).toBe(201);
    expect((await api.delete(`${path}/other`)).status).toBe(204);
    expectError(await api.get(`${path}/other`), 404, 1000, 'service type other not found in dependencies of version 1.0');
    expectError(await api.delete(`${path}/other`), 404, 1000, 'service type other not found in dependencies of version 1.0');
    expectError(await api.delete(`${path}/never`), 404, 1000, 'service type never not found in dependencies of version 1.0');
    // The dependency is free again.
    expect((await api.post(path, { ServiceType: 'other', ServiceVersions: ['a'], DefaultServiceVersion: 'a' })).status).toBe(201);
  });

  it('dependencies protect the target type and its listed versions', async () => {
    // app 1.0 depends on lib 1.0/2.0, app 2.0 on lib 3.0 (after the PUT above).
    expectError(await api.delete('/configs/lib'), 400, 600, 'service type presents in dependencies for another service');
    expectError(await api.delete('/configs/lib/versions/2.0'), 400, 300, 'service type version 2.0 presents in dependencies versions in app service');
    expectError(await api.delete('/configs/lib/versions/3.0'), 400, 300, 'service type version 3.0 presents in dependencies versions in app service');
    expect((await api.delete('/configs/app/versions/1.0/dependencies/lib')).status).toBe(204);
    expect((await api.delete('/configs/lib/versions/2.0')).status).toBe(204);
  });

  it('concurrent version deletes and dependency/default changes keep the catalog consistent', async () => {
    const n = 8;
    const vs = Array.from({ length: n }, (_, i) => `v${i}`);
    const ws = Array.from({ length: n }, (_, i) => `w${i}`);
    expect((await ctx.api.post('/configs', serviceType('racebase', ['keep', ...vs, ...ws]))).status).toBe(201);
    expect((await ctx.api.post('/configs', serviceType('raceapp', vs.map((v) => `a${v}`)))).status).toBe(201);
    for (let i = 0; i < n; i++) {
      const [del, dep] = await Promise.all([
        ctx.api.delete(`/configs/racebase/versions/${vs[i]}`),
        ctx.api.post(`/configs/raceapp/versions/a${vs[i]}/dependencies`, { ServiceType: 'racebase', ServiceVersions: [vs[i]], DefaultServiceVersion: vs[i] }),
      ]);
      checked(del);
      checked(dep);
      // Exactly one wins: the delete (then the version is unknown) or the dependency (then it protects it).
      expect([[204, 400], [201, 400]]).toContainEqual([del.status, dep.status].sort());
      const [put, del2] = await Promise.all([
        ctx.api.put('/configs/racebase', { DefaultVersion: ws[i] }),
        ctx.api.delete(`/configs/racebase/versions/${ws[i]}`),
      ]);
      checked(put);
      checked(del2);
      // Exactly one wins: the new default (then it cannot be deleted) or the delete (then it cannot become the default).
      expect([[200, 400], [204, 400]]).toContainEqual([put.status, del2.status].sort());
      expect((await api.put('/configs/racebase', { DefaultVersion: 'keep' })).status).toBe(200);
    }
    const base = await api.get('/configs/racebase?view=full');
    const known = new Set(base.data.Versions.map((v: { Version: string }) => v.Version));
    expect(known.has(base.data.DefaultVersion)).toBe(true);
    const app = await api.get('/configs/raceapp?view=full');
    for (const v of app.data.Versions) {
      for (const d of v.Dependencies ?? []) for (const x of d.ServiceVersions) expect(known.has(x)).toBe(true);
    }
  });
});
