// The engine's merged writes: many journals in one UPDATE (each with its own lease check), events
// of many clusters in one batch with gapless per-cluster IDs, and the JournalWriter that combines
// them with a write's follow-up in one transaction; the finishes of many operations merged, each
// still a compare-and-set on the lease and on the cluster's status.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { JournalWriter } from '../../src/engine/journalWriter.js';
import type { Store } from '../../src/store/store.js';
import type { StoredCluster } from '../../src/store/repos/clusters.js';
import { redisService, storedCluster } from '../helpers/storedCluster.js';

async function claimed(store: Store, n: number, worker = 'w') {
  for (let i = 0; i < n; i++) await store.transaction((tx) => tx.operations.enqueue({ clusterId: randomUUID(), projectId: randomUUID(), kind: 'create', plan: {} }));
  const ops = await store.operations.claimMany(worker, 30_000, n);
  expect(ops).toHaveLength(n);
  return ops;
}

for (const backend of backends()) {
  describe(`merged engine writes [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('updateStepsMany writes the journals the worker owns and reports which', async () => {
      const ops = await claimed(store, 3);
      // The third one's lease went to another worker.
      await store.db.updateTable('operations').set({ lease_owner: 'other' }).where('id', '=', ops[2]!.id).execute();
      const saved = await store.transaction((tx) =>
        tx.operations.updateStepsMany(
          'w',
          ops.map((op, i) => ({ id: op.id, steps: [{ name: `provision:n${i}`, status: 'done' as const, attempt: 1 }] })),
        ),
      );
      expect([...saved].sort()).toEqual([ops[0]!.id, ops[1]!.id].sort());
      expect((await store.operations.get(ops[0]!.id))!.steps).toEqual([{ name: 'provision:n0', status: 'done', attempt: 1 }]);
      expect((await store.operations.get(ops[1]!.id))!.steps).toEqual([{ name: 'provision:n1', status: 'done', attempt: 1 }]);
      expect((await store.operations.get(ops[2]!.id))!.steps).toEqual([]);
      // All owned: the set is every ID.
      const all = await store.transaction((tx) => tx.operations.updateStepsMany('w', ops.slice(0, 2).map((op) => ({ id: op.id, steps: [] }))));
      expect(all.size).toBe(2);
    });

    it('updateStepsMany with a lease length renews the leases of the journals it writes, and only theirs', async () => {
      const ops = await claimed(store, 2);
      const before = (await store.operations.get(ops[1]!.id))!.leaseExpiresAt!;
      const now = before + 60_000;
      await store.transaction((tx) => tx.operations.updateStepsMany('w', [{ id: ops[0]!.id, steps: [] }], now, 30_000));
      expect((await store.operations.get(ops[0]!.id))!.leaseExpiresAt).toBe(now + 30_000);
      expect((await store.operations.get(ops[1]!.id))!.leaseExpiresAt).toBe(before);
      // Without one, the lease stands.
      await store.transaction((tx) => tx.operations.updateStepsMany('w', [{ id: ops[1]!.id, steps: [] }], now));
      expect((await store.operations.get(ops[1]!.id))!.leaseExpiresAt).toBe(before);
    });

    it('appendMany keeps each cluster gapless and in order, after and before single appends', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      await store.events.append(a, null, [{ level: 'info', phase: 'p', message: 'a1' }]);
      await store.transaction((tx) =>
        tx.events.appendMany([
          { clusterId: b, operationId: null, events: [{ level: 'info', phase: 'p', message: 'b1' }] },
          { clusterId: a, operationId: null, events: [{ level: 'info', phase: 'p', message: 'a2' }, { level: 'warn', phase: 'p', message: 'a3' }] },
          { clusterId: b, operationId: null, events: [] },
          { clusterId: a, operationId: null, events: [{ level: 'info', phase: 'p', node: 'n', service: 's', message: 'a4' }] },
          { clusterId: b, operationId: null, events: [{ level: 'info', phase: 'p', message: 'b2' }] },
        ]),
      );
      await store.events.append(a, null, [{ level: 'info', phase: 'p', message: 'a5' }]);
      const list = async (c: string) => (await store.events.list(c, {})).map((e) => `${e.id}:${e.message}`);
      expect(await list(a)).toEqual(['1:a1', '2:a2', '3:a3', '4:a4', '5:a5']);
      expect(await list(b)).toEqual(['1:b1', '2:b2']);
      expect((await store.events.list(a, {}))[3]).toMatchObject({ node: 'n', service: 's' });
    });

    it('JournalWriter: saves, events and follow-ups of many operations in one batch, each with its result', async () => {
      const ops = await claimed(store, 4);
      await store.db.updateTable('operations').set({ lease_owner: 'other' }).where('id', '=', ops[3]!.id).execute();
      const writer = new JournalWriter(store, 'w', { lanes: 2 });
      const results = await Promise.all([
        ...ops.map((op) => writer.save(op.id, op.clusterId, [{ name: 'provision:m', status: 'running', attempt: 1 }], [{ level: 'info', phase: 'provision', message: `saved ${op.id}` }])),
        writer.run(ops[0]!.id, ops[0]!.clusterId, [{ level: 'info', phase: 'finish', message: 'done' }], async (tx) => (await tx.operations.get(ops[0]!.id))!.steps.length),
      ]);
      expect(results).toEqual([true, true, true, false, 1]);
      // The events of the lost operation are kept too: they happened.
      for (const op of ops) expect((await store.events.list(op.clusterId, {})).map((e) => e.message)[0]).toBe(`saved ${op.id}`);
      expect((await store.events.list(ops[0]!.clusterId, {})).map((e) => e.message)).toEqual([`saved ${ops[0]!.id}`, 'done']);
    });

    it('JournalWriter: a follow-up that throws fails alone; its neighbours commit', async () => {
      const ops = await claimed(store, 2);
      const writer = new JournalWriter(store, 'w', { lanes: 1 });
      const [bad, good] = await Promise.allSettled([
        writer.run(ops[0]!.id, ops[0]!.clusterId, [{ level: 'info', phase: 'x', message: 'lost with its write' }], async () => {
          throw new Error('bad follow-up');
        }),
        writer.save(ops[1]!.id, ops[1]!.clusterId, [{ name: 'a', status: 'done', attempt: 1 }], [{ level: 'info', phase: 'x', message: 'kept' }]),
      ]);
      expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'bad follow-up' } });
      expect(good).toEqual({ status: 'fulfilled', value: true });
      expect(await store.events.list(ops[0]!.clusterId, {})).toEqual([]);
      expect((await store.events.list(ops[1]!.clusterId, {})).map((e) => e.message)).toEqual(['kept']);
    });

    it('JournalWriter: the finishes of one moment end each owned operation and settle its cluster, and leave what is not theirs', async () => {
      const project = randomUUID();
      await store.projects.insert({ ID: project, Name: 'p', DisplayName: 'p', GroupID: 'g', Description: '', DefaultImage: '', DefaultMasterFlavor: '', DefaultSlavesFlavor: '', DefaultStorageFlavor: '', DefaultMonitoringFlavor: '' });
      const cluster = (name: string): StoredCluster => storedCluster(project, name, { EntityStatus: 'CREATING', Services: [redisService()] });
      const cs = ['a', 'b', 'lost', 'taken', 'failed', 'gone'].map(cluster);
      for (const c of cs) {
        await store.clusters.insert(c);
        await store.transaction((tx) => tx.operations.enqueue({ clusterId: c.ID, projectId: project, kind: c.Name === 'gone' ? 'delete' : 'create', plan: {} }));
      }
      const ops = await store.operations.claimMany('w', 30_000, cs.length);
      const opOf = (name: string) => ops.find((o) => o.clusterId === cs.find((c) => c.Name === name)!.ID)!;
      // 'lost': another worker holds its lease now; 'taken': a forced delete made it STOPPING.
      await store.db.updateTable('operations').set({ lease_owner: 'other' }).where('id', '=', opOf('lost').id).execute();
      await store.clusters.setStatus(cs[3]!.ID, 'STOPPING');
      await store.clusters.setStatus(cs[5]!.ID, 'STOPPING');
      const serviceId = cs[1]!.Services[0]!.ID;
      const writer = new JournalWriter(store, 'w', { lanes: 1 });
      const owned = ['CREATING'];
      // Each carries the last changes of its journal, written with its end when still its worker's.
      const done = (name: string, outcome: { masterIp?: string; urls?: Record<string, string> }) =>
        writer.finish(opOf(name).id, opOf(name).clusterId, [{ level: 'info', phase: 'finish', message: `${name} finished` }], [{ name: `reachable:${name}`, status: 'done', attempt: 1 }], {
          status: 'succeeded',
          owned,
          cluster: { settle: 'ACTIVE', outcome },
        });
      const results = await Promise.all([
        done('a', { masterIp: '10.0.0.1' }),
        done('b', { masterIp: '10.0.0.2', urls: { [serviceId]: 'redis://10.0.0.2:6379' } }),
        done('lost', { masterIp: '10.0.0.3' }),
        done('taken', { masterIp: '10.0.0.4' }),
        writer.finish(opOf('failed').id, opOf('failed').clusterId, [], undefined, { status: 'failed', error: { phase: 'provision', message: 'no room' }, owned, cluster: { status: 'FAILED' } }),
        writer.finish(opOf('gone').id, opOf('gone').clusterId, [], undefined, { status: 'succeeded', owned: ['STOPPING'], cluster: { remove: true } }),
      ]);
      expect(results).toEqual([true, true, false, true, true, true]);
      const get = (i: number) => store.clusters.get(cs[i]!.ID);
      expect(await get(0)).toMatchObject({ EntityStatus: 'ACTIVE', MasterIP: '10.0.0.1', Services: [{ EntityStatus: 'ACTIVE', URL: '' }] });
      expect(await get(1)).toMatchObject({ EntityStatus: 'ACTIVE', MasterIP: '10.0.0.2', Services: [{ EntityStatus: 'ACTIVE', URL: 'redis://10.0.0.2:6379' }] });
      // The lost operation is not ended by this worker and its cluster is left alone.
      expect(await store.operations.get(opOf('lost').id)).toMatchObject({ status: 'running', steps: [] });
      expect((await store.operations.get(opOf('a').id))!.steps).toEqual([{ name: 'reachable:a', status: 'done', attempt: 1 }]);
      expect(await get(2)).toMatchObject({ EntityStatus: 'CREATING', MasterIP: '' });
      // The forced delete's STOPPING stands; the operation itself ended.
      expect((await store.operations.get(opOf('taken').id))!.status).toBe('succeeded');
      expect(await get(3)).toMatchObject({ EntityStatus: 'STOPPING', MasterIP: '' });
      expect(await store.operations.get(opOf('failed').id)).toMatchObject({ status: 'failed', error: { phase: 'provision', message: 'no room' } });
      expect(await get(4)).toMatchObject({ EntityStatus: 'FAILED' });
      expect(await get(5)).toBeUndefined();
      for (const name of ['a', 'b', 'lost', 'taken']) expect((await store.events.list(opOf(name).clusterId, {})).map((e) => e.message)).toEqual([`${name} finished`]);
    });
  });
}
