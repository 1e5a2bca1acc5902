// OperationRepo on every backend: the queue's promises under concurrency (an operation goes to one
// worker at a time, one running operation per cluster, per-cluster order), leases and their
// owners, cancel and retry, idempotency keys.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';
import { DuplicateIdempotencyKey, type Operation, type OperationStep } from '../../src/store/repos/operations.js';

const T0 = 1_700_000_000_000; // ms; every call gets an explicit time so leases expire on cue
const LEASE = 30_000;
const project = randomUUID();

for (const backend of backends()) {
  describe(`OperationRepo [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    const enqueue = (clusterId: string, kind: Operation['kind'] = 'create', now = T0) =>
      store.transaction((tx) => tx.operations.enqueue({ clusterId, projectId: project, kind, plan: { nodes: ['m'], n: 1 } }, now));

    it('enqueues in the caller\'s transaction and reads back', async () => {
      const cluster = randomUUID();
      const op = await enqueue(cluster);
      expect(op).toMatchObject({ clusterId: cluster, projectId: project, kind: 'create', status: 'queued', attempt: 0, steps: [], plan: { nodes: ['m'], n: 1 } });
      expect(await store.operations.get(op.id)).toEqual(op);
      expect(typeof (await store.operations.get(op.id))!.createdAt).toBe('number');

      await expect(
        store.transaction(async (tx) => {
          await tx.operations.enqueue({ id: 'rolled-back', clusterId: cluster, projectId: project, kind: 'delete' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.operations.get('rolled-back')).toBeUndefined();
    });

    it('gives each operation to exactly one of many concurrent claimers', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await enqueue(randomUUID(), 'create', T0 + i)).id);
      const claims: Array<{ id: string; worker: string }> = [];
      const worker = async (w: string) => {
        for (;;) {
          const op = await store.operations.claim(w, LEASE, T0 + 1000);
          if (op === undefined) return;
          expect(op).toMatchObject({ status: 'running', leaseOwner: w, attempt: 1, leaseExpiresAt: T0 + 1000 + LEASE, startedAt: T0 + 1000 });
          claims.push({ id: op.id, worker: w });
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, i) => worker(`w${i}`)));
      expect(claims).toHaveLength(20);
      expect(new Set(claims.map((c) => c.id))).toEqual(ids);
      // The database agrees with what each worker was told.
      for (const c of claims) expect((await store.operations.get(c.id))?.leaseOwner).toBe(c.worker);
      expect(await store.operations.claim('late', LEASE, T0 + 2000)).toBeUndefined();
    });

    it('claims oldest first and runs one operation per cluster, in enqueue order', async () => {
      const c1 = randomUUID();
      const c2 = randomUUID();
      // Same millisecond: enqueue still orders them.
      const a = await enqueue(c1, 'create', T0);
      const b = await enqueue(c1, 'update', T0);
      const c = await enqueue(c2, 'create', T0 + 5);
      expect(b.createdAt).toBeGreaterThan(a.createdAt);

      expect((await store.operations.claim('w1', LEASE, T0 + 10))?.id).toBe(a.id);
      // b waits for a (same cluster); c is free.
      expect((await store.operations.claim('w2', LEASE, T0 + 10))?.id).toBe(c.id);
      expect(await store.operations.claim('w3', LEASE, T0 + 10)).toBeUndefined();
      expect((await store.operations.active(c1)).map((o) => o.id)).toEqual([a.id, b.id]);

      expect(await store.operations.finish(a.id, 'w1', 'succeeded', undefined, T0 + 20)).toBe(true);
      const next = await store.operations.claim('w3', LEASE, T0 + 30);
      expect(next?.id).toBe(b.id);
      expect(await store.operations.get(a.id)).toMatchObject({ status: 'succeeded', finishedAt: T0 + 20, leaseExpiresAt: null });
    });

    it('keeps one running operation per cluster under concurrent claims', async () => {
      // Five clusters with four queued operations each: whatever the interleaving, each cluster's
      // first operation is the only one that runs.
      const clusters = Array.from({ length: 5 }, () => randomUUID());
      const firsts = new Set<string>();
      for (let k = 0; k < 4; k++)
        for (const [i, c] of clusters.entries()) {
          const op = await enqueue(c, 'update', T0 + i);
          if (k === 0) firsts.add(op.id);
        }
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => store.operations.claim(`w${i}`, LEASE, T0 + 100)));
      const more = await Promise.all(Array.from({ length: 4 }, (_, i) => store.operations.claim(`x${i}`, LEASE, T0 + 100)));
      const claimed = [...got, ...more].filter((o): o is Operation => o !== undefined);
      expect(new Set(claimed.map((o) => o.id))).toEqual(firsts);
      expect(claimed).toHaveLength(5);
    });

    it('claims many in one go: up to the room given, each once, one per cluster, under concurrent claimers', async () => {
      const clusters = Array.from({ length: 6 }, () => randomUUID());
      const firsts = new Set<string>();
      for (let k = 0; k < 3; k++)
        for (const [i, c] of clusters.entries()) {
          const op = await enqueue(c, 'update', T0 + i);
          if (k === 0) firsts.add(op.id);
        }
      const first = await store.operations.claimMany('w0', LEASE, 2, T0 + 100);
      expect(first).toHaveLength(2);
      const rest = (await Promise.all(Array.from({ length: 4 }, (_, i) => store.operations.claimMany(`w${i + 1}`, LEASE, 10, T0 + 100)))).flat();
      const claimed = [...first, ...rest];
      // Each cluster's first operation, each claimed by exactly one worker; the others wait.
      expect(claimed).toHaveLength(6);
      expect(new Set(claimed.map((o) => o.id))).toEqual(firsts);
      for (const o of claimed) expect((await store.operations.get(o.id))?.leaseOwner).toBe(o.leaseOwner);
      expect(await store.operations.claimMany('late', LEASE, 10, T0 + 200)).toEqual([]);
    });

    it('reclaims an expired lease, increments attempt, and refuses the old owner', async () => {
      const op = await enqueue(randomUUID());
      const first = await store.operations.claim('old', 1000, T0 + 10);
      expect(first).toMatchObject({ id: op.id, attempt: 1, leaseOwner: 'old' });
      const steps: OperationStep[] = [
        { name: 'provision', status: 'done', startedAt: T0 + 11, finishedAt: T0 + 12, attempt: 1 },
        { name: 'deploy', status: 'running', startedAt: T0 + 12, attempt: 1 },
      ];
      expect(await store.operations.updateSteps(op.id, 'old', steps, T0 + 12)).toBe(true);
      expect(await store.operations.heartbeat(op.id, 'old', 1000, T0 + 500)).toBe(true);
      // The lease now runs to T0 + 1500: not claimable before.
      expect(await store.operations.claim('new', 1000, T0 + 1499)).toBeUndefined();

      const second = await store.operations.claim('new', 1000, T0 + 1500);
      expect(second).toMatchObject({ id: op.id, attempt: 2, leaseOwner: 'new', status: 'running', steps, startedAt: T0 + 10, heartbeatAt: T0 + 1500 });

      expect(await store.operations.heartbeat(op.id, 'old', 1000, T0 + 1600)).toBe(false);
      expect(await store.operations.updateSteps(op.id, 'old', [], T0 + 1600)).toBe(false);
      expect(await store.operations.finish(op.id, 'old', 'failed', { phase: 'deploy', message: 'x' }, T0 + 1600)).toBe(false);
      expect(await store.operations.get(op.id)).toMatchObject({ leaseOwner: 'new', status: 'running', steps, leaseExpiresAt: T0 + 2500 });

      expect(await store.operations.heartbeat(op.id, 'new', 1000, T0 + 1700)).toBe(true);
      expect(await store.operations.finish(op.id, 'new', 'succeeded', undefined, T0 + 1800)).toBe(true);
      // Finished: even the last owner can no longer write.
      expect(await store.operations.heartbeat(op.id, 'new', 1000, T0 + 1900)).toBe(false);
      expect(await store.operations.claim('any', 1000, T0 + 99_999)).toBeUndefined();
    });

    it('reclaims an expired lease once when many workers race for it', async () => {
      const op = await enqueue(randomUUID());
      await store.operations.claim('dead', 1000, T0);
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => store.operations.claim(`w${i}`, 1000, T0 + 5000)));
      const winners = got.filter((o) => o !== undefined);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ id: op.id, attempt: 2 });
    });

    it('cancels a queued operation at once and flags a running one', async () => {
      const c = randomUUID();
      const running = await enqueue(randomUUID(), 'create', T0);
      const queued = await enqueue(c, 'create', T0 + 1);
      await store.operations.claim('w', LEASE, T0 + 1); // takes `running`, the oldest
      expect(await store.operations.requestCancel(queued.id, T0 + 2)).toMatchObject({ status: 'cancelled', finishedAt: T0 + 2 });
      expect(await store.operations.claim('w2', LEASE, T0 + 3)).toBeUndefined();

      expect(await store.operations.requestCancel(running.id, T0 + 4)).toMatchObject({ status: 'running', cancelRequested: true });
      expect(await store.operations.finish(running.id, 'w', 'cancelled', undefined, T0 + 5)).toBe(true);
      // A finished operation stays as it was.
      expect(await store.operations.requestCancel(running.id, T0 + 6)).toMatchObject({ status: 'cancelled', finishedAt: T0 + 5 });
      expect(await store.operations.requestCancel('nope')).toBeUndefined();
    });

    it('retries a failed operation keeping its journal', async () => {
      const op = await enqueue(randomUUID());
      await store.operations.claim('w', LEASE, T0);
      const steps: OperationStep[] = [
        { name: 'provision', status: 'done', attempt: 1 },
        { name: 'deploy:redis', status: 'failed', attempt: 1, detail: 'exit 1' },
      ];
      await store.operations.updateSteps(op.id, 'w', steps, T0 + 1);
      const error = { phase: 'deploy', node: 'c-master', service: 'redis', message: 'role failed', output: 'TASK [redis] fatal' };
      expect(await store.operations.retry(op.id, T0 + 1)).toBe(false); // running: not retryable
      await store.operations.finish(op.id, 'w', 'failed', error, T0 + 2);
      expect(await store.operations.get(op.id)).toMatchObject({ status: 'failed', error });

      expect(await store.operations.retry(op.id, T0 + 3)).toBe(true);
      expect(await store.operations.get(op.id)).toMatchObject({ status: 'queued', error: null, steps, finishedAt: null, leaseExpiresAt: null, cancelRequested: false });
      const again = await store.operations.claim('w2', LEASE, T0 + 4);
      expect(again).toMatchObject({ id: op.id, attempt: 2, steps, leaseOwner: 'w2' });
      expect(await store.operations.retry(op.id)).toBe(false);

      // A cancelled one too.
      const other = await enqueue(randomUUID());
      await store.operations.requestCancel(other.id);
      expect(await store.operations.retry(other.id)).toBe(true);
      expect((await store.operations.get(other.id))?.status).toBe('queued');
    });

    it('lists a cluster\'s operations oldest first with paging, and finds the latest', async () => {
      const c = randomUUID();
      const ops: Operation[] = [];
      for (const kind of ['create', 'update', 'scale', 'update', 'delete'] as const) ops.push(await enqueue(c, kind, T0));
      await enqueue(randomUUID());
      const p1 = await store.operations.listForCluster(c, { limit: 2 });
      expect(p1.items.map((o) => o.id)).toEqual(ops.slice(0, 2).map((o) => o.id));
      const p2 = await store.operations.listForCluster(c, { limit: 2, after: p1.next! });
      const p3 = await store.operations.listForCluster(c, { limit: 2, after: p2.next! });
      expect([...p2.items, ...p3.items].map((o) => o.id)).toEqual(ops.slice(2).map((o) => o.id));
      expect(p3.next).toBeUndefined();
      expect((await store.operations.listForCluster(c, {})).items).toHaveLength(5);
      await expect(store.operations.listForCluster(c, { after: 'bad' })).rejects.toThrow(/bad after param/);

      expect((await store.operations.latest(c))?.id).toBe(ops[4]!.id);
      expect((await store.operations.latest(c, 'update'))?.id).toBe(ops[3]!.id);
      expect(await store.operations.latest(randomUUID())).toBeUndefined();
    });

    it('remembers the first response per idempotency key and scope', async () => {
      const scope = `${project}:POST:/projects/p/clusters`;
      expect(await store.operations.findIdempotencyKey(scope, 'k1')).toBeUndefined();
      const response = { status: 201, body: { Type: 2, Detail: { Data: { ID: 'x' } } } };
      await store.transaction((tx) => tx.operations.saveIdempotencyKey({ scope, key: 'k1', requestHash: 'h1', response }, T0));
      expect(await store.operations.findIdempotencyKey(scope, 'k1')).toEqual({ scope, key: 'k1', requestHash: 'h1', response, createdAt: T0 });

      // A second save of the key in its scope fails and rolls back the work around it.
      const c = randomUUID();
      const second = store.transaction(async (tx) => {
        await tx.operations.enqueue({ clusterId: c, projectId: project, kind: 'create', idempotencyKey: 'k1', requestHash: 'h1' });
        await tx.operations.saveIdempotencyKey({ scope, key: 'k1', requestHash: 'h2', response: { status: 201, body: {} } });
      });
      await expect(second).rejects.toBeInstanceOf(DuplicateIdempotencyKey);
      expect(await store.operations.active(c)).toEqual([]);
      expect((await store.operations.findIdempotencyKey(scope, 'k1'))?.requestHash).toBe('h1');

      // Another scope may use the same key.
      await store.operations.saveIdempotencyKey({ scope: 'other', key: 'k1', requestHash: 'h3', response: { status: 200, body: null } }, T0 + 10);
      expect((await store.operations.findIdempotencyKey('other', 'k1'))?.response).toEqual({ status: 200, body: null });

      // Concurrent first requests: exactly one wins.
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) =>
          store.transaction((tx) => tx.operations.saveIdempotencyKey({ scope, key: 'race', requestHash: `h${i}`, response: { status: 201, body: i } })),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateIdempotencyKey);

      expect(await store.operations.purgeIdempotencyKeys(T0 + 5)).toBe(1);
      expect(await store.operations.findIdempotencyKey(scope, 'k1')).toBeUndefined();
    });

    it('finds the operation started with an idempotency key', async () => {
      const op = await store.operations.enqueue({ clusterId: randomUUID(), projectId: project, kind: 'create', idempotencyKey: 'k', requestHash: 'h' });
      expect((await store.operations.findByIdempotencyKey(project, 'k'))?.id).toBe(op.id);
      expect(await store.operations.findByIdempotencyKey(randomUUID(), 'k')).toBeUndefined();
      expect(await store.operations.findByIdempotencyKey(project, 'other')).toBeUndefined();
    });
  });
}
