// Runs one operation's steps against a provider and a deployer, journaling each step so that a
// worker which dies is replaced by one that resumes at the first unfinished step. Steps are
// idempotent (ensureNode, deploy and remove converge), so re-running a step that was running when
// its worker died is harmless. No store access here: the journal is an interface the worker fills.
import { setMaxListeners } from 'node:events';
import type { OperationPlan, PlannedService } from '../domain/plan.js';
import type { Provider, ProvisionedNode, StepContext, EngineEvent } from '../providers/types.js';
import type { Deployer, ServiceDeployment } from '../deploy/types.js';
import { clusterEndpoints, masterIp, serviceUrl } from '../domain/topology.js';
import { raceAbort } from '../abort.js';

export type OperationKind = 'create' | 'update' | 'scale' | 'delete';
export type Phase = 'provision' | 'reachable' | 'deploy' | 'health' | 'remove' | 'deprovision';

export interface StepRecord {
  name: string; // <phase>:<node or service>
  status: 'pending' | 'running' | 'done' | 'failed';
  attempt: number;
  startedAt?: number;
  finishedAt?: number;
  /** provision steps keep the node the provider reported, for the steps after them. */
  detail?: unknown;
}

export type { OperationError } from '../domain/operation.js';
import type { OperationError } from '../domain/operation.js';

export interface Journal {
  steps: StepRecord[];
  /** Persists the journal; rejects when the worker no longer owns the operation (lease lost). */
  save(steps: StepRecord[]): Promise<void>;
  emit(event: EngineEvent): void;
  /** Called as each step starts; aborts the operation (its cancel signal) when it must not go on. */
  beforeStep?(): void;
}

export type Deadlines = Record<Phase, number>;

/**
 * Phases that share one deadline clock, as the configuration words them: provision_deadline_seconds
 * covers creating the nodes and reaching them, delete_deadline_seconds removing services and nodes.
 */
const CLOCK: Record<Phase, string> = { provision: 'provision', reachable: 'provision', deploy: 'deploy', health: 'health', remove: 'remove', deprovision: 'remove' };

// Deadline clocks are kept in the journal as DEADLINE_MARK entries (domain/operation.ts); a retry
// (operations.retry) drops them: it is a new attempt with fresh deadlines.
export { DEADLINE_MARK, isDeadlineMark } from '../domain/operation.js';
import { DEADLINE_MARK } from '../domain/operation.js';
export const DEFAULT_DEADLINES: Deadlines = {
  provision: 20 * 60_000,
  reachable: 10 * 60_000,
  deploy: 60 * 60_000,
  health: 10 * 60_000,
  remove: 20 * 60_000,
  deprovision: 20 * 60_000,
};

export interface RunOptions {
  kind: OperationKind;
  plan: OperationPlan;
  /** Nodes to take away (scale-in), by name. */
  removeNodes?: string[];
  clusterId: string;
  clusterName: string;
  journal: Journal;
  provider: Provider;
  deployer: Deployer;
  deadlines?: Partial<Deadlines>;
  /** Aborted when a user cancels the operation. */
  cancel: AbortSignal;
}

export interface RunResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: OperationError;
  nodes: ProvisionedNode[];
  masterIp?: string;
  /** Service ID → URL by the original rule. */
  urls: Record<string, string>;
  /** The cluster's protocol endpoints (HostURL), e.g. spark://<master>:7077 hdfs://<master>:9000. */
  hostUrl?: string;
  /**
   * The journal as it ended, when its last changes were not saved yet: the caller writes them with
   * the operation's end (one write instead of a save and then the end).
   */
  unsavedSteps?: StepRecord[];
}

/**
 * The reason a shutting-down worker aborts an operation with: not the user's cancel. The runner
 * rethrows it instead of reporting the operation cancelled or failed, and the worker hands the
 * operation back (its lease released, its journal kept) for another worker or the next start.
 */
export class HandBack extends Error {
  constructor(message = 'worker shutting down') {
    super(message);
    this.name = 'HandBack';
  }
}

