// Cluster create/update rules (reference §3.2.1, §3.2.2) in the original's order and wording, with
// the fixes of issue 3: `Services: []` is valid, NSlaves < 1 with a master-slave service is a 400 (the
// original answered 200 with an empty body), a requested change to an existing service is refused
// instead of silently dropped, and NSlaves may change on update (scale out/in).
//
// Create runs in phases because the original interleaves lookups with the rules:
//   checkNewCluster (steps 3–4)  →  caller: Image/flavors exist (CLUSTER_REFS order, 404), name clash
//   (canStart('create', …); a FAILED cluster is retried with checkRetryCluster)  →  caller: ID, OwnerID,
//   types (loadTypeClosure)  →  resolveNewClusterServices (steps 7–9).
import type { Cluster, Project, Service } from './wire.js';
import { generatedField, unmodified, validation } from './errors.js';
import { checkDisplayName } from './names.js';
import { validateServiceConfigs } from './configValues.js';
import { duplicateType, resolveServices, typeAndVersion, validateClusterServices, type TypeMap } from './resolver.js';
import { canStart } from './clusterState.js';

export type ClusterProject = Pick<
  Required<Project>,
  | 'ID'
  | 'Name'
  | 'DefaultImage'
  | 'DefaultMasterFlavor'
  | 'DefaultSlavesFlavor'
  | 'DefaultStorageFlavor'
  | 'DefaultMonitoringFlavor'
>;

/** Fields a create must leave empty, in the order the original checked them. */
export const CLUSTER_GENERATED_FIELDS = [
  'ID',
  'Name',
  'OwnerID',
  'HostURL',
  'EntityStatus',
  'ClusterType',
  'MasterIP',
  'ProjectID',
] as const;

/** References that must exist (404 otherwise), in the order the original looked them up. */
export const CLUSTER_REFS = ['Image', 'MasterFlavor', 'SlavesFlavor', 'StorageFlavor', 'MonitoringFlavor'] as const;

/**
 * Fields an update must leave empty, in the original's order. NSlaves stays in the list for its
 * position (a negative value is reported there) but may now be sent: it scales the cluster.
 */
export const CLUSTER_IMMUTABLE_FIELDS = [
  'ID',
  'Name',
  'EntityStatus',
  'NSlaves',
  'HostURL',
  'MasterIP',
  'ProjectID',
  'Image',
  'OwnerID',
  'MasterFlavor',
  'SlavesFlavor',
  'StorageFlavor',
  'MonitoringFlavor',
] as const;

const PROJECT_DEFAULTS = [
  ['MasterFlavor', 'DefaultMasterFlavor'],
  ['StorageFlavor', 'DefaultStorageFlavor'],
  ['SlavesFlavor', 'DefaultSlavesFlavor'],
  ['MonitoringFlavor', 'DefaultMonitoringFlavor'],
  ['Image', 'DefaultImage'],
] as const;

// Cluster names are stored in varchar(255) columns; without this an over-long DisplayName would be a
// database error instead of a 400.
const MAX_NAME = 255;

const negativeSlaves = () => validation('NSlaves parameter must be number >= 0');
export const MASTER_SLAVE_NEEDS_SLAVES =
  'NSlaves parameter must be number >= 1 because master-slave services will be installed';

const dedupe = (xs: readonly string[]): string[] => [...new Set(xs)];

/**
 * Steps 3–4 of POST /projects/:p/clusters without the lookups: project defaults, DisplayName rule,
 * generated fields, NSlaves >= 0. Returns the cluster with Name (= DisplayName-ProjectName), ProjectID,
 * NSlaves, Services and Keys filled; the caller sets ID, OwnerID (from the caller's identity, never a
 * header) and EntityStatus.
 */
export function checkNewCluster(body: Cluster, project: ClusterProject): Cluster {
  const c: Cluster = { ...body };
  for (const [field, def] of PROJECT_DEFAULTS) if (!c[field]) c[field] = project[def];
  // An empty DisplayName fails the regex with the bad-name message, as in the original (its own
  // emptiness check never fired).
  checkDisplayName('cluster', c.DisplayName ?? '');
  for (const f of CLUSTER_GENERATED_FIELDS) if (c[f]) throw generatedField('cluster', f);
  if ((c.NSlaves ?? 0) < 0) throw negativeSlaves();
  const name = `${c.DisplayName as string}-${project.Name}`;
  if (name.length > MAX_NAME) {
    throw validation(`cluster name '${name}' is longer than ${MAX_NAME} characters; shorten DisplayName`);
  }
  return {
    ...c,
    Name: name,
    ProjectID: project.ID,
    NSlaves: c.NSlaves ?? 0,
    Services: c.Services ?? [],
    Keys: dedupe(c.Keys ?? []),
  };
}

// URL, EntityStatus and ClusterRef are the server's to fill; the original stored whatever a client
// sent there, so a client could publish a fake service URL.
function requestedService(s: Service): Service {
  const out: Service = { ...s };
  delete out.URL;
  delete out.EntityStatus;
  delete out.ClusterRef;
  return out;
}

/** Step 9's rule (also for update and scale): slaves must exist for master-slave services. */
export function checkSlaveCount(nSlaves: number, services: readonly Service[], types: TypeMap): void {
  if (nSlaves < 0) throw negativeSlaves();
  if (nSlaves >= 1) return;
  if (services.some((s) => types.get(s.Type ?? '')?.Class === 'master-slave')) {
    throw validation(MASTER_SLAVE_NEEDS_SLAVES);
  }
}

