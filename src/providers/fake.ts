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
   * node, and `creations.log`, one line per node booted (appended whole: O_APPEND), from which a
   * benchmark counts nodes created twice. Without it the nodes are this process's memory only, and
   * a worker in another process resuming an operation would not find the nodes already made.
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
    const existing = this.of(ctx.clusterId).get(spec.name) ?? this.stored(ctx.clusterId, spec.name);
    if (existing) return existing;
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `booting ${spec.name} (${spec.flavor})` });
    await sleep(this.o.bootLatencyMs ?? 0, ctx.signal);
    if ((this.o.random ?? Math.random)() < (this.o.failureRate ?? 0)) throw new Error(`node ${spec.name} failed to boot (fake failure)`);
    const n = ++this.counter;
    const node: ProvisionedNode = {
      name: spec.name,
      role: spec.role,
      address: `127.${100 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}`,
      providerId: `fake-${n}`,
    };
    if (this.o.stateDir !== undefined) {
      // The process id keeps addresses and provider IDs apart across processes.
      node.providerId = `fake-${process.pid}-${n}`;
      appendFileSync(join(this.o.stateDir, 'creations.log'), `${ctx.clusterId}/${spec.name} ${node.providerId}\n`);
      mkdirSync(join(this.o.stateDir, ctx.clusterId), { recursive: true });
      writeFileSync(join(this.o.stateDir, ctx.clusterId, `${spec.name}.json`), JSON.stringify(node));
    }
    this.of(ctx.clusterId).set(spec.name, node);
    this.creations.set(`${ctx.clusterId}/${spec.name}`, (this.creations.get(`${ctx.clusterId}/${spec.name}`) ?? 0) + 1);
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `${spec.name} is up at ${node.address}` });
    return node;
  }

  async waitReachable(): Promise<void> {}

  /** The node as the shared state directory records it, when there is one. */
  private stored(clusterId: string, name: string): ProvisionedNode | undefined {
    if (this.o.stateDir === undefined) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.o.stateDir, clusterId, `${name}.json`), 'utf8')) as ProvisionedNode;
    } catch {
      return undefined;
    }
  }

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name'>): Promise<void> {
    this.of(ctx.clusterId).delete(node.name);
    if (this.o.stateDir !== undefined) rmSync(join(this.o.stateDir, ctx.clusterId, `${node.name}.json`), { force: true });
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
      return files.map((f) => this.stored(ctx.clusterId, f.slice(0, -'.json'.length))).filter((n): n is ProvisionedNode => n !== undefined);
    }
    return [...this.of(ctx.clusterId).values()];
  }
}
