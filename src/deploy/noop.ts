// The no-op deployer: records what it would deploy, with an optional latency, and emits the same
// events as a real one. The fake provider's partner in engine tests and benchmarks.
import type { StepContext } from '../domain/nodes.js';
import type { Deployer, ServiceDeployment, HealthResult } from './types.js';
import { sleep } from '../host/sleep.js';

export interface NoopOptions {
  /** Milliseconds a service takes to deploy. */
  deployLatencyMs?: number;
}

export class NoopDeployer implements Deployer {
  readonly name = 'noop';
  readonly deployed = new Set<string>();
  constructor(private readonly o: NoopOptions = {}) {}

  async check(): Promise<string[]> {
    return [];
  }
  async deploy(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    ctx.emit({ level: 'info', phase: 'deploy', service: d.type, message: `deploying ${d.type} ${d.version} on ${d.nodes.map((n) => n.name).join(', ')}` });
    await sleep(this.o.deployLatencyMs ?? 0, ctx.signal);
    this.deployed.add(`${ctx.clusterId}/${d.type}`);
  }
  async health(_ctx: StepContext, d: ServiceDeployment): Promise<HealthResult> {
    return { healthy: true, detail: `${d.type} answers (fake)` };
  }
  async remove(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    this.deployed.delete(`${ctx.clusterId}/${d.type}`);
  }
}
