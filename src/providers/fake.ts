// The fake provider: nodes are records with a boot latency and a failure rate, for engine tests and
// benchmarks at scale. It emits the same events as real ones. Its partner is the no-op deployer.
import type { Provider, ProvisionedNode, StepContext, NodeSpec } from './types.js';
import { sleep } from '../host/sleep.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FakeOptions {
  /** Milliseconds a node takes to boot. */
  bootLatencyMs?: number;
  /** Probability (0..1) that a node fails to boot. */
  failureRate?: number;
  /** Deterministic randomness for tests; Math.random by default. */
  random?: () => number;
  /** Milliseconds a service takes to deploy. */
  deployLatencyMs?: number;
  /**
   * A directory shared by several processes, standing for the cloud: `<clusterId>.jsonl`, the
   * cluster's nodes as a log (a line per node requested, with when it will be up, and a line per
   * node deleted; the last line of a node wins), appended whole (O_APPEND), the requests of one
   * moment in one write per cluster. A node requested twice has two request lines: a benchmark
   * counts them with `requestsIn`. Without it the nodes are this process's memory only, and a worker
   * in another process resuming an operation would not find the nodes already made.
   */
  stateDir?: string;
}


export class FakeProvider implements Provider {
  readonly name = 'fake';
  /** clusterId → node name → node; shared by every worker of the process. */
  readonly nodes = new Map<string, Map<string, ProvisionedNode>>();
  /** How many times each node was really created: a resumed step must not create twice. */
  readonly creations = new Map<string, number>();
  private counter = 0;

  /** The shared directory, when there is one. */
  private readonly shared: SharedState | undefined;

  constructor(private readonly o: FakeOptions = {}) {
    if (o.stateDir !== undefined) this.shared = new SharedState(o.stateDir);
  }

  private of(clusterId: string) {
    let m = this.nodes.get(clusterId);
    if (!m) this.nodes.set(clusterId, (m = new Map()));
    return m;
  }

  async ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode> {
    const key = `${ctx.clusterId}/${spec.name}`;
    const mine = this.of(ctx.clusterId).get(spec.name);
    const existing = mine ? { node: mine, readyAt: this.readyAt.get(key) } : this.record(ctx.clusterId, spec.name);
    if (existing) {
      // Requested earlier (by a worker whose step was cut short, or by another worker): still
      // booting, so wait for it, as a provider waits for a server in BUILD rather than making one.
      const wait = (existing.readyAt ?? 0) - Date.now();
      if (wait > 0) await sleep(wait, ctx.signal);
      return existing.node;
    }
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `booting ${spec.name} (${spec.flavor})` });
    const n = ++this.counter;
    const node: ProvisionedNode = {
      name: spec.name,
      role: spec.role,
      address: `127.${100 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}`,
      providerId: `fake-${n}`,
    };
    // The cloud holds the node from its request on, as Nova lists a server from its create call:
    // a worker that resumes this step while the node boots finds it and waits for it.
    const readyAt = Date.now() + (this.o.bootLatencyMs ?? 0);
    // The process id keeps addresses and provider IDs apart across processes.
    if (this.o.stateDir !== undefined) node.providerId = `fake-${process.pid}-${n}`;
    // In this process's memory at once (another step here finds it while its line is written).
    this.of(ctx.clusterId).set(spec.name, node);
    this.readyAt.set(key, readyAt);
    this.creations.set(key, (this.creations.get(key) ?? 0) + 1);
    await this.shared?.request(ctx.clusterId, { ...node, readyAt });
    // Up at readyAt however long the request's record took to write, as a server boots from its create call.
    await sleep(Math.max(0, readyAt - Date.now()), ctx.signal);
    if ((this.o.random ?? Math.random)() < (this.o.failureRate ?? 0)) {
      // A failed boot leaves nothing behind (as a provider that deletes its failed server).
      await this.forget(ctx.clusterId, spec.name);
      throw new Error(`node ${spec.name} failed to boot (fake failure)`);
    }
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `${spec.name} is up at ${node.address}` });
    return node;
  }

  /** When each requested node is up (in-process; the shared directory keeps it in the cluster's file). */
  private readonly readyAt = new Map<string, number>();

  private async forget(clusterId: string, name: string): Promise<void> {
    this.of(clusterId).delete(name);
    this.readyAt.delete(`${clusterId}/${name}`);
    await this.shared?.gone(clusterId, name);
  }

  async waitReachable(): Promise<void> {}

  /** The node as the shared state directory records it, when there is one. */
  private record(clusterId: string, name: string): { node: ProvisionedNode; readyAt?: number } | undefined {
    const r = this.shared?.nodes(clusterId).get(name);
    if (!r) return undefined;
    const { readyAt, ...node } = r;
    return { node, readyAt };
  }

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name'>): Promise<void> {
    await this.forget(ctx.clusterId, node.name);
    ctx.emit({ level: 'info', phase: 'deprovision', node: node.name, message: `${node.name} deleted` });
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    if (this.shared) return [...this.shared.nodes(ctx.clusterId).values()].map(({ readyAt: _r, ...node }) => node);
    return [...this.of(ctx.clusterId).values()];
  }
}

