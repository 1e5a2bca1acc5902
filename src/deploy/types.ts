// How services get onto machines (DESIGN.md). Every call is idempotent: the engine may repeat a
// step after a crash, and a repeated deploy must converge, not duplicate.
import type { StepContext, ProvisionedNode } from '../domain/nodes.js';

export interface ServiceDeployment {
  /** The cluster's service: Type, Version (resolved), Config (user values), ID. */
  type: string;
  version: string;
  config: Record<string, string>;
  /** Parameters of the version (for defaults of Required parameters and typing). */
  params: Array<{ ParameterName: string; Type: string; IsList: boolean; DefaultValue: string; Required: boolean }>;
  /** Nodes the service runs on, by placement (topology.ts): master first. */
  nodes: ProvisionedNode[];
  /** The catalog's AccessPort (0 = none). */
  accessPort: number;
}

export interface HealthResult {
  healthy: boolean;
  /** What was checked and what answered, for events and the API. */
  detail: string;
}

export interface Deployer {
  readonly name: string;
  /**
   * Problems that make the services impossible here, checked at POST time: e.g.
   * "service 'redis' needs the program redis-server: apt-get install redis-server". Empty = fine.
   */
  /** `versions`: the catalog's versions of the type, so that a version problem can list those that would run. */
  check(services: Array<{ type: string; version: string; versions?: readonly string[] }>): Promise<string[]>;
  /**
   * Prepares every node of the cluster (`ctx.nodes()`) before any service: hostnames, hosts file,
   * users and keys. Run as the step `deploy:_nodes` once per create/update/scale. Idempotent.
   */
  prepare?(ctx: StepContext): Promise<void>;
  deploy(ctx: StepContext, d: ServiceDeployment): Promise<void>;
  health(ctx: StepContext, d: ServiceDeployment): Promise<HealthResult>;
  /** Stops the service and removes its data; absent service is not an error. */
  remove(ctx: StepContext, d: ServiceDeployment): Promise<void>;
}
