// Group commit of new clusters: the creates an API process accepts at the same moment are written
// together (store/batcher.ts): their projects locked, the clusters, their services and their first
// operations inserted, in a handful of statements per batch instead of four per create. Under a
// burst of POSTs the round trips and commits, not the work of each request, are what made the
// requests queue (1,000 concurrent creates over two replicas: bench/engineMulti.ts).
//
// No request waits for others: a batch starts as soon as its lane is free and takes everything
// queued meanwhile. A batch that fails (a name taken by a concurrent create, a project deleted
// meanwhile) is retried one create per transaction, so each request gets its own answer and none
// is stored half.
import type { Store } from '../store/store.js';
import type { StoredCluster } from '../store/repos/clusters.js';
import type { NewOperation } from '../store/repos/operations.js';
import { Batcher } from '../store/batcher.js';

export interface NewCluster {
  cluster: StoredCluster;
  operation: NewOperation;
}

/** Rows per INSERT: bound parameters stay far below every database's limit (SQLite's 32,766). */
const CHUNK = 100;

export class CreateBatch {
  private readonly batcher: Batcher<NewCluster>;

  constructor(store: Store) {
    this.batcher = new Batcher<NewCluster>(store, async (tx, writes) => {
      // Shared locks: a project cannot be deleted under its new clusters, and creates do not wait for each other.
      await tx.projects.lockSharedById(writes.map((w) => w.cluster.ProjectID));
      for (let i = 0; i < writes.length; i += CHUNK) {
        const chunk = writes.slice(i, i + CHUNK);
        await tx.clusters.insertMany(chunk.map((w) => w.cluster));
        await tx.operations.enqueueNew(chunk.map((w) => w.operation));
      }
      return writes.map(() => undefined);
    });
  }

  /** Resolves once the cluster and its operation are committed; rejects with the create's own error. */
  add(c: NewCluster): Promise<void> {
    return this.batcher.submit<void>(undefined, c);
  }
}

const batches = new WeakMap<Store, CreateBatch>();

/** The store's batch of creates (one per store object, so per API process). */
export function createBatchOf(store: Store): CreateBatch {
  let b = batches.get(store);
  if (!b) batches.set(store, (b = new CreateBatch(store)));
  return b;
}
