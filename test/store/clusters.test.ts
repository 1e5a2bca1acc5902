// ClusterRepo on every backend: CRUD with services, project scoping, name uniqueness, DELETED
// hidden from lists, locks that serialise writers of one cluster.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';
import type { StoredCluster } from '../../src/store/repos/clusters.js';
import { MichmanError } from '../../src/domain/errors.js';

function cluster(projectId: string, projectName: string, displayName: string, over: Partial<StoredCluster> = {}): StoredCluster {
  return {
    ID: randomUUID(),
    Name: `${displayName}-${projectName}`,
    DisplayName: displayName,
    HostURL: '',
    EntityStatus: 'INITED',
    ClusterType: '',
    Services: [
      { ID: randomUUID(), Name: 'redis', Type: 'redis', Version: '7.0', Config: { password: 'x' }, DisplayName: 'redis', Description: '', EntityStatus: '', URL: '' },
      { ID: randomUUID(), Name: 'pg', Type: 'postgresql', Version: '15', Config: {}, DisplayName: 'pg', Description: '', EntityStatus: '', URL: '' },
    ],
    NSlaves: 2,
    MasterIP: '',
    ProjectID: projectId,
    OwnerID: 'anonymous',
    Description: 'a cluster',
    Image: 'ubuntu',
    Keys: ['ssh-ed25519 AAAA'],
    Monitoring: true,
    MasterFlavor: 'small',
    SlavesFlavor: 'small',
    StorageFlavor: 'small',
    MonitoringFlavor: 'small',
    ...over,
  };
}

async function addProject(store: Store, name: string): Promise<string> {
  const id = randomUUID();
  await store.projects.insert({
    ID: id,
    Name: name,
    DisplayName: name,
    GroupID: 'g',
    Description: '',
    DefaultImage: 'ubuntu',
    DefaultMasterFlavor: 'small',
    DefaultSlavesFlavor: 'small',
    DefaultStorageFlavor: 'small',
    DefaultMonitoringFlavor: 'small',
  });
  return id;
}