type SharedNode = ProvisionedNode & { readyAt: number };

/**
 * The shared directory of FakeOptions.stateDir. A worker asks for the nodes of many clusters at the
 * same moment (a claim round starts hundreds of operations); a file written per node, synchronously,
 * made this stand-in for the cloud cost more CPU than the engine it stands beside. So the requests
 * of one turn of the event loop go out together, one append per cluster, which is both the cloud's
 * record and the count of boots: a node is never counted without being findable, or the reverse.
 * Reads of one turn share one read per cluster.
 */
class SharedState {
  private lines = new Map<string, string[]>();
  private written: Promise<void> | undefined;
  private readonly reads = new Map<string, Map<string, SharedNode>>();

  constructor(private readonly dir: string) {}

  /** Records a node's request; resolves once its line is written. */
  request(clusterId: string, node: SharedNode): Promise<void> {
    this.add(clusterId, JSON.stringify(node), node);
    return this.flushSoon();
  }

  /** Records a node's deletion; resolves once its line is written. */
  gone(clusterId: string, name: string): Promise<void> {
    const r = { name, gone: true as const };
    this.add(clusterId, JSON.stringify(r), r);
    return this.flushSoon();
  }

  /** The cluster's live nodes, by name, as the directory holds them now (or earlier in this turn). */
  nodes(clusterId: string): Map<string, SharedNode> {
    let m = this.reads.get(clusterId);
    if (m) return m;
    m = new Map();
    let text = '';
    // No file: no node of this cluster was ever requested (the usual case, a first attempt; asked
    // first, as a failed read costs an exception with its stack).
    const file = this.file(clusterId);
    if (existsSync(file)) {
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // removed meanwhile
      }
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as SharedNode | { name: string; gone: true };
      if ('gone' in r) m.delete(r.name);
      else m.set(r.name, r);
    }
    if (this.reads.size === 0) setImmediate(() => this.reads.clear());
    this.reads.set(clusterId, m);
    return m;
  }

  private file(clusterId: string): string {
    return join(this.dir, `${clusterId}.jsonl`);
  }

  private add(clusterId: string, line: string, r: SharedNode | { name: string; gone: true }): void {
    // What this turn read of the cluster stays true with this process's own request in it.
    const read = this.reads.get(clusterId);
    if (read) {
      if ('gone' in r) read.delete(r.name);
      else read.set(r.name, r);
    }
    const l = this.lines.get(clusterId);
    if (l) l.push(line);
    else this.lines.set(clusterId, [line]);
  }

  private flushSoon(): Promise<void> {
    this.written ??= new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        const lines = this.lines;
        this.lines = new Map();
        this.written = undefined;
        // Off the event loop (a claim round's clusters are hundreds of files), each cluster's
        // appends chained, so its lines land in the order they were taken.
        const writes = [...lines].map(([clusterId, l]) => {
          const next = (this.tails.get(clusterId) ?? Promise.resolve()).then(() => appendFile(this.file(clusterId), `${l.join('\n')}\n`));
          this.tails.set(clusterId, next);
          void next.finally(() => this.tails.get(clusterId) === next && this.tails.delete(clusterId)).catch(() => undefined);
          return next;
        });
        Promise.all(writes).then(() => resolve(), reject);
      }),
    );
    return this.written;
  }
  /** Each cluster's last append under way. */
  private readonly tails = new Map<string, Promise<void>>();
}

/** Every node request a shared state directory holds: `<clusterId>/<node>` → the provider IDs made for it, in order. */
export function requestsIn(stateDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of readdirSync(stateDir).filter((x) => x.endsWith('.jsonl'))) {
    const clusterId = f.slice(0, -'.jsonl'.length);
    for (const line of readFileSync(join(stateDir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as Partial<SharedNode> & { name: string; gone?: true };
      if (r.gone || r.providerId === undefined) continue;
      const key = `${clusterId}/${r.name}`;
      out.set(key, [...(out.get(key) ?? []), r.providerId]);
    }
  }
  return out;
}
