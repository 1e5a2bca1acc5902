// HostKeyRepo on every backend: pins listed per cluster, a node pinned again replaces its row,
// and the pins go with the cluster row.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const KEY_B = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBBB';
const KEY_C = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC';

async function addCluster(store: Store, name: string): Promise<string> {
  const projectId = randomUUID();
  await store.projects.insert({ ID: projectId, Name: `p-${name}`, DisplayName: `p-${name}`, GroupID: 'g', Description: '', DefaultImage: 'debian', DefaultMasterFlavor: 's', DefaultSlavesFlavor: 's', DefaultStorageFlavor: 's', DefaultMonitoringFlavor: 's' });
  const id = randomUUID();
  await store.transaction((tx) =>
    tx.clusters.insert({
      ID: id, Name: `${name}-p`, DisplayName: name, HostURL: '', EntityStatus: 'ACTIVE', ClusterType: '', Services: [], NSlaves: 1, MasterIP: '', ProjectID: projectId, OwnerID: 'o', Description: '',
      Image: 'debian', Keys: [], Monitoring: false, MasterFlavor: 's', SlavesFlavor: 's', StorageFlavor: 's', MonitoringFlavor: 's',
    }),
  );
  return id;
}

for (const backend of backends()) {
  describe(`HostKeyRepo [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('keeps the pins of each cluster apart, replaces a node pinned again, and drops them with the cluster', async () => {
      const c1 = await addCluster(store, 'one');
      const c2 = await addCluster(store, 'two');
      await store.hostKeys.pin(c1, { node: 'one-p-master', serverId: 's1', address: '10.0.0.5', keys: [KEY_A, KEY_B], pinnedAt: 1000 });
      await store.hostKeys.pin(c1, { node: 'one-p-slave-1', serverId: 's2', address: '10.0.0.6', keys: [KEY_C], pinnedAt: 2000 });
      await store.hostKeys.pin(c2, { node: 'two-p-master', serverId: 's3', address: '10.0.0.7', keys: [KEY_C], pinnedAt: 3000 });
      expect(await store.hostKeys.list(c1)).toEqual([
        { node: 'one-p-master', serverId: 's1', address: '10.0.0.5', keys: [KEY_A, KEY_B], pinnedAt: 1000 },
        { node: 'one-p-slave-1', serverId: 's2', address: '10.0.0.6', keys: [KEY_C], pinnedAt: 2000 },
      ]);
      // The node rebuilt as another server: pinned anew, one row.
      await store.hostKeys.pin(c1, { node: 'one-p-slave-1', serverId: 's9', address: '10.0.0.9', keys: [KEY_A], pinnedAt: 4000 });
      expect((await store.hostKeys.list(c1)).find((p) => p.node === 'one-p-slave-1')).toEqual({ node: 'one-p-slave-1', serverId: 's9', address: '10.0.0.9', keys: [KEY_A], pinnedAt: 4000 });
      expect(await store.clusters.remove(c1)).toBe(true);
      expect(await store.hostKeys.list(c1)).toEqual([]);
      expect((await store.hostKeys.list(c2)).map((p) => p.node)).toEqual(['two-p-master']);
    });
  });
}
