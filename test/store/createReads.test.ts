// The coalesced reads of a burst of creates (src/clusters/createReads.ts, preflightMany) on every
// backend: many creates asked at once get, each, the answer their own statement would have given:
// their project, a missing image or flavor, and whether their own name is taken (by a live
// cluster's name, or by its ID for a UUID-like name; a DELETED cluster's name is free).
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';
import type { StoredCluster } from '../../src/store/repos/clusters.js';
import { CreateReads } from '../../src/clusters/createReads.js';
import { storedCluster } from '../helpers/storedCluster.js';

const cluster = (projectId: string, name: string, status = 'ACTIVE'): StoredCluster => storedCluster(projectId, name, { EntityStatus: status });

const project = (id: string, name: string) => ({ ID: id, Name: name, DisplayName: name, GroupID: 'g', Description: '', DefaultImage: 'ubuntu', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' });

for (const backend of backends()) {
  describe(`CreateReads [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    const p1 = randomUUID();
    const p2 = randomUUID();
    let live: StoredCluster;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
      await store.projects.insert(project(p1, 'one'));
      await store.projects.insert(project(p2, 'two'));
      await store.images.insert({ ID: randomUUID(), Name: 'ubuntu', AnsibleUser: 'ubuntu', CloudImageID: 'cloud-ubuntu' });
      await store.flavors.insert({ ID: randomUUID(), Name: 'small', VCPUs: 1, RAM: 1024, Disk: 10 });
      live = cluster(p1, 'taken');
      await store.clusters.insert(live);
      await store.clusters.insert(cluster(p1, 'gone', 'DELETED'));
      await store.clusters.insert(cluster(p2, 'other'));
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('answers the projects of one moment by name and by ID, and undefined for an unknown one', async () => {
      const reads = new CreateReads(store);
      const [byName, byId, again, none] = await Promise.all([reads.project('one'), reads.project(p2), reads.project('one'), reads.project('nope')]);
      expect(byName?.ID).toBe(p1);
      expect(byId?.Name).toBe('two');
      expect(again?.ID).toBe(p1);
      expect(none).toBeUndefined();
    });

    it('tells each create of a burst whether its own name is taken, per project, with the image and a missing flavor', async () => {
      const reads = new CreateReads(store);
      const ask = (projectId: string, name: string, flavors = ['small']) => reads.preflight({ projectId, name, images: ['ubuntu'], flavors });
      const answers = await Promise.all([
        ask(p1, 'taken'),
        ask(p1, 'free'),
        ask(p1, 'gone'),
        ask(p1, 'other'),
        ask(p2, 'other'),
        ask(p1, live.ID),
        ask(p1, 'free2', ['small', 'huge']),
      ]);
      expect(answers.map((a) => a.exists)).toEqual([true, false, false, false, true, true, false]);
      for (const a of answers.slice(0, 6)) expect([...a.missing]).toEqual([]);
      expect([...answers[6]!.missing]).toEqual(['flavor:huge']);
      expect(answers[0]!.images.get('ubuntu')).toEqual({ CloudImageID: 'cloud-ubuntu', AnsibleUser: 'ubuntu' });
      const noImage = await reads.preflight({ projectId: p1, name: 'x', images: ['centos'], flavors: [] });
      expect([...noImage.missing]).toEqual(['image:centos']);
    });
  });
}
