// Durable operations: jobs are rows (DESIGN.md "engine"). A worker claims one with a lease, renews
// the lease with heartbeats, journals its steps, and finishes it; every write of a worker is checked
// against the lease owner, so a worker that lost its lease can no longer change anything.
//
// Two rules hold under any interleaving of claims:
// - an operation is never claimed by two workers at once: a claim is a compare-and-set on
//   (status, attempt, lease expiry), taken after locking the row with SKIP LOCKED where the database
//   has it (so workers pass over each other's candidates instead of queueing on them);
// - one running operation per cluster: running_cluster_id holds the cluster ID while an operation
//   runs and has a unique index, so a racing second claim fails and is retried with fresh data.
// Operations of one cluster start in the order they were enqueued.
import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import { isDeadlineMark, type OperationError } from '../../domain/operation.js';
import type { DB, OperationRow as OperationTable, IdempotencyKeyRow as IdempotencyTable } from '../schema.js';
import type { OperationKind } from '../../domain/clusterState.js';
import { type RepoContext } from './base.js';
import { encodeCursor, decodeCursor, type Page, type PageRequest } from '../paging.js';
import { MichmanError, ErrorClass } from '../../domain/errors.js';
import { newId } from '../ids.js';

export const OPERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];
export type FinalStatus = Extract<OperationStatus, 'succeeded' | 'failed' | 'cancelled'>;

export type StepStatus = 'pending' | 'running' | 'done' | 'failed';
/** One entry of the step journal. Times are milliseconds since the epoch. */
export interface OperationStep {
  name: string;
  status: StepStatus;
  startedAt?: number;
  finishedAt?: number;
  /** The operation attempt that last ran the step. */
  attempt?: number;
  detail?: string;
}

export type { OperationError } from '../../domain/operation.js';

export interface Operation {
  id: string;
  clusterId: string;
  projectId: string;
  kind: OperationKind;
  status: OperationStatus;
  steps: OperationStep[];
  /** What the operation must do (nodes, services, scale from/to): opaque to the store. */
  plan: unknown;
  /** How many times a worker has claimed it (1 while the first worker runs it). */
  attempt: number;
  /** The worker holding (or, once finished, that last held) the lease. */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  heartbeatAt: number | null;
  cancelRequested: boolean;
  error: OperationError | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface NewOperation {
  /** Generated when absent. */
  id?: string;
  clusterId: string;
  projectId: string;
  kind: OperationKind;
  plan?: unknown;
  steps?: OperationStep[];
  idempotencyKey?: string;
  requestHash?: string;
  /** The cluster was inserted in this transaction: it has no earlier operation to order after. */
  newCluster?: boolean;
}

/** The first response to a request that carried an Idempotency-Key. */
export interface IdempotencyRecord {
  /** Who may reuse the key, chosen by the caller (e.g. caller + method + path). */
  scope: string;
  key: string;
  requestHash: string;
  response: { status: number; body: unknown };
  createdAt: number;
}

/**
 * Raised by saveIdempotencyKey when a concurrent request saved the same key first. The caller's
 * transaction is spoilt (PostgreSQL aborts it): let it roll back, then answer with
 * findIdempotencyKey's response.
 */
export class DuplicateIdempotencyKey extends Error {
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`idempotency key ${key} is already used in ${scope}`);
    this.name = 'DuplicateIdempotencyKey';
  }
}

type OperationRow = Selectable<OperationTable>;
type IdempotencyKeyRow = Selectable<IdempotencyTable>;
/** The response column of a key whose request is still running. */
const IN_FLIGHT = JSON.stringify({ status: 0, body: null });

const ms = (v: number | string): number => Number(v);
const msOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toOperation(r: OperationRow): Operation {
  return {
    id: r.id,
    clusterId: r.cluster_id,
    projectId: r.project_id,
    kind: r.kind as OperationKind,
    status: r.status as OperationStatus,
    steps: JSON.parse(r.steps) as OperationStep[],
    plan: JSON.parse(r.plan) as unknown,
    attempt: r.attempt,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: msOrNull(r.lease_expires_at),
    heartbeatAt: msOrNull(r.heartbeat_at),
    cancelRequested: Boolean(r.cancel_requested),
    error: r.error === null ? null : (JSON.parse(r.error) as OperationError),
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
    startedAt: msOrNull(r.started_at),
    finishedAt: msOrNull(r.finished_at),
  };
}

