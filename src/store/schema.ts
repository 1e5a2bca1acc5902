// Row types of the logical schema (created by migrations/). Booleans are 0/1 integers and JSON
// documents are text on every database, so rows read the same whichever dialect produced them.
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
}
