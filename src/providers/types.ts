// Where machines come from (DESIGN.md "Providers and deployers"). A provider never touches the
// store: the engine hands it what to create and records what it reports.
import type { OperationPlan } from '../domain/plan.js';
import type { QuotaReport } from '../domain/quota.js';

export type { QuotaItem, QuotaReport } from '../domain/quota.js';
export type { EngineEvent, StepContext, NodeSpec, ProvisionedNode } from '../domain/nodes.js';
import type { StepContext, NodeSpec, ProvisionedNode } from '../domain/nodes.js';

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

export interface TaggedCluster {
  clusterId: string;
  /** Readable `kind name (id)` entries. */
  resources: string[];
}
