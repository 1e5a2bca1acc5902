// The fake provider: nodes are records with a boot latency and a failure rate, for engine tests and
// benchmarks at scale. It emits the same events as real ones. Its partner is the no-op deployer.
import type { Provider, ProvisionedNode, StepContext, NodeSpec } from './types.js';
import { sleep } from '../host/sleep.js';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
   * A directory shared by several processes, standing for the cloud: `<clusterId>/<node>.json` per
   * node (written at the node's request, with when it will be up), and `creations.log`, one line
   * per node requested (appended whole: O_APPEND), from which a benchmark counts nodes created
   * twice. Without it the nodes are this process's memory only, and a worker in another process
   * resuming an operation would not find the nodes already made.
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

  constructor(private readonly o: FakeOptions = {}) {}

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
    if (this.o.stateDir !== undefined) {
      // The process id keeps addresses and provider IDs apart across processes.
      node.providerId = `fake-${process.pid}-${n}`;
      // The node's file is the cloud's record, so it comes first: a process killed between the two
      // writes leaves a node the log misses (one boot short in a count), never a node the next
      // worker cannot find and makes again.
      mkdirSync(join(this.o.stateDir, ctx.clusterId), { recursive: true });
      writeFileSync(join(this.o.stateDir, ctx.clusterId, `${spec.name}.json`), JSON.stringify({ ...node, readyAt }));
      appendFileSync(join(this.o.stateDir, 'creations.log'), `${key} ${node.providerId}\n`);
    }
    this.of(ctx.clusterId).set(spec.name, node);
    this.readyAt.set(key, readyAt);
    this.creations.set(key, (this.creations.get(key) ?? 0) + 1);
    await sleep(this.o.bootLatencyMs ?? 0, ctx.signal);
    if ((this.o.random ?? Math.random)() < (this.o.failureRate ?? 0)) {
      // A failed boot leaves nothing behind (as a provider that deletes its failed server).
      this.forget(ctx.clusterId, spec.name);
      throw new Error(`node ${spec.name} failed to boot (fake failure)`);
    }
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `${spec.name} is up at ${node.address}` });
    return node;
  }

  /** When each requested node is up (in-process; the shared directory keeps it in the node's file). */
  private readonly readyAt = new Map<string, number>();

  private forget(clusterId: string, name: string): void {
    this.of(clusterId).delete(name);
    this.readyAt.delete(`${clusterId}/${name}`);
    if (this.o.stateDir !== undefined) rmSync(join(this.o.stateDir, clusterId, `${name}.json`), { force: true });
  }

  async waitReachable(): Promise<void> {}

  /** The node as the shared state directory records it (one read), when there is one. */
  private record(clusterId: string, name: string): { node: ProvisionedNode; readyAt?: number } | undefined {
    if (this.o.stateDir === undefined) return undefined;
    try {
      const { readyAt, ...node } = JSON.parse(readFileSync(join(this.o.stateDir, clusterId, `${name}.json`), 'utf8')) as ProvisionedNode & { readyAt?: number };
      return { node, readyAt };
    } catch {
      return undefined;
    }
  }

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name'>): Promise<void> {
    this.forget(ctx.clusterId, node.name);
    ctx.emit({ level: 'info', phase: 'deprovision', node: node.name, message: `${node.name} deleted` });
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    if (this.o.stateDir !== undefined) {
      let files: string[] = [];
      try {
        files = readdirSync(join(this.o.stateDir, ctx.clusterId)).filter((f) => f.endsWith('.json'));
      } catch {
        // no node of this cluster was ever made
      }
      return files.map((f) => this.record(ctx.clusterId, f.slice(0, -'.json'.length))?.node).filter((n): n is ProvisionedNode => n !== undefined);
    }
    return [...this.of(ctx.clusterId).values()];
  }
}
