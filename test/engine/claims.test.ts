// The worker's claim rounds: one at a time. A notify (one per POST) while a claim is under way asks
// for one more round after it instead of starting another beside it; every operation is claimed.
// After a round that took operations the worker looks again soon, not at its next poll.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import type { Store } from '../../src/store/store.js';

const backend = backends()[0]!;

describe(`worker claim rounds [${backend.name}]`, () => {
  let opened: OpenedStore;
  let worker: Worker | undefined;
  beforeEach(async () => {
    opened = await backend.open();
  });
  afterEach(async () => {
    await worker?.stop();
    await opened.cleanup();
  });

  it('runs one claim round at a time under a burst of notifies, and claims every operation', async () => {
    const store = opened.store;
    // Each claim round is a transaction that calls claimMany; its span runs from the moment the
    // worker asks for the transaction (it may wait for the database) to its end.
    const spans: Array<[number, number]> = [];
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
        return async <T>(fn: (tx: Store) => Promise<T>) => {
          const asked = performance.now();
          let claimed = false;
          try {
            return await target.transaction((tx) =>
              fn(
                new Proxy(tx, {
                  get(t, p, r) {
                    if (p !== 'operations') return Reflect.get(t, p, r) as unknown;
                    const ops = t.operations;
                    return new Proxy(ops, {
                      get(o, q, rr) {
                        if (q === 'claimMany')
                          return async (...a: Parameters<typeof ops.claimMany>) => {
                            claimed = true;
                            // A claim that takes a while, as on a busy server database.
                            await new Promise((res) => setTimeout(res, 20));
                            return ops.claimMany(...a);
                          };
                        const v = Reflect.get(o, q, rr) as unknown;
                        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(o) : v;
                      },
                    });
                  },
                }),
              ),
            );
          } finally {
            if (claimed) spans.push([asked, performance.now()]);
          }
        };
      },
    });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = randomUUID();
      ids.push(c);
      await store.transaction((tx) => tx.operations.enqueue({ clusterId: c, projectId: randomUUID(), kind: 'create', plan: { image: 'i', nodes: [], services: [], levels: [] } }));
    }
    worker = new Worker(counting, { provider: new FakeProvider({ bootLatencyMs: 5_000 }), deployer: new NoopDeployer(), concurrency: 100, pollMs: 60_000, reconcileMs: 0 });
    worker.start();
    // Notifies spread over turns of the event loop, as POSTs arrive: each may find a claim under way.
    for (let i = 0; i < 200; i++) {
      worker.notify();
      await new Promise((r) => setTimeout(r, 0));
    }
    const end = Date.now() + 10_000;
    // Claimed = attempted (these clusters have no rows, so each operation then fails at its start).
    let claimed = 0;
    while (Date.now() < end) {
      claimed = (await store.db.selectFrom('operations').select('id').where('attempt', '>=', 1).execute()).length;
      if (claimed === 40) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(claimed).toBe(40);
    expect(spans.length).toBeGreaterThanOrEqual(1);
    // No round was asked for while another was under way.
    const sorted = [...spans].sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < sorted.length; k++) expect(sorted[k]![0]).toBeGreaterThanOrEqual(sorted[k - 1]![1]);
  });

  // Operations another process enqueues notify no one here: after a round that took some, the
  // worker looks again soon instead of at its next poll.
  it('claims an operation enqueued without a notify soon after a round that took others, long before pollMs', async () => {
    const store = opened.store;
    const enqueue = () => store.transaction((tx) => tx.operations.enqueue({ clusterId: randomUUID(), projectId: randomUUID(), kind: 'create', plan: { image: 'i', nodes: [], services: [], levels: [] } }));
    const first = await enqueue();
    worker = new Worker(store, { provider: new FakeProvider({ bootLatencyMs: 5_000 }), deployer: new NoopDeployer(), concurrency: 4, pollMs: 60_000, reconcileMs: 0 });
    worker.start();
    const claimedWithin = async (id: string, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if ((await store.operations.get(id))!.attempt >= 1) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return false;
    };
    expect(await claimedWithin(first.id, 10_000)).toBe(true);
    // As an API replica in another process would: enqueued, and no notify.
    const second = await enqueue();
    // The 60 s poll cannot be what claims it.
    expect(await claimedWithin(second.id, 15_000)).toBe(true);
  });
});

// On MariaDB/PostgreSQL a claim skips rows another transaction holds (SKIP LOCKED). A round that
// finds every candidate held looks again shortly, not at the next poll.
for (const server of backends().filter((b) => b.name !== 'sqlite')) {
  describe(`worker claim contention [${server.name}]`, () => {
    let opened: OpenedStore;
    let worker: Worker | undefined;
    beforeEach(async () => {
      opened = await server.open();
    });
    afterEach(async () => {
      await worker?.stop();
      await opened.cleanup();
    });

    it('claims an operation soon after the transaction holding its row ends, without waiting for the poll', async () => {
      const store = opened.store;
      const op = await store.transaction((tx) => tx.operations.enqueue({ clusterId: randomUUID(), projectId: randomUUID(), kind: 'create', plan: { image: 'i', nodes: [], services: [], levels: [] } }));
      worker = new Worker(store, { provider: new FakeProvider({ bootLatencyMs: 5_000 }), deployer: new NoopDeployer(), concurrency: 4, pollMs: 60_000, reconcileMs: 0 });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let heldUntil = 0;
      // Another transaction holds the queued row while the worker starts and is notified.
      const holder = store.db.transaction().execute(async (trx) => {
        await trx.selectFrom('operations').select('id').where('id', '=', op.id).forUpdate().execute();
        await held;
        heldUntil = Date.now();
      });
      await new Promise((r) => setTimeout(r, 50));
      worker.start();
      worker.notify();
      await new Promise((r) => setTimeout(r, 300));
      expect((await store.operations.get(op.id))!.attempt).toBe(0); // held: not claimed yet
      release();
      await holder;
      const end = Date.now() + 10_000;
      let claimedAt = 0;
      while (Date.now() < end) {
        const now = await store.operations.get(op.id);
        if (now!.attempt >= 1) {
          claimedAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(claimedAt).toBeGreaterThan(0);
      // Well before the 60 s poll: the contended round asked for another one.
      expect(claimedAt - heldUntil).toBeLessThan(5_000);
    });
  });
}

