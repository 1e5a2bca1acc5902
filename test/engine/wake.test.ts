// Workers in another process hear of queued operations where the database can tell them
// (PostgreSQL: NOTIFY in the enqueueing transaction, LISTEN on a connection of the worker's own),
// instead of finding them at their next poll. "Another process" here: a second Store on the same
// database, enqueueing with no notify() to the worker, as an API replica does. The worker's poll is
// 60 s, so only the wake-up can claim within the test's few seconds.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { Store } from '../../src/store/store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe(`workers woken by queued operations [${backend.name}]`, () => {
    let opened: OpenedStore;
    let replica: Store;
    let worker: Worker | undefined;
    const warnings: string[] = [];
    const log = { info: () => undefined, error: () => undefined, warn: (_o: unknown, msg: string) => void warnings.push(msg) };
    beforeEach(async () => {
      opened = await backend.open();
      replica = await Store.open({ storage: backend.name, url: opened.url });
      warnings.length = 0;
    });
    afterEach(async () => {
      await worker?.stop();
      worker = undefined;
      await replica.close();
      await opened.cleanup();
    });

    const enqueue = () =>
      replica.transaction((tx) => tx.operations.enqueue({ clusterId: randomUUID(), projectId: randomUUID(), kind: 'create', plan: { image: 'i', nodes: [], services: [], levels: [] } }));
    const claimedWithin = async (id: string, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if ((await opened.store.operations.get(id))!.attempt >= 1) return true;
        await sleep(20);
      }
      return false;
    };
    const start = (wakeOnQueued: boolean, provider = new FakeProvider({ bootLatencyMs: 10_000 })) => {
      worker = new Worker(opened.store, { provider, deployer: new NoopDeployer(), concurrency: 4, pollMs: 60_000, reconcileMs: 0, wakeOnQueued, log: log as never });
      worker.start();
    };

    it('without the wake-up an idle worker waits for its poll', async () => {
      start(false);
      await sleep(500); // its first round (nothing to claim) is over
      const op = await enqueue();
      expect(await claimedWithin(op.id, 2_000)).toBe(false);
    });

    it('an idle worker claims an operation another process queued at once, not at its 60 s poll', async () => {
      start(true);
      await sleep(500);
      const op = await enqueue();
      expect(await claimedWithin(op.id, 5_000)).toBe(true);
    });

    it('only a commit that queued operations is heard: a rolled-back one is not', async () => {
      const heard: number[] = [];
      const listener = opened.store.listenQueued(() => heard.push(Date.now()), () => undefined)!;
      try {
        // Once listening, it calls once for what may have been queued before.
        for (let i = 0; i < 250 && heard.length === 0; i++) await sleep(20);
        expect(heard).toHaveLength(1);
        await expect(
          replica.transaction(async (tx) => {
            await tx.operations.enqueue({ clusterId: randomUUID(), projectId: randomUUID(), kind: 'create', plan: { image: 'i', nodes: [], services: [], levels: [] } });
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        await sleep(500);
        expect(heard).toHaveLength(1);
        await enqueue();
        for (let i = 0; i < 250 && heard.length === 1; i++) await sleep(20);
        expect(heard).toHaveLength(2);
      } finally {
        await listener.close();
      }
    });

    it('a failed operation retried from another process wakes the worker', async () => {
      // Every node fails to boot: the operation fails at once.
      start(true, new FakeProvider({ failureRate: 1 }));
      await sleep(500);
      const op = await enqueue();
      const failedBy = Date.now() + 5_000;
      while (Date.now() < failedBy && (await opened.store.operations.get(op.id))!.status !== 'failed') await sleep(20);
      expect((await opened.store.operations.get(op.id))!).toMatchObject({ status: 'failed', attempt: 1 });
      expect(await replica.operations.retry(op.id)).toBe(true);
      const end = Date.now() + 5_000;
      while (Date.now() < end && (await opened.store.operations.get(op.id))!.attempt < 2) await sleep(20);
      expect((await opened.store.operations.get(op.id))!.attempt).toBe(2);
    });

    it('a lost listening connection is reopened, and operations queued meanwhile are claimed', async () => {
      start(true);
      await sleep(500);
      // The sessions listening on this test's database (the worker's one).
      const listeners = async () =>
        (await sql<{ pid: number }>`select pid from pg_stat_activity where query like 'LISTEN %' and datname = current_database()`.execute(opened.store.db)).rows.map((r) => r.pid);
      const before = await listeners();
      expect(before).toHaveLength(1);
      // The database ends the worker's listening session, as a restart or a network cut would.
      await sql`select pg_terminate_backend(${before[0]!})`.execute(opened.store.db);
      // Queued while no one listens: found when the connection is back (after a 1 s pause).
      const op = await enqueue();
      expect(await claimedWithin(op.id, 10_000)).toBe(true);
      expect(warnings.some((w) => w.includes('lost the connection that hears of queued operations'))).toBe(true);
      // And it listens again: the next one is claimed at once too.
      const after = await listeners();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      const next = await enqueue();
      expect(await claimedWithin(next.id, 5_000)).toBe(true);
    });
  });
}
