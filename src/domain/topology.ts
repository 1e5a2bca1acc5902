// Node topology of a cluster (reference launcher-services §1.6.2 node-flag rules, §1.8.1 VM names, §2
// node kinds and placement, §1.9 URL write-back). The original spread these rules over the launcher's
// extra-vars code, `launch_async.yml` and `os_facts`; here they are one pure function so the engine,
// the dry-run plan and the Ansible inventory cannot disagree about which machines a cluster has.
import type { ServiceClass } from './wire.js';
import { notFound, requiredField, validation } from './errors.js';

export type NodeRole = 'master' | 'slave' | 'storage' | 'monitoring';

/** The cluster fields topology depends on; the wire `Cluster` fits as is. */
export interface TopologyCluster {
  Name?: string;
  NSlaves?: number;
  Monitoring?: boolean;
  MasterFlavor?: string;
  SlavesFlavor?: string;
  StorageFlavor?: string;
  MonitoringFlavor?: string;
}

export interface PlanService {
  Type?: string;
  Version?: string;
}

export interface PlacedService {
  Type: string;
  /** As given by the cluster (may be empty: defaulting the version is the resolver's job). */
  Version?: string;
}

export interface NodePlan {
  role: NodeRole;
  /** VM / host name: `<C>-master`, `<C>-slave-<n>`, `<C>-storage`, `<C>-monitoring`. */
  name: string;
  /** Ansible inventory group (and OpenStack metadata `group`): `<C>_master`, `<C>_slaves`, ... */
  group: string;
  flavor: string;
  /** Slaves only: the `<n>` of the name, from 1. */
  index?: number;
  services: PlacedService[];
}

/**
 * The node flags exactly as the original passes them to Ansible: `create_storage` always present,
 * `create_master`/`create_master_slave` only when some rule set them. The presence matters because
 * the playbooks test `create_master is defined`-style conditions.
 */
export interface NodeFlagVars {
  create_storage: boolean;
  create_master?: boolean;
  create_master_slave?: boolean;
}

/**
 * Flags from the classes of the cluster's services (one entry per service; empty = no services).
 * Any class other than storage/stand-alone counts as master-slave: that was the original's `else`.
 */
export function nodeFlagVars(classes: Iterable<string>, nSlaves: number): NodeFlagVars {
  const flags: NodeFlagVars = { create_storage: false };
  let any = false;
  for (const c of classes) {
    any = true;
    if (c === 'storage') flags.create_storage = true;
    else if (c === 'stand-alone') flags.create_master = true;
    else flags.create_master_slave = true;
  }
  if (!any && nSlaves > 0) flags.create_master_slave = true;
  else if (!any && nSlaves === 0) {
    flags.create_master = true;
    flags.create_master_slave = false;
  }
  if (flags.create_master === true && nSlaves > 0) flags.create_master_slave = true;
  return flags;
}

const slaveName = (cluster: string, n: number) => `${cluster}-slave-${n}`;
const groupOf = (cluster: string, role: NodeRole) => `${cluster}_${role === 'slave' ? 'slaves' : role}`;

function checkNSlaves(n: number, what = 'NSlaves'): void {
  if (!Number.isInteger(n) || n < 0) throw validation(`${what} must be a non-negative integer, got ${n}`);
}

/**
 * One service per type, the last one listed winning: the original keyed the cluster's services by
 * type in a map, so a second service of a type silently replaced the first. Order of first sight is
 * kept so plans read in the order the user wrote them.
 */
function uniqueByType(services: readonly PlanService[]): PlacedService[] {
  const byType = new Map<string, PlacedService>();
  for (const s of services) {
    const t = s.Type ?? '';
    byType.set(t, s.Version === undefined ? { Type: t } : { Type: t, Version: s.Version });
  }
  return [...byType.values()];
}

function placed(s: PlacedService): PlacedService {
  return { ...s };
}

/**
 * The nodes the original would create for the cluster, in the order master, slaves 1..N, storage,
 * monitoring, with the services each one runs (storage class → storage node; stand-alone → master;
 * master-slave → master and every slave). The monitoring node carries no catalog service: its
 * software (Consul in the original) is the monitoring role's business.
 *
 * Deviations, all refusals of inputs the original turned into a broken cluster: a service type
 * missing from `classes` (the original skipped it, and a cluster of only such services got no node
 * at all), a negative or fractional NSlaves, an empty cluster Name.
 */
