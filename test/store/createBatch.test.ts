// The group commit of new clusters (src/clusters/createBatch.ts) on every backend: creates of one
// moment are stored together with their services and first operations; a name taken in the middle
// of a batch fails that create alone, and nothing of it is stored.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';
import type { StoredCluster } from '../../src/store/repos/clusters.js';
import { CreateBatch } from '../../src/clusters/createBatch.js';
import { MichmanError } from '../../src/domain/errors.js';
import { redisService, storedCluster } from '../helpers/storedCluster.js';

const newCluster = (projectId: string, name: string): StoredCluster => storedCluster(projectId, `${name}-p`, { DisplayName: name, EntityStatus: 'INITED', Services: [redisService()] });

for (const backend of backends()) {
  describe(`CreateBatch [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    let project: string;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
      project = randomUUID();
      await store.projects.insert({ ID: project, Name: 'p', DisplayName: 'p', GroupID: 'g', Description: '', DefaultImage: 'ubuntu', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' });
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    const add = (batch: CreateBatch, c: StoredCluster) => batch.add({ cluster: c, operation: { clusterId: c.ID, projectId: c.ProjectID, kind: 'create', plan: { nodes: [] }, newCluster: true } });

    it('stores the creates of one moment (more rows than one INSERT takes) with their services and queued operations', async () => {
      const batch = new CreateBatch(store);
      const cs = Array.from({ length: 130 }, (_, i) => newCluster(project, `c${i}`));
      await Promise.all(cs.map((c) => add(batch, c)));
      for (const c of [cs[0]!, cs[99]!, cs[129]!]) {
        expect(await store.clusters.get(c.ID)).toEqual(c);
        const op = await store.operations.latest(c.ID);
        expect(op?.status).toBe('queued');
        expect(op?.kind).toBe('create');
      }
      expect((await store.clusters.list(project, { limit: 1000 })).items).toHaveLength(130);
    });

    it('a name taken in the batch fails that create alone, with "already exists", and stores nothing of it', async () => {
      const batch = new CreateBatch(store);
      const first = newCluster(project, 'same');
      const twin = newCluster(project, 'same');
      const others = [newCluster(project, 'a'), newCluster(project, 'b')];
      const results = await Promise.allSettled([add(batch, first), add(batch, others[0]!), add(batch, twin), add(batch, others[1]!)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const err = (results[2] as PromiseRejectedResult).reason as MichmanError;
      expect(err).toBeInstanceOf(MichmanError);
      expect(err.message).toMatch(/same-p.*already exists|already exists.*same-p/);
      expect(await store.clusters.get(twin.ID)).toBeUndefined();
      expect(await store.operations.latest(twin.ID)).toBeUndefined();
      for (const c of [first, ...others]) expect((await store.operations.latest(c.ID))?.status).toBe('queued');
    });
  });
}
