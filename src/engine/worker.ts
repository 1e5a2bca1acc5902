// A worker: claims operations (rows with leases), runs them with the step runner, heartbeats its
// lease, honours cancel, and writes the outcome to the operation and the cluster. Many workers, in
// `michman serve` and in `michman worker` processes, share one database; the lease guarantees that
// one operation has one worker, and an expired lease lets another resume it at its first unfinished step.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Store } from '../store/store.js';
import type { QueuedListener } from '../store/dialects/kit.js';
import type { Operation, OperationStep } from '../store/repos/operations.js';
import type { Provider, EngineEvent } from '../providers/types.js';
import type { Deployer } from '../deploy/types.js';
import type { StoredPlan } from '../domain/operation.js';
import { statusOnStart, statusOnSuccess, statusOnFailure, ownedStatuses } from '../domain/clusterState.js';
import { runOperation, HandBack, type Deadlines, type StepRecord, type OperationKind } from './runner.js';
import { JournalWriter } from './journalWriter.js';
import type { EventInput } from '../store/repos/events.js';
import { Reconciler } from './reconciler.js';
import { SecretResolvingDeployer } from './secretDeployer.js';
import { HealthMonitor } from './healthMonitor.js';
import type { SecretStore } from '../secrets/types.js';
import { serviceSecretPath } from '../domain/credentials.js';

export interface WorkerOptions {
  /** Told each operation's events once committed (config logs_output: logstash ships them). */
  onEvents?: (operationId: string, clusterId: string, events: EventInput[]) => void;
  provider: Provider;
  deployer: Deployer;
  /** Operations this worker runs at once. */
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  /**
   * Claim as soon as another process queues operations, where the database tells (PostgreSQL:
   * LISTEN on a connection of the worker's own), rather than at the next poll. `michman serve` and
   * `michman worker` turn it on; engine tests that drive a Worker directly leave it off.
   */
  wakeOnQueued?: boolean;
  deadlines?: Partial<Deadlines>;
  /** How often settled clusters are compared with the provider (MISSING nodes); 0 = never. */
  reconcileMs?: number;
  id?: string;
  /** Every how long each settled cluster's services are health-checked again (health_interval); 0/absent = never. */
  healthIntervalMs?: number;
  /** The longest one cluster's periodic check may take (default 30 s). */
  healthTimeoutMs?: number;
  /** Called for each operation this worker claims (metrics: claim latency). */
  onClaim?: (op: Operation, now: number) => void;
  /** Where the services' passwords are (given ones, and those generated here); see secretDeployer.ts. */
  secrets?: SecretStore;
  log?: { error(obj: object, msg: string): void; info(obj: object, msg: string): void; warn?(obj: object, msg: string): void };
}

export type { StoredPlan } from '../domain/operation.js';

class LeaseLost extends Error {}

/**
 * The fence: a worker stops an operation's steps once its lease is within this share of its length
 * of lapsing without a renewal it saw, by its own clock. The lease is written as "the writer's now
 * + lease", so the moment this worker last renewed it, plus the lease, is never later than what
 * another worker compares with; stopping a fifth early leaves a step time to see its signal before
 * another worker may claim the operation. Without it, a process stalled past its lease (a loaded
 * host, a slow database) went on booting nodes that the worker which took over booted again.
 */
const FENCE_SHARE = 0.2;

/** What the worker keeps of each operation it runs, for its heartbeat and its fence. */
interface Held {
  /** When the lease lapses by this worker's clock: its last renewal seen (or claim) + leaseMs. */
  until: number;
  /** Its steps are stopped: at the fence (its lease left to lapse) or with the lease lost. */
  stopped: boolean;
  /** The operation's queued events (the fence says why it stopped there). */
  events: EngineEvent[];
  lost(): void;
  cancel(): void;
  flush(): Promise<unknown>;
}

/** The least time between the starts of two claim rounds of one worker. */
const CLAIM_GAP_MS = 20;
/** The next poll after a round that claimed operations (doubling, up to pollMs, while rounds find none). */
const BURST_POLL_MS = 50;

export class Worker {
  readonly id: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private running = new Set<Promise<void>>();
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly cancels = new Map<string, AbortController>();
  /** Journal saves, event appends, starts and finishes of all this worker's operations, in batches. */
  private readonly writer: JournalWriter;
  private readonly reconciler: Reconciler;
  /** The periodic health check, when health_interval is set. */
  readonly health: HealthMonitor | undefined;
  /** The deployer with the services' passwords filled in from the secret store. */
  readonly deployer: Deployer;

