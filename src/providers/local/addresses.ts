// Loopback addresses for local nodes. Linux routes all of 127.0.0.0/8 to `lo`, so every node can have
// an address of its own and every service its standard port, with no two clusters clashing. Nothing
// outside 127.0.0.0/8 is ever handed out.
import { createHash } from 'node:crypto';

export interface AddressRange {
  /** First address of the range as a 32-bit number. */
  base: number;
  prefix: number;
  size: number;
}

export const DEFAULT_ADDRESS_BASE = '127.77.0.0/16';

const LOOPBACK = 0x7f000000;

export { parseIPv4, formatIPv4, isLoopback } from '../../host/net.js';
import { parseIPv4, formatIPv4 } from '../../host/net.js';

/** Parses `127.a.b.c/p` (p from 8 to 30; the bare address means /16); anything outside 127/8 is refused. */
export function parseRange(cidr: string): AddressRange {
  const [addr, bits] = cidr.split('/');
  const n = parseIPv4(addr ?? '');
  const prefix = bits === undefined ? 16 : Number(bits);
  if (n === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new Error(`local provider: addressBase '${cidr}' is not an IPv4 range like 127.77.0.0/16`);
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (n & mask) >>> 0;
  if ((base & 0xff000000) >>> 0 !== LOOPBACK) {
    throw new Error(`local provider: addressBase '${cidr}' is outside 127.0.0.0/8; only loopback addresses may be used`);
  }
  return { base, prefix, size: 2 ** (32 - prefix) };
}

/** Addresses we never hand out: x.y.z.0, x.y.z.255 (confusing) and 127.0.0.1 (the host's own services). */
function usable(n: number): boolean {
  const last = n & 255;
  return last !== 0 && last !== 255 && n !== 0x7f000001;
}

/**
 * The candidate addresses of a node, best first: a hash of cluster and node name picks the start,
 * then linear probing. Deterministic, so the same node always asks for the same address first.
 */
export function* candidates(range: AddressRange, clusterId: string, nodeName: string): Generator<string> {
  const h = createHash('sha256').update(`${clusterId}\0${nodeName}`).digest().readUInt32BE(0);
  const start = h % range.size;
  for (let i = 0; i < range.size; i++) {
    const n = (range.base + ((start + i) % range.size)) >>> 0;
    if (usable(n)) yield formatIPv4(n);
  }
}
