// Coalesced reads: the lookups that many concurrent requests make of the same rows (the project a
// burst of creates names, its images and flavors, whether each new name is taken) are asked in one
// statement for all the requests waiting at that moment, instead of one round trip each. On our
// machines a round trip is a socket write and a wake-up on both sides, and under a burst of POSTs
// those, not the work of the requests, were what made them queue (bench/engineMulti.ts).
//
// Nothing is cached: each read is answered by a statement that started after the read was asked,
// as its own statement would have been. While one statement runs, the reads asked meanwhile wait
// for the next, which takes all of them. A statement that fails fails the reads it answers.

export type ReadMany<K, V> = (keys: K[]) => Promise<V[]>;

interface Waiting<K, V> {
  key: K;
  resolve(v: V): void;
  reject(err: unknown): void;
}

export class ReadBatcher<K, V> {
  private queue: Array<Waiting<K, V>> = [];
  private busy = false;

  /** `readMany` answers a list of keys in order (duplicates included); `max` bounds one statement's keys. */
  constructor(
    private readonly readMany: ReadMany<K, V>,
    private readonly max = 100,
  ) {}

  read(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        // Every read asked in this turn of the event loop joins the statement.
        await new Promise((r) => setImmediate(r));
        const batch = this.queue.splice(0, this.max);
        try {
          const values = await this.readMany(batch.map((w) => w.key));
          batch.forEach((w, i) => w.resolve(values[i]!));
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
