// Pure parts of the nspawn provider (run by the default suite; the provider itself needs root and
// runs in `npm run test:nspawn`): names that fit the kernel's limits and carry the cluster's tag,
// and the address range rules.
import { describe, it, expect } from 'vitest';
import { bridgeName, hostLinkName, machineName, netnsName, netnsPrefix, nodeAddresses, parseNetwork } from '../../src/providers/nspawn/names.js';

describe('nspawn names and addresses', () => {
  const id = '7d1e3c52-94f3-4853-9990-9c6a7319f285';

  it('link names fit in 15 bytes; namespaces carry the cluster ID; machine names are hostnames', () => {
    expect(hostLinkName(id, 'a-very-long-cluster-name-project-slave-12').length).toBeLessThanOrEqual(15);
    expect(bridgeName('10.213.0.0/24').length).toBeLessThanOrEqual(15);
    expect(hostLinkName(id, 'x-slave-1')).not.toBe(hostLinkName(id, 'x-slave-2'));
    expect(netnsName(id, 'x-master').startsWith(netnsPrefix(id))).toBe(true);
    expect(machineName(id, 'data-e2e-master')).toBe('data-e2e-master');
    expect(machineName(id, 'bad_name.with.dots')).toMatch(/^mm-[0-9a-f]{16}$/);
  });

  it('accepts private ranges from /16 to /29 only, the bridge taking the first address', () => {
    expect(parseNetwork('10.213.0.7/24')).toMatchObject({ cidr: '10.213.0.0/24', gateway: '10.213.0.1', prefix: 24 });
    expect(parseNetwork('192.168.50.0/29').gateway).toBe('192.168.50.1');
    expect(() => parseNetwork('8.8.8.0/24')).toThrow(/private range/);
    expect(() => parseNetwork('10.0.0.0/8')).toThrow(/\/16 to \/29/);
    expect(() => parseNetwork('10.213.0.0')).toThrow(/\/16 to \/29/);
  });

  it('hands out every usable address once, never the network, the bridge or the broadcast', () => {
    const net = parseNetwork('10.213.9.0/29');
    const all = [...nodeAddresses(net, id, 'n1')];
    expect(new Set(all).size).toBe(5);
    expect(all).not.toContain('10.213.9.0');
    expect(all).not.toContain('10.213.9.1');
    expect(all).not.toContain('10.213.9.7');
    expect([...nodeAddresses(net, id, 'n1')][0]).toBe(all[0]); // deterministic first choice
  });
});
