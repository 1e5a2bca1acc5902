// What the engine, providers and deployers say to each other about machines: the nodes a provider
// made, the context of a step, the events users see. Types only, so providers and deployers can
// share them without importing each other.
import type { NodeRole } from './topology.js';
import type { OperationPlan } from './plan.js';

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
  /**
   * The operation's plan (nodes, services with ports and parameters, the cluster's keys and
   * flavors), for providers and deployers that work on the cluster as a whole: a security group
   * with the services' ports, an Ansible inventory and extra-vars.
   */
  plan?: OperationPlan;
  /** Every node provisioned so far in this operation (after the provision phase: all of them). */
  nodes?(): ProvisionedNode[];
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
