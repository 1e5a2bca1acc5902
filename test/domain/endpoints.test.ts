// The cluster's HostURL: protocol endpoints of its services on the master (spark: the master's RPC
// and HDFS), empty for services without any or before the master has an address.
import { describe, it, expect } from 'vitest';
import { clusterEndpoints } from '../../src/domain/topology.js';

const nodes = [
  { name: 'c-master', role: 'master' as const, address: '10.0.0.5' },
  { name: 'c-slave-1', role: 'slave' as const, address: '10.0.0.6' },
];

describe('clusterEndpoints', () => {
  it('names spark://<master>:7077 and hdfs://<master>:9000 for spark', () => {
    expect(clusterEndpoints([{ type: 'redis' }, { type: 'spark' }], nodes)).toBe('spark://10.0.0.5:7077 hdfs://10.0.0.5:9000');
  });
  it('is empty without such services or without a master address', () => {
    expect(clusterEndpoints([{ type: 'redis' }], nodes)).toBe('');
    expect(clusterEndpoints([{ type: 'spark' }], nodes.slice(1))).toBe('');
  });
  it('brackets an IPv6 master', () => {
    expect(clusterEndpoints([{ type: 'spark' }], [{ name: 'm', role: 'master', address: 'fd00::5' }])).toBe('spark://[fd00::5]:7077 hdfs://[fd00::5]:9000');
  });
});
