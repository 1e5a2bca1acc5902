// Where machines come from (DESIGN.md "Providers and deployers"). A provider never touches the
// store: the engine hands it what to create and records what it reports.
import type { NodeRole } from '../domain/topology.js';
import type { OperationPlan } from '../domain/plan.js';

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
  /**
   * Cluster-wide resources needed before any node (security group, key pair, server group);
   * run as the step `provision:_cluster` of every create/update/scale. Idempotent.
   */
  prepareCluster?(ctx: StepContext): Promise<void>;
  /**
   * After the nodes of a deleted cluster are gone: remove the cluster-wide resources and check that
   * nothing tagged with the cluster is left (step `deprovision:_cluster`). Idempotent.
   */
  cleanupCluster?(ctx: StepContext): Promise<void>;
  /** Cloud providers: what the plan needs against the project's limits and usage (dry run, quota_check). */
  checkQuota?(plan: OperationPlan, signal?: AbortSignal): Promise<QuotaReport>;
  /** Cloud providers: every cluster that owns a tagged resource, for the janitor. */
  listTaggedClusters?(signal?: AbortSignal): Promise<TaggedCluster[]>;
  /** Cloud providers: removes everything tagged with the cluster (the janitor's --delete). */
  removeCluster?(clusterId: string, signal?: AbortSignal): Promise<void>;
}

export interface QuotaItem {
  /** instances | cores | ram_mb | floating_ips | security_groups | volumes | volume_gb */
  resource: string;
  need: number;
  /** null: no limit. */
  limit: number | null;
  used: number;
  /** null: no limit. */
  available: number | null;
  short: boolean;
}

export interface QuotaReport {
  ok: boolean;
  items: QuotaItem[];
}

export interface TaggedCluster {
  clusterId: string;
  /** Readable `kind name (id)` entries. */
  resources: string[];
}
