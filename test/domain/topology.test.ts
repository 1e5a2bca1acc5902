// Node topology, placement, scaling and URLs (reference launcher-services §1.6.2, §1.8.1, §1.9, §2).
import { describe, it, expect } from 'vitest';
import {
  masterIp,
  nodeFlagVars,
  planNodes,
  scalePlan,
  serviceUrl,
  slaveTemplate,
  type NodePlan,
  type TopologyCluster,
} from '../../src/domain/topology.js';
import type { Cluster, ServiceClass } from '../../src/domain/wire.js';
import { thrownBy } from '../helpers/errors.js';

// Classes of the original catalogue (reference §3.1).
const classes: ReadonlyMap<string, ServiceClass> = new Map<string, ServiceClass>([
  ['spark', 'master-slave'],
  ['slurm', 'master-slave'],
  ['jupyter', 'stand-alone'],
  ['jupyterhub', 'stand-alone'],
  ['redis', 'storage'],
  ['postgresql', 'storage'],
  ['nfs_server', 'storage'],
]);

const cluster = (over: Partial<TopologyCluster> = {}): TopologyCluster => ({
  Name: 'demo-proj',
  NSlaves: 0,
  Monitoring: false,
  MasterFlavor: 'm.large',
  SlavesFlavor: 's.medium',
  StorageFlavor: 'st.disk',
  MonitoringFlavor: 'mon.small',
  ...over,
});

const summary = (nodes: NodePlan[]) => nodes.map((n) => `${n.name}[${n.services.map((s) => s.Type).join(',')}]`);

function expectError(fn: () => unknown, errorClass: number, message: string | RegExp): void {
  const err = thrownBy(fn);
  expect(err.errorClass).toBe(errorClass);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
}

describe('nodeFlagVars — the launcher node flags (§1.6.2)', () => {
  it('no services, NSlaves > 0: create_master_slave only', () => {
    expect(nodeFlagVars([], 3)).toEqual({ create_storage: false, create_master_slave: true });
  });
  it('no services, NSlaves = 0: create_master true and create_master_slave present as false', () => {
    expect(nodeFlagVars([], 0)).toEqual({ create_storage: false, create_master: true, create_master_slave: false });
  });
  it('stand-alone with slaves also creates the slaves', () => {
    expect(nodeFlagVars(['stand-alone'], 2)).toEqual({ create_storage: false, create_master: true, create_master_slave: true });
    expect(nodeFlagVars(['stand-alone'], 0)).toEqual({ create_storage: false, create_master: true });
  });
  it('storage only sets create_storage and leaves the master flags absent', () => {
    const f = nodeFlagVars(['storage'], 4);
    expect(f).toEqual({ create_storage: true });
    expect('create_master' in f).toBe(false);
    expect('create_master_slave' in f).toBe(false);
  });
  it('any unknown class counts as master-slave, as the original else-branch did', () => {
    expect(nodeFlagVars(['weird'], 1)).toEqual({ create_storage: false, create_master_slave: true });
  });
});

