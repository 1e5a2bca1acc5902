// Catalog objects as stored: every field present, so code past validation never guesses about absence.
import type { ServiceType, ServiceVersion, ServiceConfig, ServiceDependency, ServicePort, HealthCheck } from './wire.js';

export type StoredConfig = Required<Omit<ServiceConfig, 'PossibleValues'>> & { PossibleValues?: string[] };
export type StoredDependency = Required<ServiceDependency>;
export type StoredVersion = Required<Omit<ServiceVersion, 'Configs' | 'Dependencies' | 'Deployable' | 'DeployableReason'>> & {
  Configs: StoredConfig[];
  Dependencies: StoredDependency[];
};
export type StoredServiceType = Required<Omit<ServiceType, 'Versions' | 'Ports' | 'HealthCheck'>> & {
  Versions: StoredVersion[];
  Ports: ServicePort[];
  HealthCheck: HealthCheck[];
};
export type ServiceTypeSummary = Pick<
  StoredServiceType,
  'ID' | 'Type' | 'Description' | 'DefaultVersion' | 'Class' | 'AccessPort'
>;

