// The worker's writes, group-committed (see store/batcher.ts) and merged: the step journals of
// every operation in a batch are saved by one UPDATE and their events inserted by a few multi-row
// INSERTs, instead of a statement or three per operation. A batch's transaction runs, in order:
// the journals, the events (in the order they were queued), the finishes (every operation's end in
// one UPDATE, their clusters' outcomes in one more), then each write's own follow-up. On a server
// database every statement is a round trip, and with hundreds of operations in flight these writes
// are most of the engine's work: before the finishes were merged they were three statements per
// operation, most of a burst's statements (bench/engineMulti.ts).
import type { Store } from '../store/store.js';
import type { FinalStatus, OperationError, OperationStep } from '../store/repos/operations.js';
import type { EventInput } from '../store/repos/events.js';
import { Batcher } from '../store/batcher.js';

export interface JournalWrite {
  operationId: string;
  clusterId: string;
  /** The journal to save, under the worker's lease. */
  steps?: OperationStep[];
  /** Events to append (whether or not the lease still holds: they happened). */
  events: EventInput[];
  /** Ends the operation, if the worker still owns it, and then sets its cluster's outcome. */
  finish?: FinishWrite;
  /** Runs after the batch's journals, events and finishes, in its transaction; its result is the write's. */
  then?: (tx: Store) => Promise<unknown>;
}

/** An operation's end and what its cluster becomes, each written only if still this operation's. */
export interface FinishWrite {
  status: FinalStatus;
  error?: OperationError;
  /** The cluster's statuses that are still this operation's (a forced delete's STOPPING is not). */
  owned: readonly string[];
  cluster: { settle: string; outcome?: { masterIp?: string; urls?: Record<string, string>; hostUrl?: string } } | { remove: true } | { status: string };
}

export class JournalWriter {
  private readonly batcher: Batcher<JournalWrite>;

  constructor(
    store: Store,
    workerId: string,
    private readonly o: {
      lanes?: number;
      /** Each journal save also renews the operation's lease to the save's time + leaseMs. */
      leaseMs?: number;
      /** Told the events of each write once committed (config logs_output: logstash ships them). */
      onEvents?: (operationId: string, clusterId: string, events: EventInput[]) => void;
    } = {},
  ) {
    // Every write of a batch is a single-statement compare-and-set: READ COMMITTED (see
    // Store.transaction) keeps the batch from locking rows it only scanned, such as queued operations.
    this.batcher = new Batcher<JournalWrite>(
      store,
      async (tx, writes) => {
        const journals = writes.filter((w) => w.steps !== undefined).map((w) => ({ id: w.operationId, steps: w.steps! }));
        const saved = await tx.operations.updateStepsMany(workerId, journals, Date.now(), o.leaseMs);
        await tx.events.appendMany(writes.map((w) => ({ clusterId: w.clusterId, operationId: w.operationId, events: w.events })));
        const finished = await finishAll(tx, workerId, writes);
        const out: unknown[] = [];
        for (const w of writes) out.push(w.then ? await w.then(tx) : w.finish ? finished.has(w.operationId) : w.steps === undefined || saved.has(w.operationId));
        return out;
      },
      { ...(o.lanes !== undefined ? { lanes: o.lanes } : {}), readCommitted: true },
    );
  }

  /**
   * Saves the journal (renewing the lease, with leaseMs) and appends the events; false when the
   * worker no longer owns the operation.
   */
  save(operationId: string, clusterId: string, steps: OperationStep[], events: EventInput[]): Promise<boolean> {
    return this.told(operationId, clusterId, events, this.batcher.submit<boolean>(clusterId, { operationId, clusterId, steps, events }));
  }

  /**
   * Saves the journal's last changes (if any), appends the events and ends the operation (false
   * when the worker no longer owns it), then sets its cluster's outcome.
   */
  finish(operationId: string, clusterId: string, events: EventInput[], steps: OperationStep[] | undefined, finish: FinishWrite): Promise<boolean> {
    return this.told(operationId, clusterId, events, this.batcher.submit<boolean>(clusterId, { operationId, clusterId, events, finish, ...(steps ? { steps } : {}) }));
  }

  /** Appends the events, then runs `then` in the same transaction. */
  run<T>(operationId: string, clusterId: string, events: EventInput[], then?: (tx: Store) => Promise<T>): Promise<T> {
    return this.told(operationId, clusterId, events, this.batcher.submit<T>(clusterId, { operationId, clusterId, events, then }));
  }

  private told<T>(operationId: string, clusterId: string, events: EventInput[], committed: Promise<T>): Promise<T> {
    const on = this.o.onEvents;
    if (!on || events.length === 0) return committed;
    return committed.then((r) => {
      on(operationId, clusterId, events);
      return r;
    });
  }
}

/** The batch's finishes: the operations still owned are ended, then their clusters' outcomes written. */
async function finishAll(tx: Store, workerId: string, writes: JournalWrite[]): Promise<Set<string>> {
  const ends = writes.filter((w): w is JournalWrite & { finish: FinishWrite } => w.finish !== undefined);
  if (ends.length === 0) return new Set();
  const finished = await tx.operations.finishMany(workerId, ends.map((w) => ({ id: w.operationId, status: w.finish.status, ...(w.finish.error ? { error: w.finish.error } : {}) })));
  const settles: Parameters<Store['clusters']['settleMany']>[0][number][] = [];
  for (const w of ends.filter((e) => finished.has(e.operationId))) {
    const c = w.finish.cluster;
    if ('settle' in c) settles.push({ id: w.clusterId, status: c.settle, expected: w.finish.owned, ...(c.outcome ? { outcome: c.outcome } : {}) });
    else if ('remove' in c) await tx.clusters.remove(w.clusterId, w.finish.owned);
    else await tx.clusters.setStatus(w.clusterId, c.status, w.finish.owned);
  }
  await tx.clusters.settleMany(settles);
  return finished;
}
