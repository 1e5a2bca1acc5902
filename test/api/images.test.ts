// /images: the original's CRUD rules (reference §3.4, §1.4), plus what we fixed: "in use" also
// counts references by ID (§12.2-9), names that look like UUIDs stay reachable (§12.2-10), a
// unique index instead of read-then-write (§12.4-1), and keyset pagination.
import { it, expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { describeEachStore, image, flavor, project, type Reply } from '../helpers/api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An error envelope: status, error class (envelope Type) and the exact message. */
function expectError(r: Reply, status: number, errorClass: number, message: string | RegExp): void {
  expect({ status: r.status, Type: r.body?.Type, Status: r.body?.Status }).toEqual({ status, Type: errorClass, Status: status });
  if (typeof message === 'string') expect(r.message).toBe(message);
  else expect(r.message).toMatch(message);
  expect(r.data).toBe('No data');
}

const IN_USE = "image already in use. it can't be modified or deleted";

describeEachStore('images', (ctx) => {
  const api = () => ctx.api;

  it('lists nothing on an empty database', async () => {
    const r = await api().get('/images');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ Type: 1, Status: 200, Title: 'Request successful' });
    expect(r.data).toEqual([]);
  });

  it('creates an image with a generated lower-case UUID', async () => {
    const r = await api().post('/images', image('ubuntu'));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ Type: 2, Status: 201 });
    expect(r.data).toEqual({ ...image('ubuntu'), ID: expect.stringMatching(UUID) });
    expect((await api().get('/images')).data).toEqual([r.data]);
  });

  it('refuses an ID in the body: it is generated', async () => {
    expectError(await api().post('/images', { ...image('with-id'), ID: 'x' }), 400, 300, "image ID is generated field. It can't be filled in by user");
  });

  it('requires Name, AnsibleUser and CloudImageID, reported in that order', async () => {
    expectError(await api().post('/images', {}), 400, 300, "image Name can't be empty");
    expectError(await api().post('/images', { Name: 'n' }), 400, 300, "image AnsibleUser can't be empty");
    // The original's text calls CloudImageID "ImageID".
    expectError(await api().post('/images', { Name: 'n', AnsibleUser: 'u' }), 400, 300, "image ImageID can't be empty");
    expectError(await api().post('/images', { Name: '', AnsibleUser: 'u', CloudImageID: 'c' }), 400, 300, "image Name can't be empty");
    expect((await api().get('/images/n')).status).toBe(404);
  });

  it('refuses a body that is not the JSON it expects', async () => {
    expectError(await api().post('/images', '{not json'), 400, 200, /^incorrect json format/);
    expectError(await api().post('/images', { ...image('num'), AnsibleUser: 5 }), 400, 200, /^incorrect json format.*AnsibleUser/);
  });

  it('refuses a duplicate name', async () => {
    expectError(await api().post('/images', image('ubuntu')), 400, 600, 'image with this name or id (ubuntu) already exists');
  });

  it('accepts keys in any case, as Go decoding did', async () => {
    const r = await api().post('/images', { name: 'lower-keys', ANSIBLEUSER: 'centos', cloudimageid: 'abc' });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({ Name: 'lower-keys', AnsibleUser: 'centos', CloudImageID: 'abc' });
  });

  it('gets an image by name and by ID in every UUID spelling Go accepted', async () => {
    const created = (await api().post('/images', image('debian'))).data;
    const id: string = created.ID;
    const spellings = [id, id.toUpperCase(), `{${id}}`, `urn:uuid:${id}`, id.replaceAll('-', ''), 'debian'];
    for (const s of spellings) {
      const r = await api().get(`/images/${encodeURIComponent(s)}`);
      expect(r.status, s).toBe(200);
      expect(r.data, s).toEqual(created);
    }
  });

  it('answers 404 for a missing image, by name and by ID', async () => {
    expectError(await api().get('/images/nope'), 404, 1000, 'image with this name or id (nope) does not exist');
    const id = '00000000-0000-4000-8000-000000000000';
    expectError(await api().get(`/images/${id}`), 404, 1000, `image with this name or id (${id}) does not exist`);
  });

  it('finds an image whose name parses as a UUID by that name (fixed §12.2-10)', async () => {
    const name = 'abcdef0123456789abcdef0123456789';
    const created = await api().post('/images', image(name));
    expect(created.status).toBe(201);
    const r = await api().get(`/images/${name}`);
    expect(r.status).toBe(200);
    expect(r.data.ID).toBe(created.data.ID);
  });

  it('PUT applies only the fields present', async () => {
    const { ID } = (await api().post('/images', image('patch-me'))).data;
    const r = await api().put('/images/patch-me', { AnsibleUser: 'admin' });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ ID, Name: 'patch-me', AnsibleUser: 'admin', CloudImageID: image().CloudImageID });

    const renamed = await api().put(`/images/${ID}`, { Name: 'patched', CloudImageID: 'new-cloud-id' });
    expect(renamed.status).toBe(200);
    expect(renamed.data).toEqual({ ID, Name: 'patched', AnsibleUser: 'admin', CloudImageID: 'new-cloud-id' });
    expect((await api().get('/images/patched')).data).toEqual(renamed.data);
    expect((await api().get('/images/patch-me')).status).toBe(404);
  });

  it('PUT refuses an ID and a rename onto an existing name', async () => {
    await api().post('/images', image('put-a'));
    await api().post('/images', image('put-b'));
    expectError(await api().put('/images/put-a', { ID: 'x' }), 400, 300, "some image fields can't be modified (ID)");
    expectError(await api().put('/images/put-a', { Name: 'put-b' }), 400, 600, 'image with this name or id (put-b) already exists');
    // Nothing changed.
    expect((await api().get('/images/put-a')).data.Name).toBe('put-a');
  });

  it('PUT and DELETE of a missing image answer 404 (before looking at the body)', async () => {
    expectError(await api().put('/images/ghost', { Name: 5 }), 404, 1000, 'image with this name or id (ghost) does not exist');
    expectError(await api().delete('/images/ghost'), 404, 1000, 'image with this name or id (ghost) does not exist');
  });

  it('refuses to modify or delete an image a project uses by name', async () => {
    await api().post('/images', image('used-by-name'));
    await api().post('/flavors', flavor('img-fl'));
    expect((await api().post('/projects', project('uses-name', 'used-by-name', 'img-fl'))).status).toBe(201);
    // Any change is refused, even of AnsibleUser (class 300 in the original).
    expectError(await api().put('/images/used-by-name', { AnsibleUser: 'root' }), 400, 300, IN_USE);
    expectError(await api().delete('/images/used-by-name'), 400, 300, IN_USE);
    expect((await api().get('/images/used-by-name')).data.AnsibleUser).toBe('ubuntu');
  });

  it('refuses to modify or delete an image a project uses by ID (the original missed this)', async () => {
    const { ID } = (await api().post('/images', image('used-by-id'))).data;
    expect((await api().post('/projects', project('uses-id', ID, 'img-fl'))).status).toBe(201);
    expectError(await api().put('/images/used-by-id', { AnsibleUser: 'root' }), 400, 300, IN_USE);
    expectError(await api().delete(`/images/${ID}`), 400, 300, IN_USE);
    // Once the project is gone the image is free again.
    expect((await api().delete('/projects/uses-id')).status).toBe(204);
    expect((await api().delete(`/images/${ID}`)).status).toBe(204);
  });

  it('refuses to modify or delete an image a cluster uses by ID', async () => {
    const { ID } = (await api().post('/images', image('cluster-image'))).data;
    const p = (await api().post('/projects', project('cluster-owner', 'ubuntu', 'img-fl'))).data;
    // Written straight into the table: the cluster routes do not exist yet.
    const now = new Date().toISOString();
    await api()
      .store.db.insertInto('clusters')
      .values({
        id: randomUUID(),
        project_id: p.ID,
        name: 'c-cluster-owner',
        display_name: 'c',
        entity_status: 'ACTIVE',
        cluster_type: '',
        host_url: '',
        n_slaves: 0,
        master_ip: '',
        owner_id: 'tester',
        description: '',
        image: ID,
        keys: '[]',
        monitoring: 0,
        master_flavor: 'img-fl',
        slaves_flavor: 'img-fl',
        storage_flavor: 'img-fl',
        monitoring_flavor: 'img-fl',
        created_at: now,
        updated_at: now,
      })
      .execute();
    expectError(await api().put(`/images/${ID}`, { Name: 'renamed' }), 400, 300, IN_USE);
    expectError(await api().delete('/images/cluster-image'), 400, 300, IN_USE);
  });

  it('DELETE answers 204 with an empty body, then the image is gone', async () => {
    await api().post('/images', image('doomed'));
    const r = await api().delete('/images/doomed');
    expect(r.status).toBe(204);
    expect(r.raw).toBe('');
    expectError(await api().get('/images/doomed'), 404, 1000, 'image with this name or id (doomed) does not exist');
    expectError(await api().delete('/images/doomed'), 404, 1000, 'image with this name or id (doomed) does not exist');
  });

  it('creates exactly one of 10 concurrent same-name images', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, () => api().post('/images', image('racer'))));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    const losers = replies.filter((r) => r.status !== 201);
    expect(losers).toHaveLength(9);
    for (const r of losers) expectError(r, 400, 600, 'image with this name or id (racer) already exists');
    const all = (await api().get('/images')).data as { Name: string }[];
    expect(all.filter((i) => i.Name === 'racer')).toHaveLength(1);
  });
});