/** Candidates examined per claim round, and rounds before a claim gives up on contention. */
const CANDIDATES = 16;
const CLAIM_ROUNDS = 5;

type Candidate = Pick<OperationRow, 'id' | 'cluster_id' | 'status' | 'attempt' | 'created_at'>;
type Ops = ExpressionBuilder<DB, 'operations'>;

/** Operations of one cluster run in enqueue order: (created_at, id), created_at strictly increasing. */
const ACTIVE = ['queued', 'running'] as const;

function opCursor(op: Pick<Operation, 'createdAt' | 'id'>): string {
  return encodeCursor(`${op.createdAt}:${op.id}`);
}
function parseOpCursor(after: string): { createdAt: number; id: string } {
  const key = decodeCursor(after);
  const m = /^(\d{1,16}):(.+)$/.exec(key);
  if (!m) throw new MichmanError(ErrorClass.InputIncorrect, `bad after param: '${after}' is not a cursor returned by this API`);
  return { createdAt: Number(m[1]), id: m[2]! };
}

/** A queued operation's row. */
function newRow(op: NewOperation, createdAt: number, now: number) {
  return {
    id: op.id ?? newId(),
    cluster_id: op.clusterId,
    project_id: op.projectId,
    kind: op.kind,
    status: 'queued',
    steps: JSON.stringify(op.steps ?? []),
    plan: JSON.stringify(op.plan ?? null),
    attempt: 0,
    lease_owner: null,
    lease_expires_at: null,
    heartbeat_at: null,
    running_cluster_id: null,
    cancel_requested: 0,
    error: null,
    idempotency_key: op.idempotencyKey ?? null,
    request_hash: op.requestHash ?? null,
    created_at: createdAt,
    updated_at: now,
    started_at: null,
    finished_at: null,
  };
}

export class OperationRepo {
  constructor(private readonly ctx: RepoContext) {}

  private get db(): Kysely<DB> {
    return this.ctx.db;
  }

