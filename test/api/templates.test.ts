// Templates, common (/templates) and per project (/projects/{p}/templates). The original's legacy
// handlers (bare statuses, 204 for "not found", 200 on create, the project ignored on reads) are
// replaced by the envelope, 201/204/404 and strict project scoping (reference §3.6, §12.1-4).
import { it, expect, beforeAll } from 'vitest';
import { describeEachStore, image, flavor, project, type Api, type Reply } from '../helpers/api.js';

const redis = {
  Type: 'redis',
  Class: 'storage',
  DefaultVersion: '7',
  Versions: [
    { Version: '7', Configs: [{ ParameterName: 'port', Type: 'int', DefaultValue: '6379' }] },
    { Version: '6', Configs: [{ ParameterName: 'port', Type: 'int', DefaultValue: '6379' }] },
  ],
};

const tpl = (displayName: string, extra: Record<string, unknown> = {}) => ({
  DisplayName: displayName,
  NSlaves: 2,
  Description: 'a template',
  Services: [{ Type: 'redis', Name: 'cache', Config: { port: '6380' } }],
  ...extra,
});

function expectError(r: Reply, status: number, errorClass: number): void {
  expect(r.status, r.raw).toBe(status);
  expect(r.body.Type).toBe(errorClass);
  expect(r.body.Status).toBe(status);
  expect(r.body.Detail.Data).toBe('No data');
  expect(typeof r.body.Detail.Message).toBe('string');
  expect(r.body.Detail.Message.length).toBeGreaterThan(0);
}

function expectCreated(r: Reply): void {
  expect(r.status, r.raw).toBe(201);
  expect(r.body.Type).toBe(2);
  expect(r.body.Status).toBe(201);
  expect(r.body.Title).toBe('Request successful');
}