/**
 * Steps 7–9 of create: fresh IDs for the requested services (before any appended one), dependency
 * resolution with the HealthCheck requirement, per-service config validation, then the NSlaves rule
 * over all services (an added dependency can be master-slave: cassandra pulls spark).
 */
export function resolveNewClusterServices(
  cluster: Cluster,
  types: TypeMap,
  opts: { newId: () => string },
): Service[] {
  const requested = (cluster.Services ?? []).map((s) => ({ ...requestedService(s), ID: opts.newId() }));
  const services = resolveServices(requested, types, { newId: opts.newId, requireHealthCheck: true });
  validateClusterServices(services, types);
  checkSlaveCount(cluster.NSlaves ?? 0, services, types);
  return services;
}

/**
 * Step 9 in retry mode (POST over a FAILED cluster): the stored cluster, not the body, is launched
 * again, so only the stored services are checked again against the current catalog.
 */
export function checkRetryCluster(stored: Cluster, types: TypeMap): void {
  const services = stored.Services ?? [];
  for (const s of services) typeAndVersion(s, types, true);
  validateClusterServices(services, types);
  checkSlaveCount(stored.NSlaves ?? 0, services, types);
}

export interface ClusterUpdate {
  /** The merged cluster (status untouched: the caller applies statusOnAccept). */
  cluster: Cluster;
  /** Services appended: requested ones of new types, then their dependencies. */
  added: Service[];
  /** Present when NSlaves changes. */
  scale?: { from: number; to: number };
  /** Keys not yet on the cluster, which the deployer must install. */
  addedKeys: string[];
  /**
   * What must run on the machines: 'update' (services or keys added, possibly with a scale), 'scale'
   * (NSlaves alone), or null when only Description/DisplayName changed — the original re-ran Ansible
   * even then.
   */
  operation: 'update' | 'scale' | null;
}

const sameConfig = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
};

/**
 * PUT /projects/:p/clusters/:c (§3.2.2) from step 3 on: status, immutable fields (class 700), the
 * requested services, appending those of new types with their dependencies, the NSlaves rules, then
 * the patch of Description, DisplayName (Name never follows it) and Keys (appended, deduplicated).
 *
 * A requested service whose type the cluster already has is accepted when it asks for nothing
 * different (absent Version/Config mean "as it is"), and refused otherwise: the original dropped such
 * changes without a word. `types` must cover the stored and requested services' types and their
 * dependencies (loadTypeClosure over both lists).
 */
export function checkClusterUpdate(
  stored: Cluster,
  body: Cluster,
  types: TypeMap,
  opts: { newId: () => string },
): ClusterUpdate {
  canStart('update', stored.EntityStatus, { name: stored.Name ?? '' });
  for (const f of CLUSTER_IMMUTABLE_FIELDS) {
    if (f === 'NSlaves') {
      if (body.NSlaves !== undefined && body.NSlaves < 0) throw negativeSlaves();
    } else if (body[f]) {
      throw unmodified(`cluster field '${f}' can't be modified`);
    }
  }

  const current = stored.Services ?? [];
  const existing = new Map<string, Service>();
  for (const s of current) if (s.Type && !existing.has(s.Type)) existing.set(s.Type, s);

  // Every requested service is validated before any is compared or appended, as in the original
  // (step 5 before step 6), so a bad config is reported before a refused change.
  const requested = (body.Services ?? []).map((req) => {
    const have = req.Type ? existing.get(req.Type) : undefined;
    // An existing service is validated against the version it runs, not the type default.
    const { type, version } = typeAndVersion({ ...req, Version: req.Version || have?.Version }, types);
    validateServiceConfigs(type.Type, version.Configs, req.Config ?? {});
    return { req, have, type: type.Type, version: version.Version };
  });

  const fresh: Service[] = [];
  const seen = new Set<string>();
  for (const { req, have, type, version } of requested) {
    if (seen.has(type)) throw duplicateType(type);
    seen.add(type);
    if (have) {
      const changed =
        (!!req.Version && req.Version !== have.Version) ||
        (req.Config !== undefined && !sameConfig(req.Config, have.Config ?? {}));
      if (changed) throw unmodified(`service '${type}' already exists in the cluster; changing it is not supported`);
      continue;
    }
    fresh.push({ ...requestedService(req), ID: opts.newId(), Version: version, Config: req.Config ?? {} });
  }

  const services =
    fresh.length === 0
      ? [...current]
      : resolveServices([...current, ...fresh], types, {
          newId: opts.newId,
          requireHealthCheck: false,
          startAt: current.length,
        });
  const added = services.slice(current.length);
  validateClusterServices(added, types);

  const from = stored.NSlaves ?? 0;
  const to = body.NSlaves ?? from;
  if (added.length > 0 || to !== from) checkSlaveCount(to, services, types);

  if (body.DisplayName !== undefined) checkDisplayName('cluster', body.DisplayName);
  const storedKeys = stored.Keys ?? [];
  const addedKeys = dedupe((body.Keys ?? []).filter((k) => !storedKeys.includes(k)));

  const cluster: Cluster = { ...stored, Services: services, NSlaves: to, Keys: [...storedKeys, ...addedKeys] };
  if (body.Description !== undefined) cluster.Description = body.Description;
  if (body.DisplayName !== undefined) cluster.DisplayName = body.DisplayName;

  const result: ClusterUpdate = {
    cluster,
    added,
    addedKeys,
    operation: added.length > 0 || addedKeys.length > 0 ? 'update' : to !== from ? 'scale' : null,
  };
  if (to !== from) result.scale = { from, to };
  return result;
}
