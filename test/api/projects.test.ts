// /projects: the original's rules (reference §3.1, §2.1) and its test checklist (§11 "Projects"),
// plus what we fixed (§12): DisplayName is checked on update too, names that parse as UUIDs stay
// reachable, deleting a project deletes its templates, and creation is safe under concurrency.
import { it, expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { describeEachStore, image, flavor, project, type Api, type Reply } from '../helpers/api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BAD_NAME =
  "project validation error. Bad name. You should use only alpha-numeric characters and '-' symbols and only alphabetic characters for leading symbol";
const UNMODIFIABLE = "some project fields can't be modified (ID, Name)";
const DEFAULTS = ['DefaultImage', 'DefaultMasterFlavor', 'DefaultSlavesFlavor', 'DefaultStorageFlavor', 'DefaultMonitoringFlavor'] as const;

function expectError(r: Reply, status: number, errorClass: number, message: string | RegExp): void {
  expect({ status: r.status, Type: r.body?.Type, Status: r.body?.Status }).toEqual({ status, Type: errorClass, Status: status });
  if (typeof message === 'string') expect(r.message).toBe(message);
  else expect(r.message).toMatch(message);
  expect(r.data).toBe('No data');
}

const notFound = (object: string, v: string) => `${object} with this name or id (${v}) does not exist`;

/**
 * A cluster row written straight into the database: the cluster routes do not exist yet, and a
 * project's delete rule only needs the row to be there.
 */
async function insertCluster(api: Api, projectId: string, displayName = 'c1'): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await api.store.db
    .insertInto('clusters')
    .values({
      id,
      project_id: projectId,
      name: `${displayName}-${projectId}`,
      display_name: displayName,
      entity_status: 'ACTIVE',
      cluster_type: '',
      host_url: '',
      n_slaves: 1,
      master_ip: '',
      owner_id: 'tester',
      description: '',
      image: 'ubuntu',
      keys: '[]',
      monitoring: 0,
      master_flavor: 'small',
      slaves_flavor: 'small',
      storage_flavor: 'small',
      monitoring_flavor: 'small',
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

describeEachStore('projects', (ctx) => {
  const api = () => ctx.api;
  let imageId = '';
  let flavorId = '';

  it('lists nothing on an empty database', async () => {
    const r = await api().get('/projects');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ Type: 1, Status: 200, Title: 'Request successful' });
    expect(r.data).toEqual([]);
    // The catalogue every other test in this block relies on.
    imageId = (await api().post('/images', image('ubuntu'))).data.ID;
    flavorId = (await api().post('/flavors', flavor('small'))).data.ID;
    await api().post('/flavors', flavor('large'));
  });

  it("rejects the name '#test-project#' and accepts 'test-project'", async () => {
    expectError(await api().post('/projects', project('#test-project#')), 400, 300, BAD_NAME);
    // One letter is too short, a leading digit is not a letter.
    expectError(await api().post('/projects', project('a')), 400, 300, BAD_NAME);
    expectError(await api().post('/projects', project('1abc')), 400, 300, BAD_NAME);

    const r = await api().post('/projects', project('test-project'));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ Type: 2, Status: 201 });
    // Name is generated from DisplayName; image and flavors are stored as sent.
    expect(r.data).toEqual({ ...project('test-project'), ID: expect.stringMatching(UUID), Name: 'test-project' });
  });

  it('refuses ID and Name in the body: they are generated', async () => {
    expectError(await api().post('/projects', { ...project('gen'), ID: randomUUID() }), 400, 300, "project 'ID' field is generated and can't be filled by user");
    expectError(await api().post('/projects', { ...project('gen'), Name: 'gen' }), 400, 300, "project 'Name' field is generated and can't be filled by user");
  });

  it('requires DisplayName', async () => {
    const { DisplayName: _, ...rest } = project('x');
    expectError(await api().post('/projects', rest), 400, 300, "required project field 'DisplayName' is empty");
    expectError(await api().post('/projects', { ...rest, DisplayName: '' }), 400, 300, "required project field 'DisplayName' is empty");
  });

  it('requires every default image and flavor, all missing ones named in one answer, in the documented order', async () => {
    const body: Record<string, string> = { DisplayName: 'needs-defaults' };
    for (const [i, f] of DEFAULTS.entries()) {
      const missing = DEFAULTS.slice(i);
      const message = missing.length === 1 ? `required project field '${f}' is empty` : `required project fields are empty: ${missing.map((m) => `'${m}'`).join(', ')}`;
      expectError(await api().post('/projects', body), 400, 300, message);
      body[f] = f === 'DefaultImage' ? 'ubuntu' : 'small';
    }
    expect((await api().post('/projects', body)).status).toBe(201);
  });

  it('refuses a body that is not JSON or has a wrong type', async () => {
    expectError(await api().post('/projects', '{"DisplayName": '), 400, 200, /^incorrect json format/);
    expectError(await api().post('/projects', { ...project('typed'), GroupID: 5 }), 400, 200, /^incorrect json format.*'GroupID'/);
  });

  it('refuses a duplicate', async () => {
    expectError(await api().post('/projects', project('test-project')), 400, 600, 'project with this name or id (test-project) already exists');
  });

  it('answers 404 when the default image or a default flavor does not exist', async () => {
    expectError(await api().post('/projects', project('no-image', 'nope')), 404, 1000, notFound('image', 'nope'));
    for (const f of DEFAULTS.slice(1)) {
      expectError(await api().post('/projects', { ...project('no-flavor'), [f]: 'tiny' }), 404, 1000, notFound('flavor', 'tiny'));
    }
    expect((await api().get('/projects/no-image')).status).toBe(404);
    expect((await api().get('/projects/no-flavor')).status).toBe(404);
  });

  it('accepts the image and flavors by ID and stores them as sent', async () => {
    const r = await api().post('/projects', project('by-ids', imageId, flavorId));
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({ DefaultImage: imageId, DefaultMasterFlavor: flavorId, DefaultMonitoringFlavor: flavorId });
  });

  it('accepts keys in any case, as Go decoding did', async () => {
    const r = await api().post('/projects', {
      displayname: 'lower-keys',
      defaultimage: 'ubuntu',
      DEFAULTMASTERFLAVOR: 'small',
      defaultSlavesFlavor: 'small',
      defaultstorageflavor: 'small',
      defaultmonitoringflavor: 'small',
      groupid: 'team',
    });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({ Name: 'lower-keys', DisplayName: 'lower-keys', DefaultImage: 'ubuntu', GroupID: 'team' });
  });

  it('gets a project by name and by ID in every UUID spelling', async () => {
    const created = (await api().get('/projects/test-project')).data;
    expect(created.Name).toBe('test-project');
    const id: string = created.ID;
    for (const s of [id, id.toUpperCase(), `{${id}}`, `urn:uuid:${id}`, id.replaceAll('-', '')]) {
      const r = await api().get(`/projects/${encodeURIComponent(s)}`);
      expect(r.status, s).toBe(200);
      expect(r.data, s).toEqual(created);
    }
    expectError(await api().get('/projects/missing'), 404, 1000, notFound('project', 'missing'));
  });

  it('finds a project whose name parses as a UUID by that name (fixed §12.2-10)', async () => {
    const name = 'abcdef0123456789abcdef0123456789';
    const created = await api().post('/projects', project(name));
    expect(created.status).toBe(201);
    const r = await api().get(`/projects/${name}`);
    expect(r.status).toBe(200);
    expect(r.data.ID).toBe(created.data.ID);
    // Its uniqueness is checked by name too.
    expectError(await api().post('/projects', project(name)), 400, 600, `project with this name or id (${name}) already exists`);
  });

  it('PUT of a missing project is 404 whatever the body: the lookup comes first', async () => {
    for (const body of [{ Description: 'x' }, { Name: 'x' }, { GroupID: 5 }, '{not json', '[1, 2]']) {
      expectError(await api().put('/projects/ghost', body), 404, 1000, notFound('project', 'ghost'));
    }
  });

  it('PUT refuses Name and ID; a numeric GroupId is a JSON error', async () => {
    expectError(await api().put('/projects/test-project', { Name: 'other' }), 400, 300, UNMODIFIABLE);
    expectError(await api().put('/projects/test-project', { ID: randomUUID() }), 400, 300, UNMODIFIABLE);
    // The original checklist's body: Go failed decoding the number before looking at Name.
    expectError(await api().put('/projects/test-project', { Name: 'other', GroupId: 123 }), 400, 200, /^incorrect json format.*'GroupID'/);
    expectError(await api().put('/projects/test-project', '{"Description": '), 400, 200, /^incorrect json format/);
    expect((await api().get('/projects/test-project')).data.Name).toBe('test-project');
  });

  it('PUT with only Description changes only Description, and it is stored', async () => {
    const before = (await api().get('/projects/test-project')).data;
    const r = await api().put('/projects/test-project', { Description: 'new words' });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ ...before, Description: 'new words' });
    expect((await api().get('/projects/test-project')).data).toEqual({ ...before, Description: 'new words' });
  });

  it('PUT refuses a bad DisplayName (the original skipped the name rule on update)', async () => {
    expectError(await api().put('/projects/test-project', { DisplayName: '#bad#' }), 400, 300, BAD_NAME);
    expect((await api().get('/projects/test-project')).data.DisplayName).toBe('test-project');
  });

  it('PUT of DisplayName never changes Name', async () => {
    const r = await api().put('/projects/test-project', { DisplayName: 'renamed', GroupID: 'ops' });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ Name: 'test-project', DisplayName: 'renamed', GroupID: 'ops' });
    const got = await api().get('/projects/test-project');
    expect(got.data).toMatchObject({ Name: 'test-project', DisplayName: 'renamed' });
    expect((await api().get('/projects/renamed')).status).toBe(404);
  });

  it('PUT answers 404 for a missing image or flavor and changes nothing', async () => {
    const before = (await api().get('/projects/test-project')).data;
    expectError(await api().put('/projects/test-project', { DefaultSlavesFlavor: 'tiny' }), 404, 1000, notFound('flavor', 'tiny'));
    expectError(await api().put('/projects/test-project', { DefaultImage: 'nope', Description: 'lost' }), 404, 1000, notFound('image', 'nope'));
    expect((await api().get('/projects/test-project')).data).toEqual(before);
  });

  it('PUT switches defaults to existing ones, by name or by ID', async () => {
    const r = await api().put('/projects/test-project', { DefaultMasterFlavor: 'large', DefaultImage: imageId });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ DefaultMasterFlavor: 'large', DefaultImage: imageId, DefaultSlavesFlavor: 'small' });
  });

  it('DELETE refuses a project that has clusters', async () => {
    const p = (await api().post('/projects', project('with-cluster'))).data;
    const clusterId = await insertCluster(api(), p.ID);
    expectError(await api().delete('/projects/with-cluster'), 400, 300, 'project has clusters. Delete them first');
    expect((await api().get('/projects/with-cluster')).status).toBe(200);
    // Without the cluster it goes.
    await api().store.db.deleteFrom('clusters').where('id', '=', clusterId).execute();
    expect((await api().delete('/projects/with-cluster')).status).toBe(204);
  });

  it("DELETE removes the project's templates too (the original left them behind)", async () => {
    await api().post('/projects', project('with-template'));
    const t = await api().post('/projects/with-template/templates', { DisplayName: 't1' });
    expect(t.status).toBe(201);
    expect((await api().get('/projects/with-template/templates')).data).toHaveLength(1);

    expect((await api().delete('/projects/with-template')).status).toBe(204);
    const left = await api().store.db.selectFrom('templates').select('id').where('id', '=', t.data.ID).execute();
    expect(left).toEqual([]);

    // A new project of the same name starts with no templates and can reuse the template name.
    await api().post('/projects', project('with-template'));
    expect((await api().get('/projects/with-template/templates')).data).toEqual([]);
    expect((await api().post('/projects/with-template/templates', { DisplayName: 't1' })).status).toBe(201);
  });

  it('DELETE answers 204 with an empty body, then the project is gone', async () => {
    const { ID } = (await api().post('/projects', project('doomed'))).data;
    const r = await api().delete(`/projects/${ID}`);
    expect(r.status).toBe(204);
    expect(r.raw).toBe('');
    expectError(await api().get('/projects/doomed'), 404, 1000, notFound('project', 'doomed'));
    expectError(await api().delete('/projects/doomed'), 404, 1000, notFound('project', 'doomed'));
  });

  it('creates exactly one of 10 concurrent same-name projects', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, () => api().post('/projects', project('racer'))));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    const losers = replies.filter((r) => r.status !== 201);
    expect(losers).toHaveLength(9);
    for (const r of losers) expectError(r, 400, 600, 'project with this name or id (racer) already exists');
    const all = (await api().get('/projects')).data as { Name: string }[];
    expect(all.filter((p) => p.Name === 'racer')).toHaveLength(1);
  });

  // Without row locks both used to succeed on MariaDB and PostgreSQL (a project naming a deleted
  // image); the outcome may be either, but exactly one of the two requests must win.
  it('a project and a concurrent delete of its image or flavor never both succeed', async () => {
    for (let i = 0; i < 8; i++) {
      await api().post('/images', image(`race-img-${i}`));
      await api().post('/flavors', flavor(`race-fl-${i}`));
      const body = { ...project(`race-p-${i}`, `race-img-${i}`), DefaultStorageFlavor: `race-fl-${i}` };
      const [delImage, delFlavor, created] = await Promise.all([
        api().delete(`/images/race-img-${i}`),
        api().delete(`/flavors/race-fl-${i}`),
        api().post('/projects', body),
      ]);
      if (created.status === 201) {
        expect([delImage.status, delFlavor.status]).toEqual([400, 400]);
        expect((await api().get(`/images/race-img-${i}`)).status).toBe(200);
        expect((await api().get(`/flavors/race-fl-${i}`)).status).toBe(200);
      } else {
        // The project lost to one delete; with it gone, nothing holds back the other one.
        expect(created.status).toBe(404);
        expect([delImage.status, delFlavor.status]).toEqual([204, 204]);
        expect((await api().get(`/projects/race-p-${i}`)).status).toBe(404);
      }
    }
  });

  // PUT rewrites the whole row: without the row lock two patches of different fields lost one.
  it('concurrent PUTs of different fields both take effect', async () => {
    await api().post('/projects', project('patched-twice'));
    for (let i = 0; i < 5; i++) {
      const [a, b] = await Promise.all([
        api().put('/projects/patched-twice', { Description: `d${i}` }),
        api().put('/projects/patched-twice', { GroupID: `g${i}` }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect((await api().get('/projects/patched-twice')).data).toMatchObject({ Description: `d${i}`, GroupID: `g${i}` });
    }
  });

  it('pages the list in name order', async () => {
    const all = ((await api().get('/projects')).data as { Name: string }[]).map((p) => p.Name);
    const seen: string[] = [];
    let url = '/projects?limit=3';
    for (let i = 0; i < 50; i++) {
      const r = await api().get(url);
      seen.push(...r.data.map((p: { Name: string }) => p.Name));
      const next = r.headers['x-next-cursor'];
      if (next === undefined) break;
      url = `/projects?limit=3&after=${encodeURIComponent(String(next))}`;
    }
    expect(seen).toEqual(all);
    expectError(await api().get('/projects?limit=abc'), 400, 1100, /^bad limit param/);
  });
});
