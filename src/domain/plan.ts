// What an operation must do, computed once when the request is accepted and stored with the
// operation, so a worker that resumes it later does the same thing even if the catalog changed.
import type { Cluster } from './wire.js';
import type { StoredServiceType } from './stored.js';
import { planNodes, type NodePlan } from './topology.js';
import type { ServiceClass } from './wire.js';

export interface PlannedService {
  id: string;
  type: string;
  version: string;
  class: ServiceClass;
  accessPort: number;
  config: Record<string, string>;
  params: Array<{ ParameterName: string; Type: string; IsList: boolean; DefaultValue: string; Required: boolean }>;
  /** Names of the nodes it runs on (master first). */
  nodes: string[];
  /** The catalog's Ports (opened by cloud providers' security groups). Absent in plans stored before it existed. */
  ports?: number[];
}

/**
 * What a provider or deployer needs of the cluster as a whole (security groups, inventories,
 * extra-vars), frozen with the plan like the rest of it. Absent in plans stored before it existed.
 */
export interface PlannedCluster {
  name: string;
  displayName: string;
  nSlaves: number;
  ownerId: string;
  monitoring: boolean;
  keys: string[];
  masterFlavor: string;
  slavesFlavor: string;
  storageFlavor: string;
  monitoringFlavor: string;
}

export interface OperationPlan {
  image: string;
  /** The Michman image's cloud image ID and login user, as they were when the plan was made. */
  imageRef?: { cloudImageId: string; ansibleUser: string };
  nodes: NodePlan[];
  services: PlannedService[];
  /** Services in deployment order: each level only depends on earlier levels, so a level runs in parallel. */
  levels: string[][];
  cluster?: PlannedCluster;
}

export type TypeMap = ReadonlyMap<string, StoredServiceType>;

/** The plan of a create: nodes by topology, services with their parameters, dependency levels. */
export function buildCreatePlan(cluster: Cluster, types: TypeMap, image?: { CloudImageID?: string; AnsibleUser?: string }): OperationPlan {
  const services = cluster.Services ?? [];
  const classes = new Map<string, ServiceClass>();
  for (const s of services) {
    const t = types.get(s.Type ?? '');
    if (t) classes.set(t.Type, t.Class as ServiceClass);
  }
  const nodes = planNodes(cluster, services, classes);
  const planned: PlannedService[] = services.map((s) => {
    const t = types.get(s.Type!)!;
    const v = t.Versions.find((x) => x.Version === s.Version) ?? t.Versions.find((x) => x.Version === t.DefaultVersion)!;
    return {
      id: s.ID ?? s.Type!,
      type: t.Type,
      version: v.Version,
      class: t.Class as ServiceClass,
      accessPort: t.AccessPort,
      config: { ...(s.Config ?? {}) },
      params: v.Configs.map((c) => ({
        ParameterName: c.ParameterName,
        Type: c.Type,
        IsList: c.IsList,
        DefaultValue: c.DefaultValue,
        Required: c.Required,
      })),
      nodes: nodes.filter((n) => n.services.some((x) => x.Type === t.Type)).map((n) => n.name),
      ports: (t.Ports ?? []).map((p) => p.Port ?? 0).filter((p) => p > 0),
    };
  });
  return {
    image: cluster.Image ?? '',
    ...(image ? { imageRef: { cloudImageId: image.CloudImageID ?? '', ansibleUser: image.AnsibleUser ?? '' } } : {}),
    nodes,
    services: planned,
    levels: dependencyLevels(services, types),
    cluster: {
      name: cluster.Name ?? '',
      displayName: cluster.DisplayName ?? '',
      nSlaves: cluster.NSlaves ?? 0,
      ownerId: cluster.OwnerID ?? '',
      monitoring: cluster.Monitoring ?? false,
      keys: [...(cluster.Keys ?? [])],
      masterFlavor: cluster.MasterFlavor ?? '',
      slavesFlavor: cluster.SlavesFlavor ?? '',
      storageFlavor: cluster.StorageFlavor ?? '',
      monitoringFlavor: cluster.MonitoringFlavor ?? '',
    },
  };
}

/**
 * Kahn's algorithm over "type A's version depends on type B" within the cluster: B comes a level
 * before A. Dependencies on types absent from the cluster were resolved away before planning.
 */
export function dependencyLevels(services: Cluster['Services'], types: TypeMap): string[][] {
  const inCluster = new Map((services ?? []).map((s) => [s.Type!, s]));
  const deps = new Map<string, Set<string>>();
  for (const [type, s] of inCluster) {
    const t = types.get(type);
    const v = t?.Versions.find((x) => x.Version === s.Version);
    deps.set(type, new Set((v?.Dependencies ?? []).map((d) => d.ServiceType).filter((d) => inCluster.has(d) && d !== type)));
  }
  const levels: string[][] = [];
  const done = new Set<string>();
  while (done.size < deps.size) {
    const level = [...deps.keys()].filter((t) => !done.has(t) && [...deps.get(t)!].every((d) => done.has(d))).sort();
    // A cycle cannot be deployed in any order; put the rest in one level rather than loop forever.
    const next = level.length > 0 ? level : [...deps.keys()].filter((t) => !done.has(t)).sort();
    levels.push(next);
    next.forEach((t) => done.add(t));
  }
  return levels;
}
