// EventRepo on every backend: per-cluster IDs from 1 without gaps or reordering, even under
// concurrent appends, so `?after=<id>` paging and SSE resume never miss an event.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomUUID } from 'node:crypto';
import { backends, type OpenedStore } from '../helpers/stores.js';
import type { Store } from '../../src/store/store.js';
import type { StoredEvent } from '../../src/store/repos/events.js';

const T0 = 1_700_000_000_000;

for (const backend of backends()) {
  describe(`EventRepo [${backend.name}]`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    it('numbers each cluster\'s events from 1 and pages with after', async () => {
      const c = randomUUID();
      const other = randomUUID();
      const op = randomUUID();
      expect(await store.events.latestId(c)).toBe(0);
      expect(await store.events.list(c)).toEqual([]);

      const first = await store.events.append(c, op, [
        { level: 'info', phase: 'provision', node: 'c-master', message: 'creating node' },
        { level: 'info', phase: 'provision', node: 'c-master', message: 'node up', time: T0 + 5 },
      ], T0);
      expect(first).toEqual([
        { id: 1, clusterId: c, operationId: op, time: T0, level: 'info', phase: 'provision', node: 'c-master', message: 'creating node' },
        { id: 2, clusterId: c, operationId: op, time: T0 + 5, level: 'info', phase: 'provision', node: 'c-master', message: 'node up' },
      ]);
      await store.events.append(other, null, [{ level: 'warn', phase: 'health', message: 'node gone' }], T0);
      await store.events.append(c, op, [{ level: 'error', phase: 'deploy', node: 'c-master', service: 'redis', message: 'role failed' }], T0 + 10);
      expect(await store.events.append(c, op, [])).toEqual([]);

      const all = await store.events.list(c);
      expect(all.map((e) => e.id)).toEqual([1, 2, 3]);
      expect(all[2]).toEqual({ id: 3, clusterId: c, operationId: op, time: T0 + 10, level: 'error', phase: 'deploy', node: 'c-master', service: 'redis', message: 'role failed' });
      expect((await store.events.list(c, { after: 1, limit: 1 })).map((e) => e.id)).toEqual([2]);
      expect((await store.events.list(c, { after: 2 })).map((e) => e.id)).toEqual([3]);
      expect(await store.events.list(c, { after: 3 })).toEqual([]);
      expect(await store.events.latestId(c)).toBe(3);
      expect(await store.events.list(other)).toEqual([
        { id: 1, clusterId: other, operationId: null, time: T0, level: 'warn', phase: 'health', message: 'node gone' },
      ]);
    });

    it('filters by operation', async () => {
      const c = randomUUID();
      const [o1, o2] = [randomUUID(), randomUUID()];
      await store.events.append(c, o1, [{ level: 'info', phase: 'create', message: 'a' }]);
      await store.events.append(c, o2, [{ level: 'info', phase: 'delete', message: 'b' }]);
      await store.events.append(c, o1, [{ level: 'info', phase: 'create', message: 'c' }]);
      expect((await store.events.list(c, { operationId: o1 })).map((e) => e.message)).toEqual(['a', 'c']);
      expect((await store.events.list(c, { operationId: o1, after: 1 })).map((e) => e.message)).toEqual(['c']);
    });

    it('commits with the caller\'s transaction', async () => {
      const c = randomUUID();
      await expect(
        store.transaction(async (tx) => {
          await tx.events.append(c, null, [{ level: 'info', phase: 'x', message: 'lost' }]);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.events.latestId(c)).toBe(0);
      await store.transaction((tx) => tx.events.append(c, null, [{ level: 'info', phase: 'x', message: 'kept' }]));
      expect((await store.events.list(c)).map((e) => [e.id, e.message])).toEqual([[1, 'kept']]);
    });

    it('keeps IDs gapless and in commit order under concurrent appends, and a tailing reader misses nothing', async () => {
      const c = randomUUID();
      const writers = 6;
      const batches = 8;
      // A reader tails the log with after=<last seen>, as SSE does, while writers append.
      const seen: StoredEvent[] = [];
      let done = false;
      const reader = (async () => {
        for (;;) {
          const finished = done;
          const page = await store.events.list(c, { after: seen.at(-1)?.id ?? 0, limit: 7 });
          seen.push(...page);
          if (finished && page.length === 0) return;
          if (page.length === 0) await new Promise((r) => setTimeout(r, 1));
        }
      })();
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let b = 0; b < batches; b++) {
            const n = 1 + ((w + b) % 3);
            await store.events.append(c, `op${w}`, Array.from({ length: n }, (_, i) => ({ level: 'info' as const, phase: 'p', message: `${w}.${b}.${i}` })));
          }
        }),
      );
      done = true;
      await reader;
      const all = await store.events.list(c);
      expect(all.map((e) => e.id)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
      // A batch's events are consecutive, in their order.
      for (let i = 1; i < all.length; i++) {
        const [w, b, k] = all[i]!.message.split('.').map(Number);
        if (k! > 0) expect(all[i - 1]!.message).toBe(`${w}.${b}.${k! - 1}`);
      }
      expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
      expect(await store.events.latestId(c)).toBe(all.length);
    });
  });
}