describe('planNodes — node kinds and placement (§2.1, §2.4)', () => {
  it('no services, NSlaves = 0: master only', () => {
    const nodes = planNodes(cluster(), [], classes);
    expect(nodes).toEqual([
      { role: 'master', name: 'demo-proj-master', group: 'demo-proj_master', flavor: 'm.large', services: [] },
    ]);
  });

  it('no services, NSlaves = 2: master + 2 slaves without services', () => {
    const nodes = planNodes(cluster({ NSlaves: 2 }), [], classes);
    expect(summary(nodes)).toEqual(['demo-proj-master[]', 'demo-proj-slave-1[]', 'demo-proj-slave-2[]']);
    expect(nodes[1]).toEqual({
      role: 'slave',
      name: 'demo-proj-slave-1',
      group: 'demo-proj_slaves',
      flavor: 's.medium',
      index: 1,
      services: [],
    });
  });

  it('stand-alone only, NSlaves = 0: master with the service', () => {
    const nodes = planNodes(cluster(), [{ Type: 'jupyter', Version: '6.0.1' }], classes);
    expect(nodes).toEqual([
      {
        role: 'master',
        name: 'demo-proj-master',
        group: 'demo-proj_master',
        flavor: 'm.large',
        services: [{ Type: 'jupyter', Version: '6.0.1' }],
      },
    ]);
  });

  it('stand-alone with NSlaves = 2: the slaves exist but run nothing', () => {
    const nodes = planNodes(cluster({ NSlaves: 2 }), [{ Type: 'jupyter' }], classes);
    expect(summary(nodes)).toEqual(['demo-proj-master[jupyter]', 'demo-proj-slave-1[]', 'demo-proj-slave-2[]']);
  });

  it('master-slave with NSlaves = 3: master + slave-1..3, the service on all four', () => {
    const nodes = planNodes(cluster({ NSlaves: 3 }), [{ Type: 'spark', Version: '2.3.0' }], classes);
    expect(nodes.map((n) => [n.role, n.name, n.group, n.flavor, n.index])).toEqual([
      ['master', 'demo-proj-master', 'demo-proj_master', 'm.large', undefined],
      ['slave', 'demo-proj-slave-1', 'demo-proj_slaves', 's.medium', 1],
      ['slave', 'demo-proj-slave-2', 'demo-proj_slaves', 's.medium', 2],
      ['slave', 'demo-proj-slave-3', 'demo-proj_slaves', 's.medium', 3],
    ]);
    for (const n of nodes) expect(n.services).toEqual([{ Type: 'spark', Version: '2.3.0' }]);
  });

  it('master-slave with NSlaves = 0 still gets one slave, as launch_async.yml did', () => {
    expect(summary(planNodes(cluster(), [{ Type: 'spark' }], classes))).toEqual([
      'demo-proj-master[spark]',
      'demo-proj-slave-1[spark]',
    ]);
  });

  it('storage service only: the storage node alone, NSlaves ignored, no master', () => {
    const nodes = planNodes(cluster({ NSlaves: 3 }), [{ Type: 'redis' }], classes);
    expect(nodes).toEqual([
      { role: 'storage', name: 'demo-proj-storage', group: 'demo-proj_storage', flavor: 'st.disk', services: [{ Type: 'redis' }] },
    ]);
  });

  it('mixed: stand-alone and master-slave on the master, master-slave on slaves, storage on storage', () => {
    const nodes = planNodes(
      cluster({ NSlaves: 2 }),
      [{ Type: 'redis' }, { Type: 'spark' }, { Type: 'jupyter' }, { Type: 'postgresql' }, { Type: 'slurm' }],
      classes,
    );
    expect(summary(nodes)).toEqual([
      'demo-proj-master[spark,jupyter,slurm]',
      'demo-proj-slave-1[spark,slurm]',
      'demo-proj-slave-2[spark,slurm]',
      'demo-proj-storage[redis,postgresql]',
    ]);
  });

  it('Monitoring adds the monitoring node with its flavor and no catalog service', () => {
    const nodes = planNodes(cluster({ NSlaves: 1, Monitoring: true }), [{ Type: 'spark' }, { Type: 'redis' }], classes);
    expect(summary(nodes)).toEqual([
      'demo-proj-master[spark]',
      'demo-proj-slave-1[spark]',
      'demo-proj-storage[redis]',
      'demo-proj-monitoring[]',
    ]);
    expect(nodes[3]).toEqual({
      role: 'monitoring',
      name: 'demo-proj-monitoring',
      group: 'demo-proj_monitoring',
      flavor: 'mon.small',
      services: [],
    });
  });

  it('Monitoring with a storage-only cluster: storage + monitoring', () => {
    expect(summary(planNodes(cluster({ Monitoring: true }), [{ Type: 'postgresql' }], classes))).toEqual([
      'demo-proj-storage[postgresql]',
      'demo-proj-monitoring[]',
    ]);
  });

  it('two services of one type: the last one wins (the original keyed them by type)', () => {
    const nodes = planNodes(
      cluster(),
      [{ Type: 'jupyter', Version: 'a' }, { Type: 'redis' }, { Type: 'jupyter', Version: 'b' }],
      classes,
    );
    expect(nodes.map((n) => n.services)).toEqual([[{ Type: 'jupyter', Version: 'b' }], [{ Type: 'redis' }]]);
  });

  it('accepts the wire Cluster as is, absent fields as zero values', () => {
    const wire: Cluster = { Name: 'c-p', Services: [{ Type: 'spark' }], NSlaves: 1 };
    const nodes = planNodes(wire, wire.Services ?? [], classes);
    expect(nodes.map((n) => [n.name, n.flavor])).toEqual([
      ['c-p-master', ''],
      ['c-p-slave-1', ''],
    ]);
  });

  it('nodes do not share service objects', () => {
    const nodes = planNodes(cluster({ NSlaves: 2 }), [{ Type: 'spark' }], classes);
    expect(nodes[0]!.services[0]).not.toBe(nodes[1]!.services[0]);
  });

  it('refuses an unknown service type (404), negative or fractional NSlaves and an empty Name (400)', () => {
    expectError(() => planNodes(cluster(), [{ Type: 'nope' }], classes), 1000, 'service type with this name or id (nope) does not exist');
    expectError(() => planNodes(cluster({ NSlaves: -1 }), [], classes), 300, /NSlaves must be a non-negative integer/);
    expectError(() => planNodes(cluster({ NSlaves: 1.5 }), [], classes), 300, /NSlaves/);
    expectError(() => planNodes(cluster({ Name: '' }), [], classes), 300, "required cluster field 'Name' is empty");
  });
});