class StepFailure extends Error {
  constructor(readonly info: OperationError) {
    super(info.message);
  }
}

export async function runOperation(o: RunOptions): Promise<RunResult> {
  const deadlines = { ...DEFAULT_DEADLINES, ...o.deadlines };
  const steps = new Map(o.journal.steps.map((s) => [s.name, { ...s }]));
  // Saves are coalesced: changes made in the same turn of the event loop (a phase's steps all
  // starting, nodes whose boots end together) go in one write, and while one is being written any
  // number of changes wait for a single next write of the latest state. Parallel steps finish in
  // any order and the journal never goes backwards, and a 200-node phase costs a few writes
  // instead of one per step and state.
  // No step waits for its save: the next phase starts while the last one's ends are written (a
  // step whose "done" was not saved when its worker died is run again, as one that was running;
  // steps are idempotent). A save that fails (the lease is lost) aborts the phase under way at
  // once, and the runner rethrows its error. What was not written when the run ends is not written here: it
  // goes back to the caller (RunResult.unsavedSteps), which writes it with the operation's end.
  // Under a burst the boots' ends, the reachable checks and the finish were three writes per
  // operation, one after the other; now they are one (bench/engineMulti.ts).
  let dirty = false;
  let closed = false;
  let saveError: unknown;
  let inflight: Promise<void> | undefined;
  /** The abort of the phase under way. */
  let running: AbortController | undefined;
  const snapshot = () => [...steps.values()].map((s) => ({ ...s }));
  const save = (): void => {
    dirty = true;
    if (inflight) return;
    inflight = (async () => {
      await new Promise((r) => setImmediate(r));
      while (dirty && !closed && saveError === undefined) {
        dirty = false;
        await o.journal.save(snapshot());
      }
    })()
      .catch((err: unknown) => {
        saveError ??= err;
        // The steps under way stop now: another worker may be running them already.
        running?.abort(err);
      })
      .finally(() => (inflight = undefined));
  };
  /** Throws the error of a save that failed: the worker may no longer own the operation. */
  const checkSaved = () => {
    if (saveError !== undefined) throw saveError;
  };
  /** The end of the run: a write under way is awaited; what is left unwritten is returned. */
  const close = async (): Promise<StepRecord[] | undefined> => {
    closed = true;
    await inflight;
    checkSaved();
    return dirty ? snapshot() : undefined;
  };
  /** Everything written (a worker handing its operation back): the next worker resumes from it. */
  const flush = async (): Promise<void> => {
    // The save loop writes while there are changes, so starting (or joining) it is enough.
    if (dirty) save();
    await inflight;
  };
  const nodesByName = () => {
    const out = new Map<string, ProvisionedNode>();
    for (const s of steps.values()) if (s.name.startsWith('provision:') && s.status === 'done' && s.detail !== undefined) {
      const n = s.detail as ProvisionedNode;
      out.set(n.name, n);
    }
    return out;
  };

  /** When the phase's deadline clock started: from the journal (a resumed operation), else now. */
  const clockStart = (phase: Phase): number => {
    const name = `${DEADLINE_MARK}${CLOCK[phase]}`;
    const mark = steps.get(name);
    if (mark?.startedAt !== undefined) return mark.startedAt;
    const now = Date.now();
    steps.set(name, { name, status: 'done', attempt: 0, startedAt: now });
    return now;
  };

  const runPhase = async (phase: Phase, items: Array<{ key: string; node?: string; service?: string; run: (ctx: StepContext) => Promise<unknown> }>) => {
    if (items.length === 0) return; // nothing to journal (e.g. health of a cluster without services)
    // One deadline for the whole phase, however many calls (dependency levels, cluster-wide hooks)
    // it takes, measured from its first step's start.
    const left = clockStart(phase) + deadlines[phase] - Date.now();
    // An own controller and timer rather than AbortSignal.any([.., AbortSignal.timeout()]): Node
    // holds the timeout signal only weakly there, and a collected one never fires.
    const phaseAbort = new AbortController();
    running = phaseAbort;
    const deadline = setTimeout(() => phaseAbort.abort(new Error(`${phase} deadline`)), Math.max(0, left));
    if (left <= 0) phaseAbort.abort(new Error(`${phase} deadline`)); // before any step starts
    const onCancel = () => phaseAbort.abort(o.cancel.reason);
    if (o.cancel.aborted) onCancel();
    else o.cancel.addEventListener('abort', onCancel, { once: true });
    const signal = phaseAbort.signal;
    // Every step of the phase listens on it (one per node or service): not a leak, no warning.
    setMaxListeners(0, signal);
    for (const it of items) {
      const name = `${phase}:${it.key}`;
      if (!steps.has(name)) steps.set(name, { name, status: 'pending', attempt: 0 });
    }
    save();
    const results = await Promise.allSettled(
      items.map(async (it) => {
        const step = steps.get(`${phase}:${it.key}`)!;
        if (step.status === 'done') return;
        checkSaved();
        step.status = 'running';
        step.attempt += 1;
        step.startedAt = Date.now();
        save();
        const ctx: StepContext = {
          clusterId: o.clusterId,
          clusterName: o.clusterName,
          signal,
          emit: (e) => o.journal.emit({ ...e, phase: e.phase || phase }),
          plan: o.plan,
          nodes: () => [...nodesByName().values()],
        };
        try {
          // The worker's fence, checked as the step starts: a worker that may have lost its lease
          // (a stalled process) must not start work that the worker taking over starts too.
          o.journal.beforeStep?.();
          if (signal.aborted) throw signal.reason;
          const detail = await raceAbort(it.run(ctx), signal);
          step.status = 'done';
          step.finishedAt = Date.now();
          if (detail !== undefined) step.detail = detail;
          save();
        } catch (err) {
          step.status = 'failed';
          step.finishedAt = Date.now();
          save();
          checkSaved();
          const cancelled = o.cancel.aborted;
          const timedOut = !cancelled && signal.aborted;
          const message = cancelled
            ? 'operation cancelled'
            : timedOut
              ? `${phase} phase deadline of ${Math.round(deadlines[phase] / 1000)} s passed`
              : (err as Error).message;
          const output = (err as { output?: string }).output;
          throw new StepFailure({ phase, node: it.node, service: it.service, message, ...(output ? { output: output.slice(-4000) } : {}) });
        }
      }),
    );
    clearTimeout(deadline);
    o.cancel.removeEventListener('abort', onCancel);
    running = undefined;
    // A lost lease outranks a step's failure: the operation is no longer this worker's to report.
    checkSaved();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  const deployment = (s: PlannedService): ServiceDeployment => {
    const nodes = nodesByName();
    return {
      type: s.type,
      version: s.version,
      config: s.config,
      params: s.params,
      accessPort: s.accessPort,
      nodes: s.nodes.map((n) => nodes.get(n)).filter((n): n is ProvisionedNode => n !== undefined),
    };
  };
  const byType = new Map(o.plan.services.map((s) => [s.type, s]));

  const runSteps = async (): Promise<RunResult> => {
    if (o.kind === 'delete') {
      // The nodes as the provider knows them now: the create's journal belongs to another operation.
      const live = async (ctx: StepContext) => new Map((await o.provider.listNodes(ctx)).map((n) => [n.name, n]));
      for (const level of [...o.plan.levels].reverse()) {
        await runPhase(
          'remove',
          level.map((t) => ({
            key: t,
            service: t,
            run: async (ctx: StepContext) => {
              const s = byType.get(t)!;
              const nodes = await live(ctx);
              const on = s.nodes.map((n) => nodes.get(n)).filter((n): n is ProvisionedNode => n !== undefined);
              if (on.length > 0) await o.deployer.remove(ctx, { ...deployment(s), nodes: on });
            },
          })),
        );
      }
      await runPhase(
        'deprovision',
        o.plan.nodes.map((n) => ({ key: n.name, node: n.name, run: (ctx) => o.provider.deleteNode(ctx, { name: n.name, providerId: n.name }) })),
      );
      const cleanup = o.provider.cleanupCluster?.bind(o.provider);
      if (cleanup) await runPhase('deprovision', [{ key: '_cluster', run: (ctx) => cleanup(ctx) }]);
      return { status: 'succeeded', nodes: [], urls: {} };
    }

    const removed = new Set(o.removeNodes ?? []);
    if (removed.size > 0) {
      // Scale-in: stop what runs on the leaving nodes, then give the nodes back.
      await runPhase(
        'remove',
        o.plan.services.flatMap((s) =>
          s.nodes.filter((n) => removed.has(n)).map((n) => ({
            key: `${s.type}@${n}`,
            service: s.type,
            node: n,
            run: async (ctx: StepContext) => {
              const node = (await o.provider.listNodes(ctx)).find((x) => x.name === n);
              if (node) await o.deployer.remove(ctx, { ...deployment(s), nodes: [node] });
            },
          })),
        ),
      );
      await runPhase('deprovision', [...removed].map((n) => ({ key: n, node: n, run: (ctx) => o.provider.deleteNode(ctx, { name: n, providerId: n }) })));
    }

    const keep = o.plan.nodes.filter((n) => !removed.has(n.name));
    const prepareCluster = o.provider.prepareCluster?.bind(o.provider);
    if (prepareCluster) await runPhase('provision', [{ key: '_cluster', run: (ctx) => prepareCluster(ctx) }]);
    await runPhase(
      'provision',
      keep.map((n) => ({
        key: n.name,
        node: n.name,
        run: (ctx) => o.provider.ensureNode(ctx, { name: n.name, role: n.role, flavor: n.flavor, image: o.plan.imageRef?.cloudImageId || o.plan.image }),
      })),
    );
    await runPhase(
      'reachable',
      keep.map((n) => ({ key: n.name, node: n.name, run: (ctx) => o.provider.waitReachable(ctx, nodesByName().get(n.name)!) })),
    );
    const prepareNodes = o.deployer.prepare?.bind(o.deployer);
    if (prepareNodes) await runPhase('deploy', [{ key: '_nodes', run: (ctx) => prepareNodes(ctx) }]);
    for (const level of o.plan.levels) {
      await runPhase('deploy', level.map((t) => ({ key: t, service: t, run: (ctx) => o.deployer.deploy(ctx, deployment(byType.get(t)!)) })));
    }
    await runPhase(
      'health',
      o.plan.services.map((s) => ({
        key: s.type,
        service: s.type,
        run: async (ctx: StepContext) => {
          const h = await o.deployer.health(ctx, deployment(s));
          if (!h.healthy) throw new Error(`unhealthy: ${h.detail}`);
          ctx.emit({ level: 'info', phase: 'health', service: s.type, message: h.detail });
        },
      })),
    );

    const nodes = [...nodesByName().values()].filter((n) => !removed.has(n.name));
    const urls: Record<string, string> = {};
    for (const s of o.plan.services) {
      const u = serviceUrl(s.class, s.accessPort, nodes);
      if (u !== undefined) urls[s.id] = u;
    }
    return { status: 'succeeded', nodes, masterIp: masterIp(nodes), urls, hostUrl: clusterEndpoints(o.plan.services, nodes) };
  };

  let result: RunResult;
  try {
    result = await runSteps();
  } catch (err) {
    if (o.cancel.aborted && o.cancel.reason instanceof HandBack) {
      // Everything written first: the worker taking the operation over resumes from it.
      await flush();
      throw o.cancel.reason;
    }
    if (!(err instanceof StepFailure)) {
      await inflight;
      throw err; // lease lost or a bug: the worker decides
    }
    o.journal.emit({ level: 'error', phase: err.info.phase, node: err.info.node, service: err.info.service, message: err.info.message });
    result = { status: o.cancel.aborted ? 'cancelled' : 'failed', error: err.info, nodes: [...nodesByName().values()], urls: {} };
  }
  const unsavedSteps = await close();
  return unsavedSteps ? { ...result, unsavedSteps } : result;
}
