// Group commit for a worker's small writes. Every running operation saves its step journal and
// appends its events several times per phase; with 200 operations in flight that is thousands of
// one-statement transactions, each paying a commit (SQLite's WAL write, a round trip and a log
// flush on MariaDB/PostgreSQL). Writes queued while one batch commits go together in the next
// transaction, so the number of commits follows the database's speed, not the number of
// operations. Each write still gets its own result (e.g. "the lease is gone" for one operation).
import type { Store } from './store.js';

interface Pending {
  run(tx: Store): Promise<unknown>;
  resolve(v: unknown): void;
  reject(err: unknown): void;
}

export class GroupWriter {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly store: Store) {}

  /** Runs `run` inside the next batch's transaction; resolves once that transaction commits. */
  write<T>(run: (tx: Store) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        // Let every write queued in this turn of the event loop join the batch.
        await new Promise((r) => setImmediate(r));
        const batch = this.queue.splice(0);
        try {
          const results = await this.store.transaction(async (tx) => {
            const out: unknown[] = [];
            for (const p of batch) out.push(await p.run(tx));
            return out;
          });
          batch.forEach((p, i) => p.resolve(results[i]));
        } catch {
          // One bad write must not fail its neighbours: retry each in a transaction of its own.
          for (const p of batch) await this.store.transaction((tx) => p.run(tx)).then(p.resolve, p.reject);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