describe('scalePlan', () => {
  const spark = [{ Type: 'spark', Version: '3.1.2' }];

  it('scale out 2 → 4 adds slave-3 and slave-4 like the existing slaves', () => {
    const current = planNodes(cluster({ NSlaves: 2 }), spark, classes);
    const plan = scalePlan(current, 4);
    expect(plan.remove).toEqual([]);
    expect(plan.add).toEqual([3, 4].map((i) => ({
      role: 'slave',
      name: `demo-proj-slave-${i}`,
      group: 'demo-proj_slaves',
      flavor: 's.medium',
      index: i,
      services: [{ Type: 'spark', Version: '3.1.2' }],
    })));
    // The result equals what planNodes gives for the new size.
    const target = planNodes(cluster({ NSlaves: 4 }), spark, classes);
    expect([...current, ...plan.add].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...target].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('scale in 4 → 1 removes the highest-numbered slaves first', () => {
    const current = planNodes(cluster({ NSlaves: 4 }), spark, classes);
    const plan = scalePlan(current, 1);
    expect(plan.add).toEqual([]);
    expect(plan.remove.map((n) => n.name)).toEqual(['demo-proj-slave-4', 'demo-proj-slave-3', 'demo-proj-slave-2']);
  });

  it('same size: nothing to do', () => {
    expect(scalePlan(planNodes(cluster({ NSlaves: 3 }), spark, classes), 3)).toEqual({ add: [], remove: [] });
  });

  it('fills a gap left by a lost slave before growing', () => {
    const current = planNodes(cluster({ NSlaves: 3 }), spark, classes).filter((n) => n.name !== 'demo-proj-slave-2');
    expect(scalePlan(current, 4).add.map((n) => n.name)).toEqual(['demo-proj-slave-2', 'demo-proj-slave-4']);
  });

  it('reads slave numbers from the names when index is missing', () => {
    const current = planNodes(cluster({ NSlaves: 3 }), spark, classes).map(({ index: _i, ...n }) => n);
    expect(scalePlan(current, 1).remove.map((n) => n.name)).toEqual(['demo-proj-slave-3', 'demo-proj-slave-2']);
  });

  it('the first slave of a master-only cluster comes from a template', () => {
    const c = cluster();
    const services = [{ Type: 'jupyter' }];
    const current = planNodes(c, services, classes);
    expectError(() => scalePlan(current, 2), 300, 'a slave template is needed to add the first slave');
    const plan = scalePlan(current, 2, slaveTemplate(c, services, classes));
    expect(plan.add.map((n) => [n.name, n.flavor, n.services])).toEqual([
      ['demo-proj-slave-1', 's.medium', []],
      ['demo-proj-slave-2', 's.medium', []],
    ]);
    expect(summary(planNodes({ ...c, NSlaves: 2 }, services, classes)).slice(1)).toEqual(summary(plan.add));
  });

  it('slaveTemplate keeps only master-slave services', () => {
    expect(slaveTemplate(cluster(), [{ Type: 'spark' }, { Type: 'jupyter' }, { Type: 'redis' }], classes)).toEqual({
      clusterName: 'demo-proj',
      flavor: 's.medium',
      services: [{ Type: 'spark' }],
    });
  });

  it('scale in to 0 is allowed when the slaves run nothing', () => {
    const current = planNodes(cluster({ NSlaves: 2 }), [], classes);
    expect(scalePlan(current, 0).remove.map((n) => n.name)).toEqual(['demo-proj-slave-2', 'demo-proj-slave-1']);
  });

  it('refuses going below one slave with master-slave services, slaves without a master, bad counts', () => {
    const current = planNodes(cluster({ NSlaves: 2 }), spark, classes);
    expectError(() => scalePlan(current, 0), 300, 'NSlaves must be at least 1 while the cluster has master-slave services');
    const storageOnly = planNodes(cluster(), [{ Type: 'redis' }], classes);
    expectError(() => scalePlan(storageOnly, 2), 300, 'slaves cannot be added to a cluster without a master node');
    expectError(() => scalePlan(current, -1), 300, /non-negative integer/);
  });
});

describe('serviceUrl and masterIp (§1.9)', () => {
  const nodes = [
    { role: 'master', address: '10.0.0.5' },
    { role: 'slave', address: '10.0.0.6' },
    { role: 'storage', address: '10.0.0.9' },
  ];

  it('stand-alone and master-slave use the master address plus AccessPort', () => {
    expect(serviceUrl('stand-alone', 8888, nodes)).toBe('10.0.0.5:8888');
    expect(serviceUrl('master-slave', 8080, nodes)).toBe('10.0.0.5:8080');
  });

  it('storage services use the storage node', () => {
    expect(serviceUrl('storage', 5984, nodes)).toBe('10.0.0.9:5984');
  });

  it('AccessPort 0 (or absent) gives the bare address', () => {
    expect(serviceUrl('storage', 0, nodes)).toBe('10.0.0.9');
    expect(serviceUrl('master-slave', undefined, nodes)).toBe('10.0.0.5');
  });

  it('undefined while the node has no address yet, or does not exist', () => {
    expect(serviceUrl('stand-alone', 8888, [{ role: 'master' }])).toBeUndefined();
    expect(serviceUrl('stand-alone', 8888, [{ role: 'master', address: '' }])).toBeUndefined();
    expect(serviceUrl('stand-alone', 8888, [{ role: 'master', address: null }])).toBeUndefined();
    expect(serviceUrl('storage', 80, [{ role: 'master', address: '10.0.0.5' }])).toBeUndefined();
  });

  it('unknown class: no URL (the original set none)', () => {
    expect(serviceUrl('other', 80, nodes)).toBeUndefined();
  });

  it('IPv6 addresses are bracketed when a port follows', () => {
    expect(serviceUrl('stand-alone', 8888, [{ role: 'master', address: 'fd00::5' }])).toBe('[fd00::5]:8888');
    expect(serviceUrl('stand-alone', 0, [{ role: 'master', address: 'fd00::5' }])).toBe('fd00::5');
  });

  it('masterIp is the master address, undefined without one', () => {
    expect(masterIp(nodes)).toBe('10.0.0.5');
    expect(masterIp([{ role: 'storage', address: '10.0.0.9' }])).toBeUndefined();
    expect(masterIp([{ role: 'master' }])).toBeUndefined();
  });
});
