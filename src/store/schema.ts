// Row types of the logical schema (created by migrations/). Booleans are 0/1 integers and JSON
// documents are text on every database, so rows read the same whichever dialect produced them.
import type { ColumnType, Generated } from 'kysely';

/**
 * Milliseconds since the epoch in a BIGINT column. PostgreSQL's driver returns BIGINT as a string,
 * so reads are number | string and repositories convert them with Number().
 */
export type Millis = ColumnType<number | string, number, number>;
export type MillisOrNull = ColumnType<number | string | null, number | null, number | null>;
export interface ImageRow { id: string; name: string; ansible_user: string; cloud_image_id: string }
export interface FlavorRow { id: string; name: string; vcpus: number; ram: number; disk: number }
export interface ProjectRow {
  id: string;
  name: string;
  display_name: string;
  group_id: string;
  description: string;
  default_image: string;
  default_master_flavor: string;
  default_slaves_flavor: string;
  default_storage_flavor: string;
  default_monitoring_flavor: string;
}
export interface ServiceTypeRow {
  id: string;
  type: string;
  description: string;
  default_version: string;
  class: string;
  access_port: number;
  ports: string; // JSON ServicePort[]
  health_check: string; // JSON HealthCheck[]
}
export interface ServiceVersionRow {
  id: string;
  service_type_id: string;
  version: string;
  description: string;
  download_url: string;
  position: number;
}
export interface ServiceConfigRow {
  id: string;
  version_id: string;
  parameter_name: string;
  type: string;
  possible_values: string | null; // JSON string[] or NULL when the parameter has no whitelist
  default_value: string;
  required: number;
  description: string;
  ansible_var_name: string;
  is_list: number;
  position: number;
}
export interface ServiceDependencyRow {
  id: string;
  version_id: string;
  service_type: string;
  service_versions: string; // JSON string[]
  default_service_version: string;
  description: string;
  position: number;
}
export interface TemplateRow {
  id: string;
  project_id: string; // project ID, or 'None' for common templates (the original's marker)
  name: string;
  display_name: string;
  n_slaves: number;
  description: string;
}
export interface ClusterRow {
  id: string;
  project_id: string;
  name: string;
  display_name: string;
  entity_status: string;
  cluster_type: string;
  host_url: string;
  n_slaves: number;
  master_ip: string;
  owner_id: string;
  description: string;
  image: string;
  keys: string; // JSON string[]
  monitoring: number;
  master_flavor: string;
  slaves_flavor: string;
  storage_flavor: string;
  monitoring_flavor: string;
  created_at: string;
  updated_at: string;
  /** When the periodic health check is next due (migration 004); written only by the health monitor. */
  health_due_at: ColumnType<number | string, number | undefined, number>;
  /** Milliseconds; null = the cluster never expires (005). */
  expires_at: Generated<number | string | null>;
  /** 0 none, 1 warned, 2 delete requested (005). */
  expiry_state: Generated<number>;
}
/** A service of a cluster or of a template; owner_id points at one or the other. */
export interface ServiceRow {
  id: string;
  owner_id: string;
  position: number;
  name: string;
  display_name: string;
  type: string;
  version: string;
  config: string; // JSON Record<string,string>
  url: string;
  entity_status: string;
  description: string;
}

export interface CatalogRevisionRow {
  id: number;
  revision: number;
}

/** A durable operation of the engine (migration 002): a job row with a lease and a step journal. */
export interface OperationRow {
  id: string;
  cluster_id: string; // no foreign key: operations stay readable after the cluster is removed
  project_id: string;
  kind: string; // create | update | scale | delete
  status: string; // queued | running | succeeded | failed | cancelled
  steps: string; // JSON OperationStep[]
  plan: string; // JSON, opaque to the store
  attempt: number;
  lease_owner: string | null;
  lease_expires_at: MillisOrNull;
  heartbeat_at: MillisOrNull;
  /** The cluster ID while the operation is running, else NULL: a unique index = one running per cluster. */
  running_cluster_id: string | null;
  cancel_requested: number;
  error: string | null; // JSON OperationError
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Millis;
  updated_at: Millis;
  started_at: MillisOrNull;
  finished_at: MillisOrNull;
}
/** Primary key (cluster_id, id): id is the cluster's own counter, so it grows in commit order. */
export interface EventRow {
  cluster_id: string;
  id: Millis; // BIGINT; not a time, but read the same way
  operation_id: string | null;
  time: Millis;
  level: string;
  phase: string;
  node: string | null;
  service: string | null;
  message: string;
}
/** Last event ID handed out per cluster; its row lock serialises appends of one cluster. */
export interface EventSequenceRow {
  cluster_id: string;
  last_id: Millis;
}
export interface IdempotencyKeyRow {
  scope: string;
  key: string;
  request_hash: string;
  response: string; // JSON { status, body }
  created_at: Millis;
}

/** A cloud node's SSH host keys, pinned at first contact (migration 006). */
export interface ClusterHostKeyRow {
  cluster_id: string;
  node: string;
  server_id: string;
  address: string;
  key_lines: string;
  pinned_at: Millis;
}

export interface DB {
  catalog_revision: CatalogRevisionRow;
  images: ImageRow;
  flavors: FlavorRow;
  projects: ProjectRow;
  service_types: ServiceTypeRow;
  service_versions: ServiceVersionRow;
  service_configs: ServiceConfigRow;
  service_dependencies: ServiceDependencyRow;
  templates: TemplateRow;
  template_services: ServiceRow;
  clusters: ClusterRow;
  cluster_services: ServiceRow;
  operations: OperationRow;
  events: EventRow;
  event_sequences: EventSequenceRow;
  idempotency_keys: IdempotencyKeyRow;
  cluster_host_keys: ClusterHostKeyRow;
}
