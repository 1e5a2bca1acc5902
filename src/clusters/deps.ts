// What the cluster use cases need from the process around them: the store, the deployer's POST-time
// check, the cloud's quota and a way to wake an in-process worker. Built once by api/server.ts.
import type { Store } from '../store/store.js';
import type { OperationPlan } from '../domain/plan.js';
import type { QuotaReport } from '../domain/quota.js';
import type { SecretStore } from '../secrets/types.js';
import type { ProjectLimits } from './lifecycle.js';

export interface QuotaCheck {
  check(plan: OperationPlan): Promise<QuotaReport>;
  /** quota_check: enforce → a shortfall refuses the create with 400. */
  enforce: boolean;
}

/** What the deployer says at request time about services it cannot run here (Deployer.check). */
export interface ServiceCheck {
  /** `versions`: the catalog's versions of the type, so that a version problem can list those that would run. */
  check(services: Array<{ type: string; version: string; versions?: readonly string[] }>): Promise<string[]>;
}

export interface ClusterDeps {
  store: Store;
  /** Refuses at request time the services that cannot run here; absent = everything may run. */
  deployer?: ServiceCheck;
  /** Called after an operation was committed, so an in-process worker starts it without polling. */
  onEnqueue?: () => void;
  /** Cloud providers: the plan against the project's quota (in dry runs; at create too when enforced). */
  quota?: QuotaCheck;
  /** Where passwords given in service configs go (the database keeps a mask). */
  secrets?: SecretStore;
  /** Per-project limits on clusters and nodes (config project_max_clusters, project_max_nodes). */
  limits?: ProjectLimits;
  /** Where GET /logs/projects/{p}/clusters/{c} reads lines (config elastic_addr); absent: the events in the store. */
  logSource?: ClusterLogSource;
}

/** A store of shipped cluster log lines (Elasticsearch/OpenSearch fed by Logstash). */
export interface ClusterLogSource {
  readonly name: string;
  read(clusterId: string, action: string, operationId: string): Promise<Array<{ time: number; level: string; phase: string; node?: string; service?: string; message: string }>>;
}