  constructor(
    private readonly store: Store,
    private readonly o: WorkerOptions,
  ) {
    this.id = o.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.writer = new JournalWriter(store, this.id, { leaseMs: this.leaseMs, ...(o.onEvents ? { onEvents: o.onEvents } : {}) });
    this.reconciler = new Reconciler(store, o.provider);
    this.deployer = new SecretResolvingDeployer(o.deployer, o.secrets);
    if ((o.healthIntervalMs ?? 0) > 0) {
      this.health = new HealthMonitor(store, { provider: o.provider, deployer: this.deployer, intervalMs: o.healthIntervalMs!, checkTimeoutMs: o.healthTimeoutMs, log: o.log });
    }
    this.pollMs = o.pollMs ?? 500;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
    clearInterval(this.beatTimer);
    this.beatTimer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    clearInterval(this.fenceTimer);
    this.fenceTimer = setInterval(() => this.fence(), Math.max(20, Math.floor(this.leaseMs / 20)));
    this.health?.start();
    if (this.o.wakeOnQueued) {
      this.queued = this.store.listenQueued(
        () => this.notify(),
        (err) => this.o.log?.warn?.({ err: err.message }, 'lost the connection that hears of queued operations; polling until it is back'),
      );
    }
    if (this.o.reconcileMs !== 0) {
      this.reconcileTimer = setInterval(() => {
        if (this.reconciling) return;
        this.reconciling = this.reconcile()
          .catch((err: unknown) => this.o.log?.error({ err }, 'reconcile failed'))
          .finally(() => (this.reconciling = undefined));
      }, this.o.reconcileMs ?? 60_000);
      this.reconcileTimer.unref();
    }
  }
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> | undefined;
  private queued: QueuedListener | undefined;

