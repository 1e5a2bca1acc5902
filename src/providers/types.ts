// Where machines come from (DESIGN.md "Providers and deployers"). A provider never touches the
// store: the engine hands it what to create and records what it reports.
import type { NodeRole } from '../domain/topology.js';

/** One event of an operation, as shown to users (time is added by whoever records it). */
export interface EngineEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  phase: string; // provision | reachable | deploy | health | delete | ...
  node?: string;
  service?: string;
  message: string;
}

export interface StepContext {
  clusterId: string;
  clusterName: string;
  /** Aborted on cancel and when the phase deadline passes: long work must stop promptly. */
  signal: AbortSignal;
  emit(event: EngineEvent): void;
}

export interface NodeSpec {
  name: string; // <C>-master, <C>-slave-<n>, <C>-storage, <C>-monitoring
  role: NodeRole;
  flavor: string;
  image: string;
}

export interface ProvisionedNode {
  name: string;
  role: NodeRole;
  /** Address services listen on and URLs are built from (local: 127.x.y.z). */
  address: string;
  /** The provider's own handle (server ID, container name, ...). */
  providerId: string;
  /** Local providers: the node's private directory for service data. */
  dataDir?: string;
}

export interface Provider {
  readonly name: string;
  /** Creates the node, or returns the one already tagged with this cluster and name (idempotent). */
  ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode>;
  /** Resolves when the node accepts work; rejects with a clear message when it never will. */
  waitReachable(ctx: StepContext, node: ProvisionedNode): Promise<void>;
  /** Removes the node and everything it holds; a node already gone is not an error. */
  deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name' | 'providerId'>): Promise<void>;
  /** Nodes that carry this cluster's tag, for delete and leak checks. */
  listNodes(ctx: StepContext): Promise<ProvisionedNode[]>;
}