// Its own database, so the list holds exactly the five images it pages through.
describeEachStore('images pagination', (ctx) => {
  // Lower-case letters only, so every database's collation sorts them like JavaScript does.
  const names = ['pe', 'pa', 'pd', 'pb', 'pc'];

  it('pages through the list with limit and the X-Next-Cursor header, in name order', async () => {
    for (const n of names) expect((await ctx.api.post('/images', image(n))).status).toBe(201);
    const seen: string[] = [];
    let url = '/images?limit=2';
    let pages = 0;
    for (;;) {
      const r = await ctx.api.get(url);
      expect(r.status).toBe(200);
      pages++;
      expect(r.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.data.map((i: { Name: string }) => i.Name));
      const next = r.headers['x-next-cursor'];
      if (next === undefined) break;
      expect(r.data).toHaveLength(2);
      url = `/images?limit=2&after=${encodeURIComponent(String(next))}`;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...names].sort());
  });

  it('without limit returns everything and no cursor', async () => {
    const r = await ctx.api.get('/images');
    expect(r.data.map((i: { Name: string }) => i.Name)).toEqual([...names].sort());
    expect(r.headers['x-next-cursor']).toBeUndefined();
  });

  it('refuses a bad limit with class 1100', async () => {
    for (const limit of ['0', 'abc', '5000', '-1', '2.5']) {
      const r = await ctx.api.get(`/images?limit=${limit}`);
      expectError(r, 400, 1100, /^bad limit param/);
    }
  });

  it('refuses a cursor it did not hand out', async () => {
    for (const after of ['not a cursor!', '', '====']) {
      const r = await ctx.api.get(`/images?limit=2&after=${encodeURIComponent(after)}`);
      expectError(r, 400, 1100, /^bad after param/);
    }
  });
});
