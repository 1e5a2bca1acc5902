// Group commit for small writes (a worker's journal saves and events, the audit log). With 200
// operations in flight these are thousands of one-statement transactions, each paying a commit
// (SQLite's WAL write, a round trip and a log flush on MariaDB/PostgreSQL). Writes queued while a
// batch commits go together in a later transaction, so the number of commits follows the
// database's speed, not the number of writers. Each write still gets its own result (e.g. "the
// lease is gone" for one operation), and a batch that fails is retried one write at a time, so one
// bad write fails alone.
//
// On a server database writes are spread over `lanes` (each one transaction at a time, on its own
// connection), two by default, so a batch held up by a row lock (a PUT of one of its clusters)
// does not hold up all of a process's writes. Not more: every transaction costs a few round trips
// whatever it holds, and on our 2-core machines, where a burst is bound by the CPU, fewer and
// larger batches finish sooner (bench/engineMulti.ts, 1,000 creates: 4 lanes 5.1 s and 8.9 CPU
// seconds, 2 lanes 4.9 s and 7.6, on MariaDB). A write's key picks its lane: writes of one key (a
// cluster) commit in the order they were queued and never wait on each other's row locks from two
// transactions at once. SQLite has one writer: one lane.
import type { Store } from './store.js';

/** Runs a batch of writes in one transaction and returns their results in order. */
export type BatchCommit<W> = (tx: Store, writes: W[]) => Promise<unknown[]>;

interface Pending<W> {
  write: W;
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

class Lane<W> {
  queue: Array<Pending<W>> = [];
  busy = false;
}

export class Batcher<W> {
  private readonly lanes: Array<Lane<W>>;
  private next = 0;
  private readonly tx: { readCommitted: boolean };
  private readonly single: boolean;
  private readonly max: number;

  /**
   * `singleStatement`: each batch of at most `maxBatch` writes is one statement (a multi-row
   * INSERT), atomic on its own, so it runs without BEGIN and COMMIT: one round trip instead of three.
   */
  constructor(
    private readonly store: Store,
    private readonly commitBatch: BatchCommit<W>,
    o: { lanes?: number; readCommitted?: boolean; singleStatement?: boolean; maxBatch?: number } = {},
  ) {
    this.max = o.maxBatch ?? Infinity;
    this.tx = { readCommitted: o.readCommitted ?? false };
    this.single = o.singleStatement ?? false;
    const n = Math.max(1, o.lanes ?? (store.kit.kind === 'sqlite' ? 1 : 2));
    this.lanes = Array.from({ length: n }, () => new Lane<W>());
  }

  /**
   * Queues a write; resolves with its result once its batch commits. Writes with the same key are
   * committed in call order; without a key, lanes are taken in turn.
   */
  submit<T>(key: string | undefined, write: W): Promise<T> {
    const lane = this.lanes[key === undefined ? this.next++ % this.lanes.length : hash(key) % this.lanes.length]!;
    return new Promise<T>((resolve, reject) => {
      lane.queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!lane.busy) void this.drain(lane);
    });
  }

  private async drain(lane: Lane<W>): Promise<void> {
    lane.busy = true;
    try {
      while (lane.queue.length > 0) {
        // Let every write queued in this turn of the event loop join the batch.
        await new Promise((r) => setImmediate(r));
        await this.commit(lane.queue.splice(0, this.max));
      }
    } finally {
      lane.busy = false;
    }
  }

  private run(writes: W[]): Promise<unknown[]> {
    return this.single ? this.commitBatch(this.store, writes) : this.store.transaction((tx) => this.commitBatch(tx, writes), this.tx);
  }

  private async commit(batch: Array<Pending<W>>): Promise<void> {
    try {
      const results = await this.run(batch.map((p) => p.write));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch {
      // One bad write must not fail its neighbours: retry each in a transaction of its own.
      for (const p of batch) {
        await this.run([p.write]).then((r) => p.resolve(r[0]), p.reject);
      }
    }
  }
}

/** FNV-1a: cheap and spreads UUIDs evenly enough over a handful of lanes. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
