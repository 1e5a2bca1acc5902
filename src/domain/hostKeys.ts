// SSH host keys pinned at first contact with a cloud server (trust on first use, as ssh's
// known_hosts does, but kept with the cluster so every worker and replica knows them). Pure: the
// comparison and the fingerprints; reading keys from the network is deploy/ansible/hostKeys.ts.
import { createHash } from 'node:crypto';

export interface PinnedHostKey {
  node: string;
  /** The provider's handle of the machine the keys were read from (the Nova server ID). */
  serverId: string;
  address: string;
  /** known_hosts key fields without the host: "ssh-ed25519 AAAA…", one per key type. */
  keys: string[];
  pinnedAt: number;
}

/** Where pins are kept (the store's cluster_host_keys). */
export interface HostKeyPins {
  list(clusterId: string): Promise<PinnedHostKey[]>;
  pin(clusterId: string, key: PinnedHostKey): Promise<void>;
}

/** "ssh-ed25519 AAAA… comment" → "ssh-ed25519 AAAA…"; anything else → undefined. */
export function normalizeKey(line: string): string | undefined {
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob || !/^(ssh-|ecdsa-|sk-)[A-Za-z0-9@._-]+$/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(blob)) return undefined;
  return `${type} ${blob}`;
}

/** OpenSSH's fingerprint: "ED25519 SHA256:base64-without-padding". */
export function fingerprint(key: string): string {
  const [type = '', blob = ''] = key.split(' ');
  const sha = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '');
  const kind = type.replace(/^ssh-/, '').replace(/^ecdsa-sha2-nistp\d+$/, 'ecdsa').toUpperCase();
  return `${kind} SHA256:${sha}`;
}

/**
 * Do the keys a server shows now match its pinned ones? Compared per key type: every type both
 * sides have must carry the same key, and at least one type must be shared (a server that now
 * offers only types it never showed is not the machine that was pinned).
 */
export function sameHostKeys(pinned: readonly string[], seen: readonly string[]): boolean {
  const byType = new Map(pinned.map((k) => [k.split(' ')[0], k]));
  let shared = 0;
  for (const k of seen) {
    const p = byType.get(k.split(' ')[0]);
    if (p === undefined) continue;
    if (p !== k) return false;
    shared++;
  }
  return shared > 0;
}