describeEachStore('templates', (ctx) => {
  let api: Api;
  let alphaId: string;
  let betaId: string;

  beforeAll(async () => {
    api = ctx.api;
    expect((await api.post('/images', image())).status).toBe(201);
    expect((await api.post('/flavors', flavor())).status).toBe(201);
    const a = await api.post('/projects', project('alpha'));
    const b = await api.post('/projects', project('beta'));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    alphaId = a.data.ID;
    betaId = b.data.ID;
    const st = await api.post('/configs', redis);
    expect(st.status, st.raw).toBe(201);
  });

  // The two families share every rule; only the scope and the Name suffix differ.
  const families = [
    { label: 'common', base: () => '/templates', projectId: () => 'None', suffix: 'common' },
    { label: 'project (by name)', base: () => '/projects/alpha/templates', projectId: () => alphaId, suffix: 'alpha' },
    { label: 'project (by ID)', base: () => `/projects/${betaId}/templates`, projectId: () => betaId, suffix: 'beta' },
  ];

  for (const f of families) {
    it(`${f.label}: POST creates with generated ID, ProjectID and Name, and defaults service versions`, async () => {
      const r = await api.post(f.base(), tpl('web'));
      expectCreated(r);
      expect(r.message).toBe(`Request: POST ${f.base()}`);
      const t = r.data;
      expect(t.ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(t.ProjectID).toBe(f.projectId());
      expect(t.Name).toBe(`web-${f.suffix}`);
      expect(t.DisplayName).toBe('web');
      expect(t.NSlaves).toBe(2);
      expect(t.Description).toBe('a template');
      expect(t.Services).toHaveLength(1);
      expect(t.Services[0]).toMatchObject({ Type: 'redis', Name: 'cache', Version: '7', Config: { port: '6380' } });
      expect(typeof t.Services[0].ID).toBe('string');

      // What POST answered is what is stored.
      const byId = await api.get(`${f.base()}/${t.ID}`);
      expect(byId.status).toBe(200);
      expect(byId.body.Type).toBe(1);
      expect(byId.data).toEqual(t);
      const byName = await api.get(`${f.base()}/web-${f.suffix}`);
      expect(byName.status).toBe(200);
      expect(byName.data).toEqual(t);
    });

    it(`${f.label}: generated fields sent by the client are refused`, async () => {
      for (const field of ['ID', 'ProjectID', 'Name']) {
        const r = await api.post(f.base(), tpl('gen', { [field]: field === 'ID' ? '0f9d3c1e-8a0b-4d52-9b9e-1f2a3b4c5d6e' : 'x' }));
        expectError(r, 400, 300);
      }
      expect((await api.get(`${f.base()}/gen-${f.suffix}`)).status).toBe(404);
    });

    it(`${f.label}: duplicate Name is 400 class 600`, async () => {
      expectCreated(await api.post(f.base(), tpl('dup')));
      const again = await api.post(f.base(), tpl('dup', { Description: 'other' }));
      expectError(again, 400, 600);
      const list = await api.get(f.base());
      expect(list.data.filter((x: { Name: string }) => x.Name === `dup-${f.suffix}`)).toHaveLength(1);
      expect(list.data.find((x: { Name: string }) => x.Name === `dup-${f.suffix}`).Description).toBe('a template');
    });

    it(`${f.label}: validation errors are 400 and store nothing`, async () => {
      const before = (await api.get(f.base())).data;
      const bad: Array<[string, unknown, number]> = [
        ['empty DisplayName', tpl(''), 300],
        ['missing DisplayName', { NSlaves: 1 }, 300],
        ['DisplayName with a leading digit', tpl('1abc'), 300],
        ['DisplayName with a space', tpl('a b'), 300],
        ['one-letter DisplayName', tpl('a'), 300],
        ['DisplayName with an underscore', tpl('a_b'), 300],
        ['NSlaves -1', tpl('neg', { NSlaves: -1 }), 300],
        ['NSlaves as a string', tpl('str', { NSlaves: '2' }), 200],
        ['NSlaves as a float', tpl('flt', { NSlaves: 1.5 }), 200],
        ['Services as an object', tpl('obj', { Services: { Type: 'redis' } }), 200],
        ['unknown service type', tpl('unk', { Services: [{ Type: 'nosuch' }] }), 300],
        ['service without a type', tpl('notype', { Services: [{ Name: 'x' }] }), 300],
        ['unknown version', tpl('badver', { Services: [{ Type: 'redis', Version: '99' }] }), 300],
        ['bad config value', tpl('badcfg', { Services: [{ Type: 'redis', Config: { port: 'abc' } }] }), 300],
        ['unknown config parameter', tpl('badkey', { Services: [{ Type: 'redis', Config: { nosuch: '1' } }] }), 300],
        ['config value not a string', tpl('numcfg', { Services: [{ Type: 'redis', Config: { port: 6379 } }] }), 200],
      ];
      for (const [what, body, cls] of bad) {
        const r = await api.post(f.base(), body);
        expect(r.status, `${what}: ${r.raw}`).toBe(400);
        expectError(r, 400, cls);
        if (cls === 200) expect(r.message).toMatch(/^incorrect json format/);
      }
      expect((await api.get(f.base())).data).toEqual(before);
    });

    it(`${f.label}: an explicit service version is kept; keys match case-insensitively`, async () => {
      const r = await api.post(f.base(), { displayname: 'v6', nslaves: 0, services: [{ type: 'redis', VERSION: '6' }] });
      expectCreated(r);
      expect(r.data.Services[0].Version).toBe('6');
      expect(r.data.Services[0].Type).toBe('redis');
      expect((await api.get(`${f.base()}/${r.data.ID}`)).data).toEqual(r.data);
    });

    it(`${f.label}: missing templates are 404 envelopes`, async () => {
      for (const id of ['nosuch', '3f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0']) {
        expectError(await api.get(`${f.base()}/${id}`), 404, 1000);
        expectError(await api.put(`${f.base()}/${id}`, tpl('ghost')), 404, 1000);
        expectError(await api.delete(`${f.base()}/${id}`), 404, 1000);
      }
    });

    it(`${f.label}: PUT replaces the mutable fields and answers with the stored template`, async () => {
      const created = (await api.post(f.base(), tpl('edit'))).data;
      const r = await api.put(`${f.base()}/${created.ID}`, {
        DisplayName: 'edited',
        NSlaves: 5,
        Description: 'changed',
        Services: [{ Type: 'redis', Version: '6', Config: { port: '7000' }, ClusterRef: 'ignored?' }, { Type: 'redis' }],
      });
      expect(r.status, r.raw).toBe(200);
      expect(r.body.Type).toBe(1);
      expect(r.body.Title).toBe('Request successful');
      expect(r.message).toBe(`Request: PUT ${f.base()}/${created.ID}`);
      expect(r.data.ID).toBe(created.ID);
      expect(r.data.ProjectID).toBe(f.projectId());
      expect(r.data.DisplayName).toBe('edited');
      expect(r.data.Name).toBe(`edited-${f.suffix}`);
      expect(r.data.NSlaves).toBe(5);
      expect(r.data.Description).toBe('changed');
      expect(r.data.Services.map((s: { Version: string }) => s.Version)).toEqual(['6', '7']);
      expect(r.data.Services[0].Config).toEqual({ port: '7000' });
      // Not an echo of the request: what a later GET returns, field for field.
      const got = await api.get(`${f.base()}/${created.ID}`);
      expect(got.data).toEqual(r.data);

      // Replace, not merge: absent Services/NSlaves/Description are cleared, DisplayName is kept.
      const cleared = await api.put(`${f.base()}/${created.ID}`, {});
      expect(cleared.status, cleared.raw).toBe(200);
      expect(cleared.data.DisplayName).toBe('edited');
      expect(cleared.data.Services).toEqual([]);
      expect(cleared.data.NSlaves ?? 0).toBe(0);
      expect(cleared.data.Description ?? '').toBe('');
      expect((await api.get(`${f.base()}/${created.ID}`)).data).toEqual(cleared.data);
    });

    it(`${f.label}: PUT with ID, ProjectID or Name is 400 and changes nothing`, async () => {
      const created = (await api.post(f.base(), tpl('frozen'))).data;
      for (const [field, value] of [
        ['ID', created.ID],
        ['ID', '0f9d3c1e-8a0b-4d52-9b9e-1f2a3b4c5d6e'],
        ['ProjectID', 'None'],
        ['ProjectID', alphaId],
        ['Name', 'renamed'],
      ] as const) {
        const r = await api.put(`${f.base()}/${created.ID}`, { DisplayName: 'changed', Description: 'changed', NSlaves: 9, [field]: value });
        expectError(r, 400, 300);
      }
      // Other invalid bodies do not half-apply either.
      expectError(await api.put(`${f.base()}/${created.ID}`, { DisplayName: '9bad', Description: 'changed' }), 400, 300);
      expectError(await api.put(`${f.base()}/${created.ID}`, { Description: 'changed', NSlaves: -1 }), 400, 300);
      expectError(await api.put(`${f.base()}/${created.ID}`, { Description: 'changed', Services: [{ Type: 'nosuch' }] }), 400, 300);
      expectError(await api.put(`${f.base()}/${created.ID}`, { Description: 'changed', Services: [{ Type: 'redis', Config: { port: 'x' } }] }), 400, 300);
      expectError(await api.put(`${f.base()}/${created.ID}`, '{"Description":"changed"'), 400, 200);
      expect((await api.get(`${f.base()}/${created.ID}`)).data).toEqual(created);
    });

    it(`${f.label}: PUT renaming onto an existing Name is 400 class 600`, async () => {
      const one = (await api.post(f.base(), tpl('first'))).data;
      expectCreated(await api.post(f.base(), tpl('second')));
      expectError(await api.put(`${f.base()}/${one.ID}`, tpl('second')), 400, 600);
      expect((await api.get(`${f.base()}/${one.ID}`)).data).toEqual(one);
    });

    it(`${f.label}: DELETE is 204 with an empty body, then 404`, async () => {
      const created = (await api.post(f.base(), tpl('gone'))).data;
      const r = await api.delete(`${f.base()}/${created.ID}`);
      expect(r.status).toBe(204);
      expect(r.raw).toBe('');
      expectError(await api.get(`${f.base()}/${created.ID}`), 404, 1000);
      expectError(await api.delete(`${f.base()}/${created.ID}`), 404, 1000);
      expectError(await api.get(`${f.base()}/gone-${f.suffix}`), 404, 1000);
      // The name is free again.
      expectCreated(await api.post(f.base(), tpl('gone')));
    });

    it(`${f.label}: list holds only this scope's templates`, async () => {
      const r = await api.get(f.base());
      expect(r.status).toBe(200);
      expect(r.body.Type).toBe(1);
      expect(Array.isArray(r.data)).toBe(true);
      expect(r.data.length).toBeGreaterThan(0);
      for (const t of r.data) {
        expect(t.ProjectID).toBe(f.projectId());
        expect(t.Name.endsWith(`-${f.suffix}`)).toBe(true);
      }
    });
  }

  it('a project template is invisible through another project and through /templates', async () => {
    const own = (await api.post('/projects/alpha/templates', tpl('secret'))).data;
    const common = (await api.post('/templates', tpl('shared'))).data;
    const before = (await api.get(`/projects/alpha/templates/${own.ID}`)).data;
    expect(before).toEqual(own);

    for (const other of ['/projects/beta/templates', `/projects/${betaId}/templates`, '/templates']) {
      for (const ref of [own.ID, own.Name]) {
        expectError(await api.get(`${other}/${ref}`), 404, 1000);
        expectError(await api.put(`${other}/${ref}`, { DisplayName: 'stolen', Description: 'pwned' }), 404, 1000);
        expectError(await api.delete(`${other}/${ref}`), 404, 1000);
      }
      const list = (await api.get(other)).data as Array<{ ID: string }>;
      expect(list.some((t) => t.ID === own.ID)).toBe(false);
    }
    // ... and a common template is not one of a project's.
    for (const ref of [common.ID, common.Name]) {
      expectError(await api.get(`/projects/alpha/templates/${ref}`), 404, 1000);
      expectError(await api.put(`/projects/alpha/templates/${ref}`, { DisplayName: 'stolen' }), 404, 1000);
      expectError(await api.delete(`/projects/alpha/templates/${ref}`), 404, 1000);
    }
    expect((await api.get(`/projects/alpha/templates/${own.ID}`)).data).toEqual(own);
    expect((await api.get(`/templates/${common.ID}`)).data).toEqual(common);
  });

  it('the same DisplayName may exist in several scopes', async () => {
    const names = [];
    for (const base of ['/templates', '/projects/alpha/templates', '/projects/beta/templates']) {
      const r = await api.post(base, tpl('same'));
      expectCreated(r);
      names.push(r.data.Name);
    }
    expect(names).toEqual(['same-common', 'same-alpha', 'same-beta']);
  });

  it('a missing project is 404 on every project-template route', async () => {
    for (const p of ['nosuch', '7d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a']) {
      const base = `/projects/${p}/templates`;
      expectError(await api.get(base), 404, 1000);
      expectError(await api.post(base, tpl('orphan')), 404, 1000);
      expectError(await api.get(`${base}/x`), 404, 1000);
      expectError(await api.put(`${base}/x`, tpl('orphan')), 404, 1000);
      expectError(await api.delete(`${base}/x`), 404, 1000);
    }
  });

  it('lists page with limit/after like the other collections', async () => {
    for (const n of ['pga', 'pgb', 'pgc']) expectCreated(await api.post('/projects/beta/templates', tpl(n)));
    const all = (await api.get('/projects/beta/templates')).data.map((t: { Name: string }) => t.Name);
    const seen: string[] = [];
    let url: string | undefined = '/projects/beta/templates?limit=2';
    while (url) {
      const r: Reply = await api.get(url);
      expect(r.status).toBe(200);
      expect(r.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.data.map((t: { Name: string }) => t.Name));
      const link = r.headers.link as string | undefined;
      url = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    }
    expect(seen).toEqual(all);
  });
});

describeEachStore('template names are unique per scope', (ctx) => {
  it('allows the same generated Name in two projects ("xx-b" of project "pa" and "xx" of project "b-pa")', async () => {
    await ctx.api.post('/images', image());
    await ctx.api.post('/flavors', flavor());
    expect((await ctx.api.post('/projects', project('pa'))).status).toBe(201);
    expect((await ctx.api.post('/projects', project('b-pa'))).status).toBe(201);
    const one = await ctx.api.post('/projects/pa/templates', { DisplayName: 'xx-b' });
    const two = await ctx.api.post('/projects/b-pa/templates', { DisplayName: 'xx' });
    expect([one.status, two.status]).toEqual([201, 201]);
    expect(one.data.Name).toBe('xx-b-pa');
    expect(two.data.Name).toBe('xx-b-pa');
    // ... while within one scope the name stays unique.
    expect((await ctx.api.post('/projects/pa/templates', { DisplayName: 'xx-b' })).status).toBe(400);
  });
});
