// Batcher (group commit): writes queued together commit in one transaction, each gets its own
// result, a failing write fails alone, and writes of one key keep their order across lanes.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Batcher } from '../../src/store/batcher.js';
import type { Store } from '../../src/store/store.js';

type Run = (tx: Store) => Promise<unknown>;

/** The store, counting the transactions it is asked for. */
function countingTransactions(store: Store): Store & { transactions: number } {
  const counter = { transactions: 0 };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transactions') return counter.transactions;
      if (prop === 'transaction') return (fn: Parameters<typeof store.transaction>[0]) => (counter.transactions++, target.transaction(fn));
      return Reflect.get(target, prop, receiver) as unknown;
    },
    set(_target, prop, value) {
      if (prop !== 'transactions') return false;
      counter.transactions = value as number;
      return true;
    },
  }) as Store & { transactions: number };
}
/** The simplest batch: each write is a function of the transaction, run in order. */
function functionWriter(store: Store, lanes: number) {
  const b = new Batcher<Run>(
    store,
    async (tx, runs) => {
      const out: unknown[] = [];
      for (const run of runs) out.push(await run(tx));
      return out;
    },
    { lanes },
  );
  return { write: <T>(key: string | undefined, run: (tx: Store) => Promise<T>) => b.submit<T>(key, run) };
}

for (const backend of backends()) {
  describe(`Batcher [${backend.name}]`, () => {
    let opened: OpenedStore;
    beforeEach(async () => {
      opened = await backend.open();
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('batches concurrent writes, returns each its own result, and isolates a failing one', async () => {
      const store = opened.store;
      const project = randomUUID();
      const ops = [];
      for (let i = 0; i < 5; i++) {
        const op = await store.transaction((tx) => tx.operations.enqueue({ clusterId: randomUUID(), projectId: project, kind: 'create', plan: {} }));
        ops.push(op);
      }
      const claimed = await store.operations.claimMany('w', 30_000, 5);
      expect(claimed).toHaveLength(5);
      const counting = countingTransactions(store);
      const writer = functionWriter(counting, 1);
      const results = await Promise.allSettled([
        ...claimed.map((op) => writer.write(undefined, (tx) => tx.operations.updateSteps(op.id, 'w', [{ name: 'provision:a', status: 'done', attempt: 1 }]))),
        // Not the owner: false, and the others still commit.
        writer.write(undefined, (tx) => tx.operations.updateSteps(claimed[0]!.id, 'someone-else', [])),
        writer.write(undefined, async () => {
          throw new Error('bad write');
        }),
        writer.write(undefined, (tx) => tx.events.append(claimed[1]!.clusterId, claimed[1]!.id, [{ level: 'info', phase: 'test', message: 'hello' }])),
      ]);
      expect(results.slice(0, 5).map((r) => r.status === 'fulfilled' && r.value)).toEqual([true, true, true, true, true]);
      expect(results[5]).toEqual({ status: 'fulfilled', value: false });
      expect(results[6]).toMatchObject({ status: 'rejected', reason: { message: 'bad write' } });
      expect(results[7]!.status).toBe('fulfilled');
      // One batch that failed as a whole, then each write on its own (8 + 1).
      expect(counting.transactions).toBe(9);
      for (const op of claimed) expect((await store.operations.get(op.id))!.steps).toEqual([{ name: 'provision:a', status: 'done', attempt: 1 }]);
      expect((await store.events.list(claimed[1]!.clusterId, {})).map((e) => e.message)).toEqual(['hello']);

      // Without a failure, concurrent writes share one transaction.
      counting.transactions = 0;
      await Promise.all(claimed.map((op) => writer.write(undefined, (tx) => tx.operations.updateSteps(op.id, 'w', []))));
      expect(counting.transactions).toBe(1);
    });

    it('spreads keys over lanes and keeps the writes of one key in order', async () => {
      const store = opened.store;
      // Fixed IDs, so the lanes they hash to are known: together they use all three.
      const clusters = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
      const counting = countingTransactions(store);
      const writer = functionWriter(counting, 3);
      // Ten appends per cluster queued at once, interleaved across clusters.
      const writes = [];
      for (let i = 0; i < 10; i++)
        for (const c of clusters) writes.push(writer.write(c, (tx) => tx.events.append(c, null, [{ level: 'info', phase: 'test', message: `m${i}` }])));
      await Promise.all(writes);
      // Each lane took everything queued for it in one transaction.
      expect(counting.transactions).toBe(3);
      for (const c of clusters) {
        expect((await store.events.list(c, {})).map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      }
    });

    it('single-statement batches: no transaction around them, at most maxBatch writes each, and a failed one retried write by write', async () => {
      const store = countingTransactions(opened.store);
      const sizes: number[] = [];
      const b = new Batcher<string>(
        store,
        async (db, names) => {
          sizes.push(names.length);
          if (names.includes('bad')) throw new Error('refused');
          // One multi-row INSERT: atomic on its own.
          await db.db.insertInto('flavors').values(names.map((n) => ({ id: randomUUID(), name: n, vcpus: 1, ram: 1, disk: 1 }))).execute();
          return names.map(() => 'ok');
        },
        { lanes: 1, singleStatement: true, maxBatch: 3 },
      );
      const results = await Promise.allSettled(['f1', 'f2', 'f3', 'f4', 'bad', 'f5'].map((n) => b.submit<string>(undefined, n)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(store.transactions).toBe(0);
      // [f1 f2 f3], then [f4 bad f5] fails and is retried one by one.
      expect(sizes).toEqual([3, 3, 1, 1, 1]);
      expect((await opened.store.db.selectFrom('flavors').select('name').orderBy('name').execute()).map((r) => r.name)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    });
  });
}
