// Host key pinning of cloud nodes (deploy/ansible/hostKeys.ts, domain/hostKeys.ts): first contact
// pins, the same keys pass, another key on the same server is refused naming the node, a node
// rebuilt as a new server is pinned anew; the inventory and ssh then insist on the pinned keys.
import { describe, it, expect } from 'vitest';
import { verifiedKnownHosts, HostKeyChangedError } from '../../src/deploy/ansible/hostKeys.js';
import { buildInventory } from '../../src/deploy/ansible/inventory.js';
import { sshOptions, asRoot } from '../../src/host/ssh.js';
import { fingerprint, normalizeKey, sameHostKeys, type HostKeyPins, type PinnedHostKey } from '../../src/domain/hostKeys.js';
import type { ProvisionedNode } from '../../src/domain/nodes.js';

const ED_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const ED_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const EC_A = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAAAA';

class MemoryPins implements HostKeyPins {
  readonly rows = new Map<string, PinnedHostKey>();
  async list(): Promise<PinnedHostKey[]> {
    return [...this.rows.values()];
  }
  async pin(_c: string, k: PinnedHostKey): Promise<void> {
    this.rows.set(k.node, k);
  }
}

const node = (name: string, address: string, providerId: string): ProvisionedNode => ({ name, role: 'slave', address, providerId });

describe('host key pinning', () => {
  it('compares keys per type and needs one shared type', () => {
    expect(sameHostKeys([ED_A, EC_A], [ED_A])).toBe(true);
    expect(sameHostKeys([ED_A, EC_A], [ED_B, EC_A])).toBe(false);
    expect(sameHostKeys([ED_A], [EC_A])).toBe(false);
    expect(normalizeKey(`${ED_A} root@host`)).toBe(ED_A);
    expect(normalizeKey('not a key')).toBeUndefined();
    expect(fingerprint(ED_A)).toMatch(/^ED25519 SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('pins at first contact, passes the same keys, refuses a changed key naming the node, pins a rebuilt server anew', async () => {
    const pins = new MemoryPins();
    const offered = new Map<string, string[]>([
      ['10.0.0.5', [ED_A, EC_A]],
      ['10.0.0.6', [ED_B]],
    ]);
    const scan = async (a: string) => offered.get(a) ?? [];
    const nodes = [node('c-master', '10.0.0.5', 'srv-1'), node('c-slave-1', '10.0.0.6', 'srv-2')];
    const events: string[] = [];
    const text = await verifiedKnownHosts({ pins, clusterId: 'c', nodes, scan, emit: (e) => events.push(e.message) });
    expect(text).toBe(`10.0.0.5 ${ED_A}\n10.0.0.5 ${EC_A}\n10.0.0.6 ${ED_B}\n`);
    expect(events.filter((e) => e.startsWith('host key of c-slave-1 pinned at first contact: ED25519 SHA256:'))).toHaveLength(1);
    const pinnedAt = pins.rows.get('c-master')!.pinnedAt;

    // Same keys: nothing re-pinned.
    await verifiedKnownHosts({ pins, clusterId: 'c', nodes, scan });
    expect(pins.rows.get('c-master')!.pinnedAt).toBe(pinnedAt);

    // The slave's server now answers with another key.
    offered.set('10.0.0.6', [ED_A]);
    const err = await verifiedKnownHosts({ pins, clusterId: 'c', nodes, scan }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyChangedError);
    expect((err as HostKeyChangedError).node).toBe('c-slave-1');
    expect((err as Error).message).toContain('host key of node c-slave-1 (10.0.0.6) changed');
    expect((err as Error).message).toContain(fingerprint(ED_B));
    expect(pins.rows.get('c-slave-1')!.keys).toEqual([ED_B]);

    // The node rebuilt as another server (scale in, then out): a new machine, pinned anew.
    const rebuilt = [nodes[0]!, node('c-slave-1', '10.0.0.6', 'srv-9')];
    const after = await verifiedKnownHosts({ pins, clusterId: 'c', nodes: rebuilt, scan });
    expect(after).toContain(`10.0.0.6 ${ED_A}`);
    expect(pins.rows.get('c-slave-1')).toMatchObject({ serverId: 'srv-9', keys: [ED_A] });
  });

  it('names a node that offers no key at all', async () => {
    const err = await verifiedKnownHosts({ pins: new MemoryPins(), clusterId: 'c', nodes: [node('c-master', '10.0.0.5', 's')], scan: async () => [], waitMs: 0 }).catch((e: Error) => e);
    expect((err as Error).message).toBe('node c-master (10.0.0.5): its SSH server offered no host key');
  });

  it('lists only the pins of the servers in place, checked or not', async () => {
    const pins = new MemoryPins();
    await pins.pin('c', { node: 'c-master', serverId: 'srv-1', address: '10.0.0.5', keys: [ED_A], pinnedAt: 1 });
    await pins.pin('c', { node: 'c-slave-2', serverId: 'srv-old', address: '10.0.0.8', keys: [ED_B], pinnedAt: 1 });
    const all = [node('c-master', '10.0.0.5', 'srv-1'), node('c-slave-2', '10.0.0.8', 'srv-new')];
    const text = await verifiedKnownHosts({ pins, clusterId: 'c', nodes: [all[0]!], clusterNodes: all, scan: async () => [ED_A] });
    expect(text).toBe(`10.0.0.5 ${ED_A}\n`);
  });

  it('makes ssh and Ansible insist on the pinned keys when given them, and not otherwise', () => {
    const inv = buildInventory('c', [node('c-master', '10.0.0.5', 's')], '/k', 'debian', '/run/c.known_hosts');
    expect(inv).toContain("ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/run/c.known_hosts -o GlobalKnownHostsFile=/dev/null'");
    expect(inv).toContain('ansible_user=debian ansible_become=true');
    expect(buildInventory('c', [], '/k')).toContain('StrictHostKeyChecking=no');
    expect(sshOptions('/k', '/kh').join(' ')).toContain('StrictHostKeyChecking=yes -o UserKnownHostsFile=/kh');
    expect(sshOptions('/k').join(' ')).toContain('StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null');
    expect(asRoot('root', 'sinfo')).toBe('sinfo');
    expect(asRoot('debian', "sinfo -o '%N'")).toBe(`sudo -n -- sh -c 'sinfo -o '\\''%N'\\'''`);
  });
});