export function planNodes(
  cluster: TopologyCluster,
  services: readonly PlanService[],
  classes: ReadonlyMap<string, ServiceClass>,
): NodePlan[] {
  const name = cluster.Name ?? '';
  if (name === '') throw requiredField('cluster', 'Name');
  const nSlaves = cluster.NSlaves ?? 0;
  checkNSlaves(nSlaves);

  const unique = uniqueByType(services);
  const classOf = (s: PlacedService): ServiceClass => {
    const c = classes.get(s.Type);
    if (c === undefined) throw notFound('service type', s.Type);
    return c;
  };
  const withClass = unique.map((s) => ({ s, c: classOf(s) }));
  const flags = nodeFlagVars(
    withClass.map((x) => x.c),
    nSlaves,
  );
  const on = (...wanted: ServiceClass[]) => withClass.filter((x) => wanted.includes(x.c)).map((x) => placed(x.s));

  const nodes: NodePlan[] = [];
  if (flags.create_master === true || flags.create_master_slave === true) {
    nodes.push({
      role: 'master',
      name: `${name}-master`,
      group: groupOf(name, 'master'),
      flavor: cluster.MasterFlavor ?? '',
      services: on('stand-alone', 'master-slave'),
    });
  }
  if (flags.create_master_slave === true) {
    // launch_async.yml loops over at least one slave even when n_slaves is 0.
    const count = Math.max(nSlaves, 1);
    for (let i = 1; i <= count; i++) {
      nodes.push({
        role: 'slave',
        name: slaveName(name, i),
        group: groupOf(name, 'slave'),
        flavor: cluster.SlavesFlavor ?? '',
        index: i,
        services: on('master-slave'),
      });
    }
  }
  if (flags.create_storage) {
    nodes.push({
      role: 'storage',
      name: `${name}-storage`,
      group: groupOf(name, 'storage'),
      flavor: cluster.StorageFlavor ?? '',
      services: on('storage'),
    });
  }
  if (cluster.Monitoring === true) {
    nodes.push({
      role: 'monitoring',
      name: `${name}-monitoring`,
      group: groupOf(name, 'monitoring'),
      flavor: cluster.MonitoringFlavor ?? '',
      services: [],
    });
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------------
// Scaling (not in the original: NSlaves was immutable there)

/** What a new slave looks like when the cluster has no slave to copy from. */
export interface SlaveTemplate {
  clusterName: string;
  flavor: string;
  services: PlacedService[];
}

/** The slave every new slave of this cluster should be: SlavesFlavor and the master-slave services. */
export function slaveTemplate(
  cluster: TopologyCluster,
  services: readonly PlanService[],
  classes: ReadonlyMap<string, ServiceClass>,
): SlaveTemplate {
  const name = cluster.Name ?? '';
  if (name === '') throw requiredField('cluster', 'Name');
  const ms = uniqueByType(services).filter((s) => {
    const c = classes.get(s.Type);
    if (c === undefined) throw notFound('service type', s.Type);
    return c === 'master-slave';
  });
  return { clusterName: name, flavor: cluster.SlavesFlavor ?? '', services: ms };
}

export interface ScalePlan {
  /** New slaves, lowest number first. */
  add: NodePlan[];
  /** Slaves to drain and delete, highest number first (the order to stop them in). */
  remove: NodePlan[];
}

const SLAVE_SUFFIX = /^(.*)-slave-([1-9][0-9]*)$/;

function slaveIndex(n: NodePlan): number {
  if (n.index !== undefined) return n.index;
  const m = SLAVE_SUFFIX.exec(n.name);
  if (m === null) throw validation(`slave node '${n.name}' has no number`);
  return Number(m[2]);
}

/**
 * Nodes to add or remove so the cluster ends with `newNSlaves` slaves. Removal takes the highest
 * numbers, so the survivors keep `-slave-1..N` and a later scale-out reuses the freed numbers; a
 * scale-out fills the lowest free numbers first for the same reason (a gap left by a lost node is
 * filled before the list grows). New slaves copy the highest-numbered existing slave (same flavor,
 * same services) unless a `template` is given, which is required when there is no slave to copy.
 *
 * Refused: adding slaves to a cluster without a master (a storage-only cluster: the original
 * ignored NSlaves there), and going below one slave while slaves run services (master-slave services
 * need a slave: the original's launch playbook created one even for NSlaves = 0).
 */
export function scalePlan(current: readonly NodePlan[], newNSlaves: number, template?: SlaveTemplate): ScalePlan {
  checkNSlaves(newNSlaves);
  const slaves = current.filter((n) => n.role === 'slave').sort((a, b) => slaveIndex(a) - slaveIndex(b));
  if (newNSlaves < 1 && slaves.some((s) => s.services.length > 0)) {
    throw validation('NSlaves must be at least 1 while the cluster has master-slave services');
  }
  if (newNSlaves === slaves.length) return { add: [], remove: [] };
  if (newNSlaves < slaves.length) {
    return { add: [], remove: slaves.slice(newNSlaves).reverse() };
  }

  if (!current.some((n) => n.role === 'master')) {
    throw validation('slaves cannot be added to a cluster without a master node');
  }
  let source: SlaveTemplate | undefined = template;
  const last = slaves[slaves.length - 1];
  if (source === undefined && last !== undefined) {
    const m = SLAVE_SUFFIX.exec(last.name);
    if (m === null) throw validation(`slave node '${last.name}' has no number`);
    source = { clusterName: m[1] as string, flavor: last.flavor, services: last.services };
  }
  if (source === undefined) throw validation('a slave template is needed to add the first slave');

  const used = new Set(slaves.map(slaveIndex));
  const add: NodePlan[] = [];
  for (let i = 1; slaves.length + add.length < newNSlaves; i++) {
    if (used.has(i)) continue;
    add.push({
      role: 'slave',
      name: slaveName(source.clusterName, i),
      group: groupOf(source.clusterName, 'slave'),
      flavor: source.flavor,
      index: i,
      services: source.services.map(placed),
    });
  }
  return { add, remove: [] };
}

// ---------------------------------------------------------------------------------------------------
// Addresses (reference §1.9)

export interface NodeAddress {
  role: NodeRole | string;
  address?: string | null;
}

function addressOf(nodes: readonly NodeAddress[], role: NodeRole): string | undefined {
  for (const n of nodes) if (n.role === role && n.address) return n.address;
  return undefined;
}

/** The cluster's `MasterIP`: the master's address, or undefined while it has none (or no master). */
export function masterIp(nodes: readonly NodeAddress[]): string | undefined {
  return addressOf(nodes, 'master');
}

/**
 * Protocol endpoints a service type publishes besides its URL (a UI): Spark's master RPC and HDFS.
 * The cluster's `HostURL` lists them, space-separated, once the operation succeeded.
 */
const ENDPOINTS: Record<string, (master: string) => string[]> = {
  spark: (m) => [`spark://${m}:7077`, `hdfs://${m}:9000`],
};

export function clusterEndpoints(services: ReadonlyArray<{ type: string }>, nodes: readonly NodeAddress[]): string {
  const m = addressOf(nodes, 'master');
  if (m === undefined) return '';
  const host = m.includes(':') && !m.startsWith('[') ? `[${m}]` : m;
  return services.flatMap((s) => ENDPOINTS[s.type]?.(host) ?? []).join(' ');
}

/**
 * A service's `URL` by the original rule: `<address>:<AccessPort>`, or the bare address when the
 * type has no AccessPort (0), with the master's address for stand-alone and master-slave services
 * and the storage node's for storage services. No scheme, as the original stored it, so clients
 * that parse URLs keep working.
 *
 * Undefined while the node has no address yet (the original left the URL unset too) and for an
 * unknown class. IPv6 addresses get brackets when a port follows: the original only ever saw IPv4,
 * and `::1:8888` would be ambiguous.
 */
export function serviceUrl(
  serviceClass: ServiceClass | string,
  accessPort: number | undefined,
  nodes: readonly NodeAddress[],
): string | undefined {
  let address: string | undefined;
  if (serviceClass === 'stand-alone' || serviceClass === 'master-slave') address = addressOf(nodes, 'master');
  else if (serviceClass === 'storage') address = addressOf(nodes, 'storage');
  if (address === undefined) return undefined;
  if (accessPort === undefined || accessPort <= 0) return address;
  const host = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `${host}:${accessPort}`;
}