for (const backend of backends()) {
  describe(`ClusterRepo [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    let pa: string;
    let pb: string;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
      pa = await addProject(store, 'a');
      pb = await addProject(store, 'b');
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('stores a cluster with its services and finds it by ID or name in its project only', async () => {
      const c = cluster(pa, 'a', 'c1');
      await store.transaction((tx) => tx.clusters.insert(c));
      expect(await store.clusters.find(pa, c.ID)).toEqual(c);
      expect(await store.clusters.find(pa, 'c1-a')).toEqual(c);
      expect(await store.clusters.find(pa, c.ID.toUpperCase())).toEqual(c);
      // Another project's URL does not reach it, by ID or by name.
      expect(await store.clusters.find(pb, c.ID)).toBeUndefined();
      expect(await store.clusters.find(pb, 'c1-a')).toBeUndefined();
      expect(await store.clusters.get(c.ID)).toEqual(c);
    });

    it('rolls back the cluster and its services together', async () => {
      const c = cluster(pa, 'a', 'c1');
      await expect(
        store.transaction(async (tx) => {
          await tx.clusters.insert(c);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.clusters.get(c.ID)).toBeUndefined();
      expect(await store.db.selectFrom('cluster_services').selectAll().execute()).toEqual([]);
    });

    it('keeps names unique per project', async () => {
      await store.clusters.insert(cluster(pa, 'a', 'c1'));
      const dup = store.clusters.insert(cluster(pa, 'a', 'c1'));
      await expect(dup).rejects.toBeInstanceOf(MichmanError);
      await expect(store.clusters.insert(cluster(pa, 'a', 'c1'))).rejects.toThrow('cluster with this name or id (c1-a) already exists');
      // The same name in another project is another cluster.
      await store.clusters.insert(cluster(pb, 'a', 'c1'));
      expect(await store.clusters.count()).toBe(2);
    });

    it('lists a project\'s clusters by name with paging, without DELETED ones', async () => {
      for (const n of ['c3', 'c1', 'c2', 'c4']) await store.clusters.insert(cluster(pa, 'a', n));
      await store.clusters.insert(cluster(pb, 'b', 'other'));
      const gone = await store.clusters.find(pa, 'c4-a');
      expect(await store.clusters.setStatus(gone!.ID, 'DELETED')).toBe(true);

      const p1 = await store.clusters.list(pa, { limit: 2 });
      expect(p1.items.map((c) => c.Name)).toEqual(['c1-a', 'c2-a']);
      expect(p1.items[0]!.Services.map((s) => s.Type)).toEqual(['redis', 'postgresql']);
      const p2 = await store.clusters.list(pa, { limit: 2, after: p1.next! });
      expect(p2.items.map((c) => c.Name)).toEqual(['c3-a']);
      expect(p2.next).toBeUndefined();
      expect((await store.clusters.list(pa, {})).items).toHaveLength(3);

      expect(await store.clusters.count(pa)).toBe(3);
      expect(await store.clusters.count(pb)).toBe(1);
      expect(await store.clusters.find(pa, 'c4-a')).toBeUndefined();
      expect((await store.clusters.find(pa, 'c4-a', { includeDeleted: true }))?.EntityStatus).toBe('DELETED');
    });

    it('updates fields and services, and sets the status with a compare', async () => {
      const c = cluster(pa, 'a', 'c1');
      await store.clusters.insert(c);
      const changed: StoredCluster = {
        ...c,
        NSlaves: 5,
        MasterIP: '127.0.1.1',
        Monitoring: false,
        Keys: [],
        Services: [{ ...c.Services[0]!, URL: '127.0.1.1:6379', EntityStatus: 'ACTIVE' }],
      };
      await store.transaction((tx) => tx.clusters.update(changed));
      expect(await store.clusters.find(pa, c.ID)).toEqual(changed);

      expect(await store.clusters.setStatus(c.ID, 'CREATING', ['INITED'])).toBe(true);
      expect(await store.clusters.setStatus(c.ID, 'ACTIVE', ['INITED'])).toBe(false);
      expect((await store.clusters.get(c.ID))?.EntityStatus).toBe('CREATING');
      expect(await store.clusters.setStatus(c.ID, 'ACTIVE')).toBe(true);
      expect(await store.clusters.setStatus(randomUUID(), 'ACTIVE')).toBe(false);
    });

    it('removes a cluster with its services', async () => {
      const c = cluster(pa, 'a', 'c1');
      const keep = cluster(pa, 'a', 'c2');
      await store.clusters.insert(c);
      await store.clusters.insert(keep);
      expect(await store.clusters.remove(c.ID)).toBe(true);
      expect(await store.clusters.remove(c.ID)).toBe(false);
      expect(await store.clusters.get(c.ID)).toBeUndefined();
      const owners = await store.db.selectFrom('cluster_services').select('owner_id').execute();
      expect(new Set(owners.map((o) => o.owner_id))).toEqual(new Set([keep.ID]));
      // The name is free again.
      await store.clusters.insert(cluster(pa, 'a', 'c1'));
    });

    it('settles an outcome (status, master address, some URLs) only from an expected status', async () => {
      const c = cluster(pa, 'a', 'settle', { EntityStatus: 'CREATING' });
      await store.clusters.insert(c);
      const [redis, pg] = c.Services;
      // Not from ACTIVE: the status is not one this operation owns, and nothing changes.
      expect(await store.clusters.settle(c.ID, 'ACTIVE', ['INITED'], { masterIp: '10.0.0.9' })).toBe(false);
      expect((await store.clusters.get(c.ID))!.MasterIP).toBe('');
      expect(await store.clusters.settle(c.ID, 'ACTIVE', ['INITED', 'CREATING'], { masterIp: '10.0.0.1', urls: { [redis!.ID!]: '10.0.0.1:6379' } })).toBe(true);
      const got = (await store.clusters.get(c.ID))!;
      expect(got.EntityStatus).toBe('ACTIVE');
      expect(got.MasterIP).toBe('10.0.0.1');
      expect(got.Services.map((s) => [s.ID, s.URL, s.Config])).toEqual([
        [redis!.ID, '10.0.0.1:6379', { password: 'x' }],
        [pg!.ID, '', {}],
      ]);
      expect((await store.clusters.head(c.ID))).toEqual({ ID: c.ID, Name: 'settle-a', EntityStatus: 'ACTIVE' });
      // remove with an expectation: not while ACTIVE is unexpected.
      expect(await store.clusters.remove(c.ID, ['STOPPING'])).toBe(false);
      expect(await store.clusters.remove(c.ID, ['ACTIVE'])).toBe(true);
      expect(await store.clusters.head(c.ID)).toBeUndefined();
    });

    it('lock serialises two writers of one cluster', async () => {
      const c = cluster(pa, 'a', 'c1');
      await store.clusters.insert(c);
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const firstLocked = new Promise<void>((r) => (locked = r));
      const first = store.transaction(async (tx) => {
        await tx.clusters.lock(pa, c.ID);
        locked();
        await held;
        const cur = (await tx.clusters.find(pa, c.ID))!;
        await tx.clusters.update({ ...cur, NSlaves: cur.NSlaves + 1 });
        order.push('first');
      });
      await firstLocked;
      const second = store.transaction(async (tx) => {
        await tx.clusters.lock(pa, 'c1-a');
        const cur = (await tx.clusters.find(pa, c.ID))!;
        await tx.clusters.update({ ...cur, NSlaves: cur.NSlaves + 1 });
        order.push('second');
      });
      await new Promise((r) => setTimeout(r, 50));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first', 'second']);
      // No lost update.
      expect((await store.clusters.get(c.ID))?.NSlaves).toBe(c.NSlaves + 2);
      // A cluster of another project is not locked (and nothing fails).
      await store.transaction((tx) => tx.clusters.lock(pb, c.ID));
    });
  });
}
