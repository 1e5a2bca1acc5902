// The fake provider: nodes are records with a boot latency and a failure rate, for engine tests and
// benchmarks at scale. It emits the same events as real ones. Its partner is the no-op deployer.
import type { Provider, ProvisionedNode, StepContext, NodeSpec } from './types.js';
import { sleep } from '../host/sleep.js';

export interface FakeOptions {
  /** Milliseconds a node takes to boot. */
  bootLatencyMs?: number;
  /** Probability (0..1) that a node fails to boot. */
  failureRate?: number;
  /** Deterministic randomness for tests; Math.random by default. */
  random?: () => number;
  /** Milliseconds a service takes to deploy. */
  deployLatencyMs?: number;
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
    const existing = this.of(ctx.clusterId).get(spec.name);
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
    this.of(ctx.clusterId).set(spec.name, node);
    this.creations.set(`${ctx.clusterId}/${spec.name}`, (this.creations.get(`${ctx.clusterId}/${spec.name}`) ?? 0) + 1);
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `${spec.name} is up at ${node.address}` });
    return node;
  }

  async waitReachable(): Promise<void> {}

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name'>): Promise<void> {
    this.of(ctx.clusterId).delete(node.name);
    ctx.emit({ level: 'info', phase: 'deprovision', node: node.name, message: `${node.name} deleted` });
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    return [...this.of(ctx.clusterId).values()];
  }
}
