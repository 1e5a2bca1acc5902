// /flavors: the original's CRUD rules (reference §3.5, §1.4): int32 numbers that must be > 0, a
// unique name, and no change while a project or cluster uses the flavor (by name, and — fixed
// §12.2-9 — by ID too).
import { it, expect } from 'vitest';
import { randomUUID } from 'node:crypto';
import { describeEachStore, image, flavor, project, type Reply } from '../helpers/api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectError(r: Reply, status: number, errorClass: number, message: string | RegExp): void {
  expect({ status: r.status, Type: r.body?.Type, Status: r.body?.Status }).toEqual({ status, Type: errorClass, Status: status });
  if (typeof message === 'string') expect(r.message).toBe(message);
  else expect(r.message).toMatch(message);
  expect(r.data).toBe('No data');
}

const EMPTY_OR_ZERO = "flavor Name | VCPUs | Disk | RAM can't be empty or equal to zero";
const IN_USE = "flavor already in use. it can't be modified or deleted";

describeEachStore('flavors', (ctx) => {
  const api = () => ctx.api;

  it('lists nothing on an empty database', async () => {
    const r = await api().get('/flavors');
    expect(r.status).toBe(200);
    expect(r.data).toEqual([]);
  });

  it('creates a flavor with a generated lower-case UUID', async () => {
    const r = await api().post('/flavors', flavor('small'));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ Type: 2, Status: 201, Title: 'Request successful' });
    expect(r.data).toEqual({ ...flavor('small'), ID: expect.stringMatching(UUID) });
    expect((await api().get('/flavors')).data).toEqual([r.data]);
  });

  it('refuses an ID in the body: it is generated', async () => {
    expectError(await api().post('/flavors', { ...flavor('with-id'), ID: 'x' }), 400, 300, "flavor ID is generated field. It can't be filled in by user");
  });

  it('refuses an empty name and zero or missing numbers with one message', async () => {
    const bodies = [
      { ...flavor('z'), Name: '' },
      { Name: 'z', RAM: 1, Disk: 1 },
      { ...flavor('z'), VCPUs: 0 },
      { ...flavor('z'), RAM: 0 },
      { ...flavor('z'), Disk: 0 },
      {},
    ];
    for (const b of bodies) expectError(await api().post('/flavors', b), 400, 300, EMPTY_OR_ZERO);
  });

  it('refuses negative numbers, naming the field', async () => {
    expectError(await api().post('/flavors', { ...flavor('neg'), VCPUs: -1 }), 400, 300, "flavor VCPUs can't be less than or equal to zero");
    expectError(await api().post('/flavors', { ...flavor('neg'), RAM: -1 }), 400, 300, "flavor RAM can't be less than or equal to zero");
    expectError(await api().post('/flavors', { ...flavor('neg'), Disk: -5 }), 400, 300, "flavor Disk can't be less than or equal to zero");
    expect((await api().get('/flavors/neg')).status).toBe(404);
  });

  it('treats a float, a string or an int32 overflow as a JSON error naming the field', async () => {
    // Go's decoder refused these while decoding into int32: class 200, not a validation error.
    expectError(await api().post('/flavors', { ...flavor('f'), VCPUs: 2.5 }), 400, 200, /^incorrect json format.*'VCPUs'/);
    expectError(await api().post('/flavors', { ...flavor('f'), VCPUs: '2' }), 400, 200, /^incorrect json format.*'VCPUs'/);
    expectError(await api().post('/flavors', { ...flavor('f'), RAM: 2 ** 31 }), 400, 200, /^incorrect json format.*'RAM'/);
    expectError(await api().post('/flavors', { ...flavor('f'), Disk: -(2 ** 31) - 1 }), 400, 200, /^incorrect json format.*'Disk'/);
    expectError(await api().post('/flavors', '{"Name": "f",'), 400, 200, /^incorrect json format/);
    // The largest int32 is fine.
    const max = await api().post('/flavors', { ...flavor('huge'), RAM: 2 ** 31 - 1 });
    expect(max.status).toBe(201);
    expect(max.data.RAM).toBe(2 ** 31 - 1);
  });

  it('refuses a duplicate name', async () => {
    expectError(await api().post('/flavors', flavor('small')), 400, 600, 'flavor with this name or id (small) already exists');
  });

  it('accepts keys in any case', async () => {
    const r = await api().post('/flavors', { name: 'lower', vcpus: 1, ram: 512, DISK: 10 });
    expect(r.status).toBe(201);
    expect(r.data).toMatchObject({ Name: 'lower', VCPUs: 1, RAM: 512, Disk: 10 });
  });

  it('gets a flavor by name and by ID in every UUID spelling Go accepted', async () => {
    const created = (await api().post('/flavors', flavor('medium'))).data;
    const id: string = created.ID;
    for (const s of [id, id.toUpperCase(), `{${id}}`, `urn:uuid:${id}`, id.replaceAll('-', ''), 'medium']) {
      const r = await api().get(`/flavors/${encodeURIComponent(s)}`);
      expect(r.status, s).toBe(200);
      expect(r.data, s).toEqual(created);
    }
  });

  it('answers 404 for a missing flavor', async () => {
    expectError(await api().get('/flavors/nope'), 404, 1000, 'flavor with this name or id (nope) does not exist');
  });

  it('PUT applies only the fields present', async () => {
    const { ID } = (await api().post('/flavors', flavor('grow'))).data;
    const r = await api().put('/flavors/grow', { RAM: 8192 });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ ID, Name: 'grow', VCPUs: 2, RAM: 8192, Disk: 20 });
    const renamed = await api().put(`/flavors/${ID}`, { Name: 'grown', VCPUs: 8 });
    expect(renamed.data).toEqual({ ID, Name: 'grown', VCPUs: 8, RAM: 8192, Disk: 20 });
    expect((await api().get('/flavors/grown')).data).toEqual(renamed.data);
  });

  it('PUT refuses an ID, zero, negative numbers and a rename onto an existing name', async () => {
    await api().post('/flavors', flavor('put-a'));
    await api().post('/flavors', flavor('put-b'));
    expectError(await api().put('/flavors/put-a', { ID: 'x' }), 400, 300, "some flavor fields can't be modified (ID)");
    // 0 is sent on purpose here (the original could not tell it from "absent"); it is not a valid size.
    expectError(await api().put('/flavors/put-a', { VCPUs: 0 }), 400, 300, "flavor VCPUs can't be less than or equal to zero");
    expectError(await api().put('/flavors/put-a', { Disk: -1 }), 400, 300, "flavor Disk can't be less than or equal to zero");
    expectError(await api().put('/flavors/put-a', { RAM: 1.5 }), 400, 200, /^incorrect json format.*'RAM'/);
    expectError(await api().put('/flavors/put-a', { Name: 'put-b' }), 400, 600, 'flavor with this name or id (put-b) already exists');
    expect((await api().get('/flavors/put-a')).data).toMatchObject(flavor('put-a'));
  });

  it('PUT and DELETE of a missing flavor answer 404, whatever the body', async () => {
    const missing = 'flavor with this name or id (ghost) does not exist';
    expectError(await api().put('/flavors/ghost', { VCPUs: 'x' }), 404, 1000, missing);
    expectError(await api().put('/flavors/ghost', '{not json'), 404, 1000, missing);
    expectError(await api().delete('/flavors/ghost'), 404, 1000, missing);
  });

  // One flavor per default slot, so the check covers each project column.
  const slots = ['DefaultMasterFlavor', 'DefaultSlavesFlavor', 'DefaultStorageFlavor', 'DefaultMonitoringFlavor'] as const;

  it('refuses to modify or delete a flavor a project uses by name, in any default slot (class 500)', async () => {
    await api().post('/images', image('fl-img'));
    for (const slot of slots) {
      const name = `by-name-${slot.toLowerCase()}`;
      await api().post('/flavors', flavor(name));
      const p = { ...project(`p-${slot.toLowerCase()}`, 'fl-img', 'small'), [slot]: name };
      expect((await api().post('/projects', p)).status, slot).toBe(201);
      expectError(await api().put(`/flavors/${name}`, { RAM: 1 }), 400, 500, IN_USE);
      expectError(await api().delete(`/flavors/${name}`), 400, 500, IN_USE);
    }
  });

  it('refuses to modify or delete a flavor a project uses by ID (the original missed this)', async () => {
    const { ID } = (await api().post('/flavors', flavor('by-id'))).data;
    const p = { ...project('uses-flavor-id', 'fl-img', 'small'), DefaultStorageFlavor: ID };
    expect((await api().post('/projects', p)).status).toBe(201);
    expectError(await api().put('/flavors/by-id', { VCPUs: 4 }), 400, 500, IN_USE);
    expectError(await api().delete(`/flavors/${ID}`), 400, 500, IN_USE);
    expect((await api().delete('/projects/uses-flavor-id')).status).toBe(204);
    expect((await api().put('/flavors/by-id', { VCPUs: 4 })).status).toBe(200);
  });

  it('refuses to modify or delete a flavor a cluster uses by ID', async () => {
    const { ID } = (await api().post('/flavors', flavor('monitor'))).data;
    const p = (await api().post('/projects', project('cluster-owner', 'fl-img', 'small'))).data;
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
        image: 'fl-img',
        keys: '[]',
        monitoring: 1,
        master_flavor: 'small',
        slaves_flavor: 'small',
        storage_flavor: 'small',
        monitoring_flavor: ID,
        created_at: now,
        updated_at: now,
      })
      .execute();
    expectError(await api().put('/flavors/monitor', { Disk: 40 }), 400, 500, IN_USE);
    expectError(await api().delete(`/flavors/${ID}`), 400, 500, IN_USE);
  });

  it('DELETE answers 204 with an empty body, then the flavor is gone', async () => {
    await api().post('/flavors', flavor('doomed'));
    const r = await api().delete('/flavors/doomed');
    expect(r.status).toBe(204);
    expect(r.raw).toBe('');
    expectError(await api().get('/flavors/doomed'), 404, 1000, 'flavor with this name or id (doomed) does not exist');
  });

  it('creates exactly one of 10 concurrent same-name flavors', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, () => api().post('/flavors', flavor('racer'))));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 201)) expectError(r, 400, 600, 'flavor with this name or id (racer) already exists');
    expect(((await api().get('/flavors')).data as { Name: string }[]).filter((f) => f.Name === 'racer')).toHaveLength(1);
  });

  it('pages with limit and refuses a bad limit', async () => {
    const all = (await api().get('/flavors')).data.map((f: { Name: string }) => f.Name);
    const first = await api().get('/flavors?limit=1');
    expect(first.data.map((f: { Name: string }) => f.Name)).toEqual([all[0]]);
    expect(first.headers['x-next-cursor']).toBeTypeOf('string');
    const second = await api().get(`/flavors?limit=1&after=${first.headers['x-next-cursor']}`);
    expect(second.data.map((f: { Name: string }) => f.Name)).toEqual([all[1]]);
    expectError(await api().get('/flavors?limit=0'), 400, 1100, /^bad limit param/);
  });
});