  /**
   * Stops claiming at once; running operations get `graceMs` to finish, and those still running
   * then are handed back: aborted with HandBack, their journal saved and their lease released, so
   * another worker (or this process's next start) resumes them at the first unfinished step. A
   * shutdown never finishes an operation as cancelled or failed.
   */
  async stop(graceMs = 0): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.reconcileTimer);
    await this.queued?.close();
    this.queued = undefined;
    await this.health?.stop();
    await this.reconciling;
    if (graceMs > 0 && this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const c of this.cancels.values()) c.abort(new HandBack(`worker ${this.id} shutting down`));
    await Promise.allSettled([...this.running]);
    // Only now: operations finishing within the grace still need their leases renewed.
    clearInterval(this.beatTimer);
    clearInterval(this.fenceTimer);
  }

  /** Operations this worker is running now. */
  get busy(): number {
    return this.running.size;
  }

  /** One reconcile pass (engine/reconciler.ts); the periodic one runs every reconcileMs. */
  reconcile(maxClusters = 1000): Promise<Array<{ id: string; status: string }>> {
    return this.reconciler.run(maxClusters);
  }

  /**
   * Claim now rather than at the next poll: the API calls it after enqueueing an operation. During
   * a claim round it asks for one more round, synchronously: a timer could still be pending when the
   * round ends, and the round's end (re-arming the poll) would cancel it, losing the notify.
   */
  notify(): void {
    if (this.stopped) return;
    if (this.ticking) this.tickAgain = true;
    else this.schedule(0);
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  /**
   * Claims as many operations as there is room for; polls again after pollMs. One claim round at a
   * time: a notify that comes while one is under way (a burst of POSTs sends hundreds) asks for one
   * more round after it, which takes everything enqueued by then.
   */
  async tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    let claimed = 0;
    try {
      do {
        this.tickAgain = false;
        const started = Date.now();
        claimed += await this.claimRound();
        // Under a burst, rounds come at most every CLAIM_GAP_MS, each taking all enqueued by then:
        // a round is several statements, and back-to-back rounds of one or two operations each
        // competed with the very requests that enqueue them.
        if (this.tickAgain && !this.stopped) await new Promise((r) => setTimeout(r, Math.max(0, started + CLAIM_GAP_MS - Date.now())));
      } while (this.tickAgain && !this.stopped);
    } finally {
      this.ticking = false;
    }
    // Operations enqueued by another process (an API replica) wake no one here: after a round that
    // found some, more are likely (a burst), so look again soon, then less and less often up to
    // pollMs. An idle worker polls as before; the last creates of a burst wait a poll less.
    this.nextPollMs = claimed > 0 ? Math.min(BURST_POLL_MS, this.pollMs) : Math.min(this.nextPollMs * 2, this.pollMs);
    this.schedule(this.nextPollMs);
  }
  private ticking = false;
  private nextPollMs = Infinity;
  private tickAgain = false;

  /** Claims what there is room for; returns how many operations it took. */
  private async claimRound(): Promise<number> {
    let taken = 0;
    // A worker whose renewals hang (a heartbeat pending past the fence's margin) could not keep a
    // lease: it claims nothing until they get through again, or it would take operations only to
    // stop them at the fence.
    if (this.beatStartedAt !== undefined && Date.now() - this.beatStartedAt > this.leaseMs * FENCE_SHARE) return 0;
    try {
      while (!this.stopped && this.running.size < (this.o.concurrency ?? 4)) {
        const room = (this.o.concurrency ?? 4) - this.running.size;
        // The claimed clusters' statuses (CREATING, …) are written in the claim's transaction, one
        // statement per kind, so an operation starts without a write of its own.
        let contended = false;
        // The leases claimed run from this instant (the claim writes it + leaseMs).
        const claimedAt = Date.now();
        const { ops, started } = await this.store.transaction(async (tx) => {
          const claimed = await tx.operations.claimMany(this.id, this.leaseMs, room, claimedAt, () => (contended = true));
          const done = new Set<string>();
          for (const kind of new Set(claimed.map((op) => op.kind))) {
            const ids = claimed.filter((op) => op.kind === kind).map((op) => op.clusterId);
            for (const id of await tx.clusters.setStatusMany(ids, statusOnStart(kind), ownedStatuses(kind))) done.add(id);
          }
          return { ops: claimed, started: done };
        }, { readCommitted: true });
        // Rows someone else held a moment ago: look again after the gap, not at the next poll.
        if (contended) this.tickAgain = true;
        taken += ops.length;
        if (this.o.onClaim) for (const op of ops) this.o.onClaim(op, Date.now());
        for (const op of ops) {
          const p = this.execute(op, claimedAt, started.has(op.clusterId)).finally(() => {
            this.running.delete(p);
            this.notify(); // room for another
          });
          this.running.add(p);
        }
        // Fewer than asked for: nothing more is claimable now (a notify or the poll asks again).
        if (ops.length < room) break;
      }
    } catch (err) {
      this.o.log?.error({ err }, 'worker could not claim an operation');
    }
    return taken;
  }

  /** Runs a claimed operation; `started`: the claim already wrote its cluster's status. */
  private async execute(op: Operation, claimedAt: number, started = false): Promise<void> {
    const cancel = new AbortController();
    this.cancels.set(op.id, cancel);
    // Events go out soon after they happen, not only at the end: a worker that dies must not take
    // the log of the steps it finished with it. Journal saves and the finish carry the events
    // queued by then in their own write; `flush` sends them alone (heartbeats, long steps). All go
    // through the cluster's writer lane, so they commit in the order they were taken.
    const events: EngineEvent[] = [];
    const flush = (): Promise<unknown> => {
      if (events.length === 0) return Promise.resolve();
      return this.writer.run(op.id, op.clusterId, events.splice(0)).catch(() => undefined);
    };
    let lost = false;
    // The worker's one heartbeat (beat() below) renews this lease with all the others; fence()
    // stops the steps when no renewal came in time.
    const held: Held = {
      until: claimedAt + this.leaseMs,
      lost: () => {
        lost = true;
        held.stopped = true;
        cancel.abort(new LeaseLost('lease lost'));
      },
      cancel: () => cancel.abort(new Error('cancelled by user')),
      flush,
      stopped: false,
      events,
    };
    this.held.set(op.id, held);

    try {
      const plan = op.plan as StoredPlan;
      const owned = ownedStatuses(op.kind);
      // No write in the usual case: the claim wrote the status, and the plan recorded the name.
      // Otherwise the cluster is read once: gone (the operation fails), or no longer this
      // operation's (a forced delete took it over; its status stands) or from a plan without a name.
      // The start event rides with the first save.
      const planned = plan.cluster?.name;
      const cluster =
        started && planned !== undefined
          ? { ID: op.clusterId, Name: planned }
          : await this.writer.run(op.id, op.clusterId, [], async (tx) => {
              const c = await tx.clusters.head(op.clusterId);
              if (!c) await tx.operations.finish(op.id, this.id, 'failed', { phase: 'start', message: 'the cluster no longer exists' });
              return c;
            });
      if (!cluster) return;
      events.push({ level: 'info', phase: 'start', message: `${op.kind} started (attempt ${op.attempt}) by ${this.id}` });
      this.o.log?.info({ operation: op.id, cluster: op.clusterId, kind: op.kind, attempt: op.attempt }, `operation ${op.kind} started`);
      const result = await runOperation({
        kind: op.kind as OperationKind,
        plan,
        removeNodes: plan.removeNodes,
        clusterId: cluster.ID,
        clusterName: cluster.Name,
        provider: this.o.provider,
        deployer: this.deployer,
        deadlines: this.o.deadlines,
        cancel: cancel.signal,
        journal: {
          steps: op.steps.map(fromStored),
          save: async (steps) => {
            const stored = steps.map(toStored);
            // A save after the fence (a stalled process whose step ended before fence() ran) is
            // refused too: the next worker may already be running that step.
            this.fenceIfDue(op.id, held);
            const savedAt = Date.now();
            const saved = !lost && (await this.writer.save(op.id, op.clusterId, stored, events.splice(0)));
            // The save renewed the lease from a moment no earlier than savedAt.
            if (saved) held.until = Math.max(held.until, savedAt + this.leaseMs);
            if (!saved) {
              lost = true;
              throw new LeaseLost('lease lost');
            }
          },
          emit: (e) => void events.push(e),
          beforeStep: () => this.fenceIfDue(op.id, held),
        },
      });
      if (lost) {
        // A warning: another worker took an operation this one was running, so their steps may
        // have overlapped (a lease that lapsed under a stalled process or database).
        (this.o.log?.warn ?? this.o.log?.info)?.call(this.o.log, { operation: op.id, cluster: op.clusterId, kind: op.kind }, 'operation left: another worker holds its lease');
        return;
      }
      if (result.status === 'succeeded' && op.kind === 'delete' && this.o.secrets) {
        for (const s of plan.services) await this.o.secrets.delete(serviceSecretPath(op.clusterId, s.type)).catch(() => undefined);
      }
      const log = result.status === 'succeeded' ? this.o.log?.info.bind(this.o.log) : this.o.log?.error.bind(this.o.log);
      log?.({ operation: op.id, cluster: op.clusterId, kind: op.kind, status: result.status, ...(result.error ? { error: result.error.message, phase: result.error.phase } : {}) }, `operation ${op.kind} ${result.status}`);
      events.push({
        level: result.status === 'succeeded' ? 'info' : 'error',
        phase: 'finish',
        message: result.status === 'succeeded' ? `${op.kind} succeeded` : `${op.kind} ${result.status}: ${result.error?.message ?? ''}`,
      });
      // Each write checks that the cluster is still this operation's: a forced delete may have
      // taken it over, and its STOPPING must stand. Merged with the other finishes of the moment.
      // The journal's last changes, if the run left any unsaved, ride with the end: one write.
      await this.writer.finish(op.id, op.clusterId, events.splice(0), result.unsavedSteps?.map(toStored), {
        status: result.status,
        ...(result.error ? { error: result.error } : {}),
        owned,
        cluster:
          result.status !== 'succeeded'
            ? { status: statusOnFailure(op.kind) }
            : op.kind === 'delete'
              ? { remove: true }
              : { settle: statusOnSuccess(op.kind), outcome: { masterIp: result.masterIp, urls: result.urls, hostUrl: result.hostUrl } },
      });
    } catch (err) {
      if (err instanceof HandBack && !lost) {
        await this.handBack(op, events);
      } else if (!(err instanceof LeaseLost) && !lost) {
        this.o.log?.error({ err, operation: op.id, cluster: op.clusterId, kind: op.kind, status: 'failed' }, `operation ${op.kind} crashed`);
        events.push({ level: 'error', phase: 'engine', message: `internal error: ${(err as Error).message}` });
        await flush();
        // As the normal path: one write, and the status only if this worker still held the
        // operation and the cluster is still this operation's (a forced delete's STOPPING stands).
        await this.writer
          .run(op.id, op.clusterId, [], async (tx) => {
            if (!(await tx.operations.finish(op.id, this.id, 'failed', { phase: 'engine', message: (err as Error).message }))) return;
            await tx.clusters.setStatus(op.clusterId, statusOnFailure(op.kind), ownedStatuses(op.kind));
          })
          .catch(() => undefined);
      }
    } finally {
      this.held.delete(op.id);
      this.cancels.delete(op.id);
      await flush();
    }
  }

  /**
   * One heartbeat for every operation this worker runs (two statements, store heartbeatMany):
   * leases renewed, a lost one stops its operation, a cancel request aborts it, queued events go out.
   * One beat at a time: a slow one is not stacked on.
   */
  private async beat(): Promise<void> {
    if (this.beating || this.held.size === 0) return;
    this.beating = true;
    const now = Date.now();
    this.beatStartedAt = now;
    try {
      const ids = [...this.held.keys()];
      const { owned, cancelRequested } = await this.store.operations.heartbeatMany(ids, this.id, this.leaseMs, now);
      const tookMs = Date.now() - now;
      // A renewal slower than a beat's interval is what the fence then acts on: say so, with the size.
      if (tookMs > this.leaseMs / 3) this.o.log?.warn?.({ operations: ids.length, tookMs }, 'lease renewal slower than the heartbeat interval');
      for (const id of ids) {
        const h = this.held.get(id);
        if (!h || h.stopped) continue; // ended or stopped meanwhile (a fenced lease is left to lapse)
        if (!owned.has(id)) {
          h.lost();
          continue;
        }
        h.until = now + this.leaseMs;
        if (cancelRequested.has(id)) h.cancel();
        else void h.flush();
      }
    } catch {
      // The database did not answer: the leases stand until they expire; the next beat tries again.
    } finally {
      this.beating = false;
      this.beatStartedAt = undefined;
    }
  }
  private beating = false;
  private beatStartedAt: number | undefined;
  private readonly held = new Map<string, Held>();
  private beatTimer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;

  /** True when the lease may lapse soon by this worker's clock (see FENCE_SHARE). */
  private mayLapse(h: Held, now = Date.now()): boolean {
    return now >= h.until - this.leaseMs * FENCE_SHARE;
  }

  /** Stops the steps of every operation whose lease no renewal has kept (beats late or failing). */
  private fence(): void {
    const now = Date.now();
    for (const [id, h] of this.held) if (!h.stopped && this.mayLapse(h, now)) this.fenceOne(id, h, now);
  }

  /** The fence for one operation, as a step starts or its journal is saved. */
  private fenceIfDue(id: string, h: Held): void {
    if (!h.stopped && this.mayLapse(h)) this.fenceOne(id, h);
  }

  private fenceOne(id: string, h: Held, now = Date.now()): void {
    const lateS = ((now - (h.until - this.leaseMs)) / 1000).toFixed(1);
    this.fenced++;
    this.o.log?.warn?.({ operation: id, renewedAgoS: Number(lateS) }, 'lease not renewed in time: steps stopped, the operation left to another worker');
    h.events.push({ level: 'warn', phase: 'engine', message: `${this.id} stopped this operation's steps: its lease was last renewed ${lateS} s ago and may lapse; another worker resumes it at its first unfinished step` });
    h.lost();
  }
  /** Operations this worker stopped at the fence (lease not renewed in time), since it started. */
  fenced = 0;

  /** Releases a running operation's lease (journal and status kept) and says so in its events and the log. */
  private async handBack(op: Operation, events: EngineEvent[]): Promise<void> {
    events.push({ level: 'warn', phase: 'engine', message: `${op.kind} handed back by ${this.id} (shutting down): it resumes at its first unfinished step on another worker or at the next start` });
    const released = await this.writer
      .run(op.id, op.clusterId, events.splice(0), (tx) => tx.operations.release(op.id, this.id))
      .catch((err: unknown) => {
        this.o.log?.error({ err, operation: op.id }, 'could not release the lease; it expires by itself');
        return false;
      });
    this.o.log?.info({ operation: op.id, cluster: op.clusterId, kind: op.kind, status: 'handed-back', released }, `operation ${op.kind} handed back`);
  }
}

// The store keeps step details as text; the runner keeps provisioned nodes there as objects.
function toStored(s: StepRecord): OperationStep {
  return { ...s, detail: s.detail === undefined ? undefined : JSON.stringify(s.detail) };
}
function fromStored(s: OperationStep): StepRecord {
  return { ...s, attempt: s.attempt ?? 0, detail: s.detail === undefined ? undefined : JSON.parse(s.detail) };
}
