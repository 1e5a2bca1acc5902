// Names and addresses of the nspawn provider's host objects. Every object carries the cluster ID (a
// namespace name) or a hash of cluster and node (a link name: the kernel allows 15 bytes), so leak
// checks find them by tag, and two clusters, or two Michman data directories, never share one.
import { createHash } from 'node:crypto';

const hash = (text: string, n: number) => createHash('sha256').update(text).digest('hex').slice(0, n);

/** Network namespace of a node; the prefix `michman-<clusterId>-` is the cluster's tag. */
export function netnsName(clusterId: string, nodeName: string): string {
  return `${netnsPrefix(clusterId)}${hash(nodeName, 10)}`;
}

export function netnsPrefix(clusterId: string): string {
  return `michman-${clusterId}-`;
}

/** Host side of the node's veth pair (the namespace side is `eth0`). */
export function hostLinkName(clusterId: string, nodeName: string): string {
  return `mmv${hash(`${clusterId}/${nodeName}`, 12)}`;
}

/** The host bridge of one address range (so two ranges configured on one host do not collide). */
export function bridgeName(network: string): string {
  return `mmbr${hash(network, 8)}`;
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The container's machine name, which is also its hostname: the node name when it is a valid hostname. */
export function machineName(clusterId: string, nodeName: string): string {
  return HOSTNAME.test(nodeName) ? nodeName : `mm-${hash(`${clusterId}/${nodeName}`, 16)}`;
}

// ---------------------------------------------------------------------------------------------------
// IPv4 ranges

export interface Network {
  cidr: string;
  base: number;
  prefix: number;
  /** The host's (bridge's) address: the first usable one. */
  gateway: string;
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function isPrivate(n: number): boolean {
  const a = n >>> 24;
  const b = (n >>> 16) & 255;
  return a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168);
}

/**
 * A private range (RFC 1918) of /16 to /29: the provider creates these addresses only on its own
 * bridge and in its own namespaces, and a public range there would shadow real hosts.
 */
export function parseNetwork(cidr: string): Network {
  const [addr, bits] = cidr.split('/');
  const n = parseIPv4(addr ?? '');
  const prefix = Number(bits);
  if (n === undefined || bits === undefined || !Number.isInteger(prefix) || prefix < 16 || prefix > 29) {
    throw new Error(`nspawn_network '${cidr}' is not an IPv4 range from /16 to /29 such as 10.213.0.0/24`);
  }
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  const base = (n & mask) >>> 0;
  if (!isPrivate(base) || !isPrivate((base | ~mask) >>> 0)) {
    throw new Error(`nspawn_network '${cidr}' must be a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)`);
  }
  return { cidr: `${formatIPv4(base)}/${prefix}`, base, prefix, gateway: formatIPv4(base + 1) };
}

/** Node address candidates, best first: a hash of cluster and node picks the start, then probing. */
export function* nodeAddresses(net: Network, clusterId: string, nodeName: string): Generator<string> {
  const size = 2 ** (32 - net.prefix);
  // .0 is the network, .1 the bridge, the last one broadcast.
  const usable = size - 3;
  const start = Number.parseInt(hash(`${clusterId}/${nodeName}`, 8), 16) % usable;
  for (let i = 0; i < usable; i++) yield formatIPv4(net.base + 2 + ((start + i) % usable));
}
