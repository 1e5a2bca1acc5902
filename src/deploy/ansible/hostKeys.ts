// Host key pinning for cloud nodes (Ansible and the health checks' ssh): a node's SSH host keys are
// read at first contact and pinned with the cluster (HostKeyPins, the store); every later contact
// reads them again and refuses, naming the node, a server that answers with other keys. ssh itself
// then checks against the pinned keys only (StrictHostKeyChecking=yes with a known_hosts file made
// from the pins), so a key swapped between the check and the connection is refused too.
// Machines Michman makes itself (nspawn) have their key from Michman and skip this.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EngineEvent, ProvisionedNode } from '../../domain/nodes.js';
import { fingerprint, normalizeKey, sameHostKeys, type HostKeyPins, type PinnedHostKey } from '../../domain/hostKeys.js';
import { run } from '../../host/run.js';
import { sleep } from '../../host/sleep.js';

export const SSH_KEYSCAN = '/usr/bin/ssh-keyscan';

export class HostKeyChangedError extends Error {
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message);
    this.name = 'HostKeyChangedError';
  }
}

/** The host keys a node's sshd offers now ("type base64" lines), read with ssh-keyscan. */
export async function scanHostKeys(address: string, signal?: AbortSignal): Promise<string[]> {
  const r = await run(SSH_KEYSCAN, ['-T', '10', '-t', 'ed25519,ecdsa,rsa', address], { timeoutMs: 30_000, okCodes: [1], ...(signal ? { signal } : {}) });
  const keys = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const k = normalizeKey(line.trim().split(/\s+/).slice(1).join(' '));
    if (k) keys.add(k);
  }
  return [...keys].sort();
}

export interface VerifyInput {
  pins: HostKeyPins;
  clusterId: string;
  /** The nodes to check (and pin when new). */
  nodes: readonly ProvisionedNode[];
  /**
   * Every node of the cluster: the known_hosts text lists their pins, whichever were checked, so
   * that concurrent writers of the cluster's file (a playbook, a health check) write the same text.
   */
  clusterNodes?: readonly ProvisionedNode[];
  signal?: AbortSignal;
  emit?(e: EngineEvent): void;
  /** For tests: how keys are read (default ssh-keyscan). */
  scan?: (address: string, signal?: AbortSignal) => Promise<string[]>;
  /** How long a node that offers no key yet is retried (sshd starting; default 60 s). */
  waitMs?: number;
}

/**
 * Checks every node's offered keys against its pin (pinning the nodes met for the first time) and
 * returns the known_hosts text of the pins. Throws HostKeyChangedError naming the first node whose
 * server answers with other keys than it was pinned with.
 */
export async function verifiedKnownHosts(o: VerifyInput): Promise<string> {
  const scan = o.scan ?? scanHostKeys;
  const pinned = new Map((await o.pins.list(o.clusterId)).map((p) => [p.node, p]));
  const nodes = o.nodes.filter((n) => n.address !== '');
  const read = async (n: ProvisionedNode): Promise<string[]> => {
    const until = Date.now() + (o.waitMs ?? 60_000);
    for (;;) {
      const keys = await scan(n.address, o.signal);
      if (keys.length > 0) return keys;
      if (Date.now() >= until || o.signal?.aborted) throw new Error(`node ${n.name} (${n.address}): its SSH server offered no host key`);
      await sleep(2000, o.signal);
    }
  };
  const results = await Promise.allSettled(
    nodes.map(async (n): Promise<PinnedHostKey> => {
      const seen = await read(n);
      const pin = pinned.get(n.name);
      if (pin && pin.serverId === n.providerId) {
        if (sameHostKeys(pin.keys, seen)) return pin;
        throw new HostKeyChangedError(
          n.name,
          `host key of node ${n.name} (${n.address}) changed: pinned at first contact on ${new Date(pin.pinnedAt).toISOString()} as ${pin.keys.map(fingerprint).join(', ')}, ` +
            `now ${seen.map(fingerprint).join(', ')}. Michman refuses to log in to it: another machine answers at its address, or its keys were replaced`,
        );
      }
      const fresh: PinnedHostKey = { node: n.name, serverId: n.providerId, address: n.address, keys: seen, pinnedAt: Date.now() };
      await o.pins.pin(o.clusterId, fresh);
      o.emit?.({ level: 'info', phase: 'deploy', node: n.name, message: `host key of ${n.name} pinned at first contact: ${seen.map(fingerprint).join(', ')}` });
      return fresh;
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof HostKeyChangedError) ?? results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const r of results) if (r.status === 'fulfilled') pinned.set(r.value.node, r.value);
  const lines: string[] = [];
  const all = new Map([...(o.clusterNodes ?? []), ...nodes].map((n) => [n.name, n]));
  for (const n of [...all.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const pin = pinned.get(n.name);
    // Only a pin of the server now in place: a node rebuilt since is pinned again at its first contact.
    if (!pin || pin.serverId !== n.providerId || n.address === '') continue;
    for (const k of pin.keys) lines.push(`${n.address} ${k}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes a known_hosts file (0600, replaced atomically: a health check may read it meanwhile). */
export async function writeKnownHosts(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}