  /**
   * Adds a queued operation. Run it in the transaction that writes the cluster's new status, after
   * locking the cluster: created_at is made strictly greater than that of the cluster's previous
   * operation, so a cluster's operations start in the order they were enqueued.
   */
  async enqueue(op: NewOperation, now = Date.now()): Promise<Operation> {
    const last = op.newCluster
      ? undefined
      : await this.db
      .selectFrom('operations')
      .select('created_at')
      .where('cluster_id', '=', op.clusterId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const createdAt = last === undefined ? now : Math.max(now, ms(last.created_at) + 1);
    const row = newRow(op, createdAt, now);
    await this.db.insertInto('operations').values(row).execute();
    await this.ctx.kit.queued?.announce(this.db);
    return toOperation(row);
  }

  /** The first operations of several clusters inserted in this transaction, in one statement (see enqueue). */
  async enqueueNew(ops: readonly NewOperation[], now = Date.now()): Promise<void> {
    if (ops.length === 0) return;
    await this.db.insertInto('operations').values(ops.map((op) => newRow(op, now, now))).execute();
    await this.ctx.kit.queued?.announce(this.db);
  }

  async get(id: string): Promise<Operation | undefined> {
    const r = await this.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toOperation(r);
  }

  /** A cluster's operations, oldest first, keyset-paged on (created_at, id). */
  async listForCluster(clusterId: string, page: PageRequest): Promise<Page<Operation>> {
    let q = this.db.selectFrom('operations').selectAll().where('cluster_id', '=', clusterId);
    if (page.after !== undefined) {
      const c = parseOpCursor(page.after);
      q = q.where((eb) =>
        eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]),
      );
    }
    q = q.orderBy('created_at').orderBy('id');
    if (page.limit !== undefined) q = q.limit(page.limit + 1);
    const ops = (await q.execute()).map(toOperation);
    if (page.limit === undefined || ops.length <= page.limit) return { items: ops };
    const items = ops.slice(0, page.limit);
    return { items, next: opCursor(items[items.length - 1]!) };
  }

  /** The cluster's most recent operation (of this kind, if given). */
  async latest(clusterId: string, kind?: OperationKind): Promise<Operation | undefined> {
    let q = this.db.selectFrom('operations').selectAll().where('cluster_id', '=', clusterId);
    if (kind !== undefined) q = q.where('kind', '=', kind);
    const r = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r && toOperation(r);
  }

  /** The cluster's queued and running operations, oldest first. */
  async active(clusterId: string): Promise<Operation[]> {
    const rows = await this.db
      .selectFrom('operations')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('status', 'in', [...ACTIVE])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toOperation);
  }

  /**
   * Takes one operation for workerId: first a running one whose lease has expired (its worker is
   * presumed dead; the operation resumes at its first unfinished step), else the oldest queued one
   * whose cluster has no running or older queued operation. Sets it running with a lease until
   * now + leaseMs and increments attempt. Undefined when there is nothing to take.
   * Outside a transaction it runs in its own (retried on deadlock and lost races); inside one it
   * uses the caller's, which must then be retried as a whole by Store.transaction.
   */
  async claim(workerId: string, leaseMs: number, now = Date.now()): Promise<Operation | undefined> {
    return (await this.claimMany(workerId, leaseMs, 1, now))[0];
  }

  /**
   * Claims up to `max` operations in one transaction (a worker with room for many takes them in
   * one commit instead of one each); empty when there is nothing to claim. `onContended`: called
   * when there were candidates but others held every one (inside a caller's transaction, where
   * this method makes no second round of its own).
   */
  async claimMany(workerId: string, leaseMs: number, max: number, now = Date.now(), onContended?: () => void): Promise<Operation[]> {
    if (this.db.isTransaction) {
      // Inside the caller's transaction there is no second round here: the caller may try again.
      const r = await this.claimIn(this.db, workerId, leaseMs, now, max);
      if (r === 'contended') onContended?.();
      return r === 'contended' ? [] : r;
    }
    for (let round = 1; ; round++) {
      let r: Operation[] | 'contended';
      try {
        r = await this.db.transaction().execute((trx) => this.claimIn(trx, workerId, leaseMs, now, max));
      } catch (err) {
        // A unique violation here is the one-running-per-cluster index refusing a racing claim.
        if (round >= CLAIM_ROUNDS || !(this.ctx.kit.isTransient(err) || this.ctx.kit.isUniqueViolation(err))) throw err;
        r = 'contended';
      }
      if (r !== 'contended') return r;
      if (round >= CLAIM_ROUNDS) return [];
      await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 5 * round)));
    }
  }

  /** One claim round; 'contended' when candidates existed but others took all of them first. */
  private async claimIn(db: Kysely<DB>, workerId: string, leaseMs: number, now: number, max: number): Promise<Operation[] | 'contended'> {
    const want = Math.max(CANDIDATES, max);
    const candidates: Candidate[] = await db
      .selectFrom('operations')
      .select(['id', 'cluster_id', 'status', 'attempt', 'created_at'])
      .where('status', '=', 'running')
      .where('lease_expires_at', '<=', now)
      .orderBy('lease_expires_at')
      .orderBy('id')
      .limit(want)
      .execute();
    if (candidates.length < want) {
      const queued = await db
        .selectFrom('operations as o')
        .select(['o.id', 'o.cluster_id', 'o.status', 'o.attempt', 'o.created_at'])
        .where('o.status', '=', 'queued')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('operations as p')
                .select(sql.lit(1).as('one'))
                .whereRef('p.cluster_id', '=', 'o.cluster_id')
                .where('p.status', 'in', [...ACTIVE])
                .whereRef('p.id', '<>', 'o.id')
                .where((eb) =>
                  eb.or([
                    eb('p.status', '=', 'running'),
                    eb('p.created_at', '<', eb.ref('o.created_at')),
                    eb.and([eb('p.created_at', '=', eb.ref('o.created_at')), eb('p.id', '<', eb.ref('o.id'))]),
                  ]),
                ),
            ),
          ),
        )
        .orderBy('o.created_at')
        .orderBy('o.id')
        .limit(want - candidates.length)
        .execute();
      candidates.push(...queued);
    }
    if (candidates.length === 0) return [];

    // Lock them, passing over those another worker holds (it is claiming them now): one statement
    // for the batch, as are the update and the read below. A worker claims many at once, and on a
    // server database every statement is a round trip.
    const skipLocked = this.ctx.kit.skipLocked;
    let ids = candidates.map((c) => c.id);
    if (skipLocked) {
      const locked = new Set((await db.selectFrom('operations').select('id').where('id', 'in', ids).orderBy('id').modifyEnd(skipLocked).execute()).map((r) => r.id));
      ids = ids.filter((id) => locked.has(id));
    }
    ids = ids.slice(0, max);
    if (ids.length === 0) return 'contended';
    // Compare-and-set against what the candidate query saw: another worker may have claimed one
    // (and committed) in between, or its owner renewed the lease. With the rows locked, the
    // conditions are checked on their current state.
    const byId = new Map(candidates.map((c) => [c.id, c]));
    const queued = ids.filter((id) => byId.get(id)!.status === 'queued');
    const expired = ids.filter((id) => byId.get(id)!.status === 'running');
    const claim = (which: string[]) =>
      db
        .updateTable('operations')
        .set({
          status: 'running',
          lease_owner: workerId,
          lease_expires_at: now + leaseMs,
          heartbeat_at: now,
          attempt: sql<number>`${sql.ref('attempt')} + 1`,
          running_cluster_id: sql<string>`${sql.ref('cluster_id')}`,
          // An operation enqueued while this claim waited for a lock must not start before it exists.
          started_at: sql<number>`coalesce(${sql.ref('started_at')}, case when ${sql.ref('created_at')} > ${now} then ${sql.ref('created_at')} else ${now} end)`,
          updated_at: now,
        })
        .where('id', 'in', which);
    if (queued.length > 0) await claim(queued).where('status', '=', 'queued').execute();
    if (expired.length > 0) await claim(expired).where('status', '=', 'running').where('lease_expires_at', '<=', now).execute();
    // Ours now: running under this worker's lease stamped `now` (a heartbeat would have a later one).
    const rows = await db
      .selectFrom('operations')
      .selectAll()
      .where('id', 'in', ids)
      .where('status', '=', 'running')
      .where('lease_owner', '=', workerId)
      .where('heartbeat_at', '=', now)
      .execute();
    const claimed = rows.map(toOperation).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    return claimed.length > 0 ? claimed : 'contended';
  }

  /** The lease owner's writes: only while the operation runs under this worker's lease. */
  private owned(id: string | string[], workerId: string) {
    return (eb: Ops) => eb.and([typeof id === 'string' ? eb('id', '=', id) : eb('id', 'in', id), eb('lease_owner', '=', workerId), eb('status', '=', 'running')]);
  }

  /**
   * Extends the lease to now + leaseMs. False when the worker no longer owns the operation (another
   * worker reclaimed it, or it was finished): the worker must stop. A lease that expired but that
   * nobody has reclaimed yet is still the worker's.
   */
  async heartbeat(id: string, workerId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('operations')
      .set({ lease_expires_at: now + leaseMs, heartbeat_at: now, updated_at: now })
      .where(this.owned(id, workerId))
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * heartbeat for every operation a worker runs, in two statements whatever their number: the
   * IDs it still owns (their leases extended), and of those the ones a user asked to cancel. One
   * beat per operation (an UPDATE and a read each) made hundreds of small queries a second that,
   * on a busy host, queued behind the journal writes for longer than the lease: other workers then
   * took over operations whose owner was alive and still booting their nodes.
   */
  async heartbeatMany(ids: string[], workerId: string, leaseMs: number, now = Date.now()): Promise<{ owned: Set<string>; cancelRequested: Set<string> }> {
    const owned = new Set<string>();
    const cancelRequested = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.db.updateTable('operations').set({ lease_expires_at: now + leaseMs, heartbeat_at: now, updated_at: now }).where(this.owned(chunk, workerId)).execute();
      const rows = await this.db.selectFrom('operations').select(['id', 'cancel_requested']).where(this.owned(chunk, workerId)).execute();
      for (const r of rows) {
        owned.add(r.id);
        if (Number(r.cancel_requested) !== 0) cancelRequested.add(r.id);
      }
    }
    return { owned, cancelRequested };
  }

  /** Replaces the step journal; false when the worker no longer owns the operation. */
  async updateSteps(id: string, workerId: string, steps: OperationStep[], now = Date.now()): Promise<boolean> {
    return (await this.updateStepsMany(workerId, [{ id, steps }], now)).has(id);
  }

  /**
   * updateSteps for many operations of one worker in one statement (a CASE on the ID); returns the
   * IDs whose journal was written, i.e. that the worker still owns. A second statement reads them
   * only when some were not. With `leaseMs`, the same write renews their leases to now + leaseMs: an
   * operation that makes progress keeps its lease even when the heartbeat is slow to get through.
   */
  async updateStepsMany(workerId: string, items: Array<{ id: string; steps: OperationStep[] }>, now = Date.now(), leaseMs?: number): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const ids = items.map((i) => i.id);
    const owned = this.owned(ids, workerId);
    const cases = sql.join(items.map((i) => sql`when ${i.id} then ${JSON.stringify(i.steps)}`), sql` `);
    const r = await this.db
      .updateTable('operations')
      .set({ steps: sql<string>`case ${sql.ref('id')} ${cases} end`, updated_at: now, ...(leaseMs !== undefined ? { lease_expires_at: now + leaseMs, heartbeat_at: now } : {}) })
      .where(owned)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === new Set(ids).size) return new Set(ids);
    const rows = await this.db.selectFrom('operations').select('id').where(owned).execute();
    return new Set(rows.map((x) => x.id));
  }

  /** Ends the operation (frees its cluster for the next one); false when the worker no longer owns it. */
  async finish(id: string, workerId: string, status: FinalStatus, error?: OperationError, now = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('operations')
      .set({
        status,
        error: error === undefined ? null : JSON.stringify(error),
        lease_expires_at: null,
        running_cluster_id: null,
        finished_at: now,
        updated_at: now,
      })
      .where(this.owned(id, workerId))
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * finish for many operations of one worker (engine/journalWriter.ts): one UPDATE per outcome
   * (status and error); returns the IDs it finished, i.e. that the worker still owned. A second
   * statement reads which only when some were not.
   */
  async finishMany(workerId: string, items: ReadonlyArray<{ id: string; status: FinalStatus; error?: OperationError }>, now = Date.now()): Promise<Set<string>> {
    const finished = new Set<string>();
    const groups = new Map<string, typeof items[number][]>();
    for (const i of items) {
      const key = JSON.stringify([i.status, i.error ?? null]);
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    for (const group of groups.values()) {
      const { status, error } = group[0]!;
      const ids = group.map((i) => i.id);
      const r = await this.db
        .updateTable('operations')
        .set({ status, error: error === undefined ? null : JSON.stringify(error), lease_expires_at: null, running_cluster_id: null, finished_at: now, updated_at: now })
        .where(this.owned(ids, workerId))
        .executeTakeFirst();
      const done =
        Number(r.numUpdatedRows) === new Set(ids).size
          ? ids
          : (await this.db.selectFrom('operations').select('id').where('id', 'in', ids).where('lease_owner', '=', workerId).where('status', '=', status).where('finished_at', '=', now).execute()).map((x) => x.id);
      for (const id of done) finished.add(id);
    }
    return finished;
  }

  /**
   * Gives a running operation back without finishing it (a worker shutting down): no owner, a lease
   * that has expired now, status and journal as they are, so the next claim by any worker resumes it.
   * False when the worker no longer owned it.
   */
  async release(id: string, workerId: string, now = Date.now()): Promise<boolean> {
    const r = await this.db
      .updateTable('operations')
      .set({ lease_owner: null, lease_expires_at: now, updated_at: now })
      .where(this.owned(id, workerId))
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) return false;
    await this.ctx.kit.queued?.announce(this.db);
    return true;
  }

  /**
   * Cancels a queued operation at once; asks the worker of a running one to stop (it reads
   * cancelRequested and finishes as cancelled). Returns the operation as it now is, undefined if
   * there is none; a finished operation is left as it was.
   */
  async requestCancel(id: string, now = Date.now()): Promise<Operation | undefined> {
    // Two statements cover a claim racing between them: queued → cancelled, else running → flagged.
    await this.db
      .updateTable('operations')
      .set({ status: 'cancelled', cancel_requested: 1, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .execute();
    await this.db
      .updateTable('operations')
      .set({ cancel_requested: 1, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
    return this.get(id);
  }

  /**
   * Queues a failed or cancelled operation again. The step journal stays, so the worker skips the
   * steps already done; error, lease and cancel request are cleared. False in any other status.
   */
  async retry(id: string, now = Date.now()): Promise<boolean> {
    // A retry is a new attempt with fresh phase deadlines: the runner's deadline marks go.
    const row = await this.db.selectFrom('operations').select(['steps', 'status']).where('id', '=', id).executeTakeFirst();
    if (!row || (row.status !== 'failed' && row.status !== 'cancelled')) return false;
    const steps = (JSON.parse(row.steps) as OperationStep[]).filter((s) => !isDeadlineMark(s.name));
    const r = await this.db
      .updateTable('operations')
      .set({
        steps: JSON.stringify(steps),
        status: 'queued',
        error: null,
        lease_owner: null,
        lease_expires_at: null,
        running_cluster_id: null,
        cancel_requested: 0,
        finished_at: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', 'in', ['failed', 'cancelled'])
      .executeTakeFirst();
    if (r.numUpdatedRows === 0n) return false;
    await this.ctx.kit.queued?.announce(this.db);
    return true;
  }

  /** The project's first operation enqueued with this Idempotency-Key. */
  async findByIdempotencyKey(projectId: string, key: string): Promise<Operation | undefined> {
    const r = await this.db
      .selectFrom('operations')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('idempotency_key', '=', key)
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return r && toOperation(r);
  }

  async findIdempotencyKey(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const r = await this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    return r && toIdempotency(r);
  }

  /**
   * Remembers the response to a request with an Idempotency-Key, in the transaction that did the
   * work: if a concurrent request saved it first, throws DuplicateIdempotencyKey.
   */
  async saveIdempotencyKey(rec: Omit<IdempotencyRecord, 'createdAt'>, now = Date.now()): Promise<IdempotencyRecord> {
    const row = {
      scope: rec.scope,
      key: rec.key,
      request_hash: rec.requestHash,
      response: JSON.stringify(rec.response),
      created_at: now,
    };
    try {
      await this.db.insertInto('idempotency_keys').values(row).execute();
    } catch (err) {
      if (this.ctx.kit.isUniqueViolation(err)) throw new DuplicateIdempotencyKey(rec.scope, rec.key);
      throw err;
    }
    return toIdempotency(row);
  }

  /**
   * Takes a key for a request about to run (Stripe's model): a row whose response has status 0
   * marks it in flight. Returns `claimed`, or the row another request holds: its stored response,
   * or in flight. An in-flight row older than `staleBefore` (its request died with its process) is
   * taken over.
   */
  async claimIdempotencyKey(rec: { scope: string; key: string; requestHash: string }, now: number, staleBefore: number): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    const row = { scope: rec.scope, key: rec.key, request_hash: rec.requestHash, response: IN_FLIGHT, created_at: now };
    try {
      await this.db.insertInto('idempotency_keys').values(row).execute();
      return { claimed: true };
    } catch (err) {
      if (!this.ctx.kit.isUniqueViolation(err)) throw err;
    }
    const held = await this.findIdempotencyKey(rec.scope, rec.key);
    if (!held) return this.claimIdempotencyKey(rec, now, staleBefore); // released meanwhile
    if (held.response.status === 0 && held.createdAt < staleBefore) {
      const r = await this.db
        .updateTable('idempotency_keys')
        .set({ request_hash: rec.requestHash, created_at: now })
        .where('scope', '=', rec.scope)
        .where('key', '=', rec.key)
        .where('response', '=', IN_FLIGHT)
        .where('created_at', '=', held.createdAt)
        .executeTakeFirst();
      if (r.numUpdatedRows > 0n) return { claimed: true };
      return { claimed: false, record: (await this.findIdempotencyKey(rec.scope, rec.key)) ?? held };
    }
    return { claimed: false, record: held };
  }

  /** Stores the response of the request that claimed the key. */
  async completeIdempotencyKey(scope: string, key: string, response: { status: number; body: unknown }, now = Date.now()): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ response: JSON.stringify(response), created_at: now })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('response', '=', IN_FLIGHT)
      .execute();
  }

  /** Frees a key whose request did not succeed, so the client may try again with it. */
  async releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).where('response', '=', IN_FLIGHT).execute();
  }

  /** Forgets keys saved before `before` (ms); returns how many. */
  async purgeIdempotencyKeys(before: number): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function toIdempotency(r: IdempotencyKeyRow): IdempotencyRecord {
  return {
    scope: r.scope,
    key: r.key,
    requestHash: r.request_hash,
    response: JSON.parse(r.response) as IdempotencyRecord['response'],
    createdAt: ms(r.created_at),
  };
}
