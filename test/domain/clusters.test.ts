import { describe, it, expect } from 'vitest';
import {
  CLUSTER_GENERATED_FIELDS,
  CLUSTER_IMMUTABLE_FIELDS,
  CLUSTER_REFS,
  MASTER_SLAVE_NEEDS_SLAVES,
  checkClusterUpdate,
  checkNewCluster,
  checkRetryCluster,
  checkSlaveCount,
  resolveNewClusterServices,
  type ClusterProject,
} from '../../src/domain/clusters.js';
import { BAD_NAME } from '../../src/domain/names.js';
import { MichmanError } from '../../src/domain/errors.js';
import type { Cluster, Service } from '../../src/domain/wire.js';
import type { StoredConfig, StoredDependency, StoredServiceType, StoredVersion } from '../../src/domain/stored.js';
import { thrownBy } from '../helpers/errors.js';

// ---------------------------------------------------------------------------------------------------
// Fixtures

function cfg(name: string, type: string): StoredConfig {
  return {
    ID: '',
    ParameterName: name,
    Type: type,
    DefaultValue: '',
    Required: false,
    Description: '',
    AnsibleVarName: name,
    IsList: false,
  };
}

function dep(type: string, versions: string[], def = versions[0] ?? ''): StoredDependency {
  return { ServiceType: type, ServiceVersions: versions, DefaultServiceVersion: def, Description: '' };
}

function ver(version: string, deps: StoredDependency[] = [], configs: StoredConfig[] = []): StoredVersion {
  return { ID: `v-${version}`, Version: version, Description: '', DownloadURL: '', Configs: configs, Dependencies: deps };
}

function st(name: string, cls: string, versions: StoredVersion[], healthCheck = true): StoredServiceType {
  return {
    ID: `t-${name}`,
    Type: name,
    Description: '',
    DefaultVersion: versions[0]?.Version ?? '',
    Class: cls,
    AccessPort: 0,
    Versions: versions,
    Ports: [],
    HealthCheck: healthCheck ? [{ CheckType: 'TCP', Configs: [] }] : [],
  };
}

const TYPES = new Map(
  [
    st('spark', 'master-slave', [ver('2.3.0', [], [cfg('hadoop', 'string')]), ver('3.0.0', [], [cfg('hadoop', 'string'), cfg('yarn', 'bool')])]),
    st('cassandra', 'master-slave', [ver('3.11.4', [dep('spark', ['2.3.0'])])]),
    st('redis', 'storage', [ver('latest', [], [cfg('password', 'string'), cfg('maxmemory', 'int')]), ver('7')]),
    st('postgresql', 'storage', [ver('15', [], [cfg('port', 'int')])]),
    st('jupyter', 'stand-alone', [ver('jupyter-notebook'), ver('jupyter-lab')]),
    st('jupyterhub', 'stand-alone', [ver('1.0.0', [dep('jupyter', ['jupyter-notebook', 'jupyter-lab'])])]),
    st('openpai', 'stand-alone', [ver('v1.8.0')], false),
    st('notebook_on_spark', 'stand-alone', [ver('1', [dep('spark', ['2.3.0', '3.0.0'], '2.3.0')])]),
  ].map((t) => [t.Type, t]),
);

const PROJECT: ClusterProject = {
  ID: 'p-id',
  Name: 'proj',
  DefaultImage: 'ubuntu',
  DefaultMasterFlavor: 'm.large',
  DefaultSlavesFlavor: 's.medium',
  DefaultStorageFlavor: 'st.small',
  DefaultMonitoringFlavor: 'mon.tiny',
};

function ids(): () => string {
  let n = 0;
  return () => `id-${n++ + 1}`;
}

function expectError(fn: () => unknown, message: string, errorClass = 300): MichmanError {
  const err = thrownBy(fn);
  // The original's message, then (after '; ') the valid choices we add.
  expect(err.message.startsWith(`${message}; `) ? message : err.message).toBe(message);
  expect(err.errorClass).toBe(errorClass);
  expect(err.status).toBe(400);
  return err;
}

const BAD_CLUSTER_NAME = `cluster ${BAD_NAME}`;

// ---------------------------------------------------------------------------------------------------

describe('checkNewCluster (§3.2.1 steps 3–4)', () => {
  it('fills flavors and image from the project defaults and names the cluster DisplayName-ProjectName', () => {
    const c = checkNewCluster({ DisplayName: 'spark-test', NSlaves: 3, Services: [{ Type: 'spark' }] }, PROJECT);
    expect(c).toEqual({
      DisplayName: 'spark-test',
      Name: 'spark-test-proj',
      ProjectID: 'p-id',
      NSlaves: 3,
      Services: [{ Type: 'spark' }],
      Keys: [],
      Image: 'ubuntu',
      MasterFlavor: 'm.large',
      SlavesFlavor: 's.medium',
      StorageFlavor: 'st.small',
      MonitoringFlavor: 'mon.tiny',
    });
  });

  it('keeps values the request gives, and other optional fields', () => {
    const c = checkNewCluster(
      {
        DisplayName: 'c1',
        Image: 'debian',
        MasterFlavor: 'big',
        SlavesFlavor: 'mid',
        StorageFlavor: 'disk',
        MonitoringFlavor: 'mon',
        Description: 'd',
        Monitoring: true,
        Keys: ['k1', 'k2', 'k1'],
      },
      PROJECT,
    );
    expect(c).toMatchObject({
      Image: 'debian',
      MasterFlavor: 'big',
      SlavesFlavor: 'mid',
      StorageFlavor: 'disk',
      MonitoringFlavor: 'mon',
      Description: 'd',
      Monitoring: true,
      Keys: ['k1', 'k2'],
      NSlaves: 0,
      Services: [],
    });
  });

  it('does not modify the request body', () => {
    const body: Cluster = { DisplayName: 'c1' };
    checkNewCluster(body, PROJECT);
    expect(body).toEqual({ DisplayName: 'c1' });
  });

  it('DisplayName must match the name rule; empty fails it too', () => {
    for (const bad of ['#test#', '', '1abc', 'a', 'under_score', 'sp ace']) {
      expectError(() => checkNewCluster({ DisplayName: bad }, PROJECT), BAD_CLUSTER_NAME);
    }
    expectError(() => checkNewCluster({}, PROJECT), BAD_CLUSTER_NAME);
    for (const good of ['spark-test', 'ab', 'A1-b-2']) expect(checkNewCluster({ DisplayName: good }, PROJECT).Name).toBe(`${good}-proj`);
  });

  it('each generated field must be empty', () => {
    expect(CLUSTER_GENERATED_FIELDS).toEqual(['ID', 'Name', 'OwnerID', 'HostURL', 'EntityStatus', 'ClusterType', 'MasterIP', 'ProjectID']);
    for (const f of CLUSTER_GENERATED_FIELDS) {
      expectError(() => checkNewCluster({ DisplayName: 'c1', [f]: 'x' }, PROJECT), `cluster '${f}' field is generated and can't be filled by user`);
    }
  });

  it('generated fields are reported in the original order', () => {
    const all: Cluster = { DisplayName: 'c1', NSlaves: -1 };
    for (const f of CLUSTER_GENERATED_FIELDS) all[f] = 'x';
    for (const f of CLUSTER_GENERATED_FIELDS) {
      expectError(() => checkNewCluster(all, PROJECT), `cluster '${f}' field is generated and can't be filled by user`);
      delete all[f];
    }
    expectError(() => checkNewCluster(all, PROJECT), 'NSlaves parameter must be number >= 0');
  });

  it('the name rule comes before the generated fields (checklist: body with Name/EntityStatus → 400)', () => {
    expectError(() => checkNewCluster({ DisplayName: '#x', Name: 'n', EntityStatus: 'ACTIVE' }, PROJECT), BAD_CLUSTER_NAME);
    expectError(
      () => checkNewCluster({ DisplayName: 'ok', Name: 'n', EntityStatus: 'ACTIVE' }, PROJECT),
      "cluster 'Name' field is generated and can't be filled by user",
    );
  });

  it('NSlaves < 0 is refused; 0 is fine here', () => {
    expectError(() => checkNewCluster({ DisplayName: 'c1', NSlaves: -1 }, PROJECT), 'NSlaves parameter must be number >= 0');
    expect(checkNewCluster({ DisplayName: 'c1', NSlaves: 0 }, PROJECT).NSlaves).toBe(0);
  });

  it('a cluster name that would not fit 255 characters is a 400', () => {
    const long = 'a'.repeat(251);
    expectError(
      () => checkNewCluster({ DisplayName: long }, PROJECT),
      `cluster name '${long}-proj' is longer than 255 characters; shorten DisplayName`,
    );
    expect(checkNewCluster({ DisplayName: 'a'.repeat(250) }, { ...PROJECT, Name: 'p' }).Name).toHaveLength(252);
  });

  it('exports the reference lookup order', () => {
    expect(CLUSTER_REFS).toEqual(['Image', 'MasterFlavor', 'SlavesFlavor', 'StorageFlavor', 'MonitoringFlavor']);
  });
});

describe('resolveNewClusterServices (§3.2.1 steps 7–9)', () => {
  const run = (c: Cluster) => resolveNewClusterServices(checkNewCluster(c, PROJECT), TYPES, { newId: ids() });

  it('the checklist cluster: spark-test, NSlaves 3, image ubuntu, one spark service', () => {
    expect(run({ DisplayName: 'spark-test', NSlaves: 3, Image: 'ubuntu', Services: [{ Name: 's', Type: 'spark' }] })).toEqual([
      { ID: 'id-1', Name: 's', Type: 'spark', Version: '2.3.0', Config: {} },
    ]);
  });

  it('Services absent or [] → no services', () => {
    expect(run({ DisplayName: 'c1' })).toEqual([]);
    expect(run({ DisplayName: 'c1', Services: [] })).toEqual([]);
  });

  it('requested services get fresh IDs before the appended ones; client IDs and generated fields are dropped', () => {
    const out = run({
      DisplayName: 'c1',
      Services: [{ ID: 'client', Name: 'hub', Type: 'jupyterhub', URL: 'http://evil', EntityStatus: 'X', ClusterRef: 'y' }, { Type: 'redis' }],
    });
    expect(out).toEqual([
      { ID: 'id-1', Name: 'hub', Type: 'jupyterhub', Version: '1.0.0', Config: {} },
      { ID: 'id-2', Type: 'redis', Version: 'latest', Config: {} },
      { ID: 'id-3', Name: 'hub-dependent', Type: 'jupyter', Version: 'jupyter-notebook', Config: {} },
    ]);
  });

  it('NSlaves < 1 with a master-slave service is a 400 (the original answered 200 with no body)', () => {
    expectError(() => run({ DisplayName: 'c1', Services: [{ Type: 'spark' }] }), MASTER_SLAVE_NEEDS_SLAVES);
    expectError(() => run({ DisplayName: 'c1', NSlaves: 0, Services: [{ Type: 'redis' }, { Type: 'spark' }] }), MASTER_SLAVE_NEEDS_SLAVES);
    expect(run({ DisplayName: 'c1', NSlaves: 1, Services: [{ Type: 'spark' }] })).toHaveLength(1);
  });

  it('the NSlaves rule sees appended dependencies (stand-alone service pulling master-slave spark)', () => {
    expectError(() => run({ DisplayName: 'c1', Services: [{ Type: 'notebook_on_spark' }] }), MASTER_SLAVE_NEEDS_SLAVES);
    expect(run({ DisplayName: 'c1', NSlaves: 2, Services: [{ Type: 'notebook_on_spark' }] }).map((s) => s.Type)).toEqual([
      'notebook_on_spark',
      'spark',
    ]);
  });

  it('stand-alone and storage services need no slaves', () => {
    expect(run({ DisplayName: 'c1', Services: [{ Type: 'redis' }, { Type: 'jupyter' }] })).toHaveLength(2);
  });

  it('a service with an empty Type fails', () => {
    expectError(() => run({ DisplayName: 'c1', NSlaves: 1, Services: [{ Name: 'x' }] }), "service type field can't be empty");
  });

  it('create requires a HealthCheck, as a 400', () => {
    expectError(() => run({ DisplayName: 'c1', Services: [{ Type: 'openpai' }] }), "'openpai' HealthCheck field is empty");
  });

  it('config values are validated (step 8), before the NSlaves rule (step 9)', () => {
    expectError(
      () => run({ DisplayName: 'c1', NSlaves: 0, Services: [{ Type: 'spark', Config: { nope: '1' } }] }),
      "'spark' service config param name 'nope' is not supported",
    );
    expectError(
      () => run({ DisplayName: 'c1', Services: [{ Type: 'redis', Config: { maxmemory: 'lots' } }] }),
      "'redis' service config param 'maxmemory' has incorrect value type",
    );
    expect(run({ DisplayName: 'c1', Services: [{ Type: 'redis', Config: { maxmemory: '64', password: 'p' } }] })[0]?.Config).toEqual({
      maxmemory: '64',
      password: 'p',
    });
  });

  it('resolution errors come before the NSlaves rule', () => {
    expectError(() => run({ DisplayName: 'c1', Services: [{ Type: 'spark' }, { Type: 'nosuch' }] }), "service 'nosuch' is not supported");
    expectError(
      () => run({ DisplayName: 'c1', Services: [{ Type: 'cassandra' }, { Type: 'spark', Version: '3.0.0' }] }),
      "service 'spark' has incompatible version for service 'cassandra'",
    );
  });

  it('duplicate types are refused', () => {
    expectError(() => run({ DisplayName: 'c1', Services: [{ Type: 'redis' }, { Type: 'redis' }] }), "service type 'redis' appears more than once");
  });
});

describe('checkSlaveCount', () => {
  it('applies both NSlaves rules', () => {
    expectError(() => checkSlaveCount(-1, [], TYPES), 'NSlaves parameter must be number >= 0');
    expectError(() => checkSlaveCount(0, [{ Type: 'spark' }], TYPES), MASTER_SLAVE_NEEDS_SLAVES);
    checkSlaveCount(0, [], TYPES);
    checkSlaveCount(0, [{ Type: 'redis' }, { Type: 'unknown' }], TYPES);
    checkSlaveCount(1, [{ Type: 'spark' }], TYPES);
  });
});

describe('checkRetryCluster (POST over a FAILED cluster)', () => {
  const stored: Cluster = {
    ID: 'c',
    Name: 'c1-proj',
    EntityStatus: 'FAILED',
    NSlaves: 1,
    Services: [{ ID: 's', Type: 'spark', Version: '2.3.0', Config: { hadoop: '3' } }],
  };
  it('accepts a stored cluster the catalog still supports', () => {
    checkRetryCluster(stored, TYPES);
  });
  it('re-checks the stored services and the NSlaves rule against the current catalog', () => {
    expectError(() => checkRetryCluster({ ...stored, NSlaves: 0 }, TYPES), MASTER_SLAVE_NEEDS_SLAVES);
    expectError(() => checkRetryCluster({ ...stored, Services: [{ Type: 'spark', Version: '1.0' }] }, TYPES), "'spark' service version '1.0' is not supported");
    expectError(() => checkRetryCluster({ ...stored, Services: [{ Type: 'openpai', Version: 'v1.8.0' }] }, TYPES), "'openpai' HealthCheck field is empty");
  });
});

describe('checkClusterUpdate (§3.2.2)', () => {
  const stored: Cluster = {
    ID: 'c-id',
    Name: 'c1-proj',
    DisplayName: 'c1',
    ProjectID: 'p-id',
    OwnerID: 'anonymous',
    EntityStatus: 'ACTIVE',
    NSlaves: 2,
    Image: 'ubuntu',
    MasterFlavor: 'm',
    SlavesFlavor: 's',
    StorageFlavor: 'st',
    MonitoringFlavor: 'mon',
    MasterIP: '127.0.0.2',
    Description: 'old',
    Keys: ['k1'],
    Services: [
      { ID: 's-spark', Name: 'sp', Type: 'spark', Version: '3.0.0', Config: { hadoop: '3' }, URL: '127.0.0.2:8080' },
      { ID: 's-redis', Type: 'redis', Version: 'latest', Config: {} },
    ],
  };
  const update = (body: Cluster, s: Cluster = stored) => checkClusterUpdate(s, body, TYPES, { newId: ids() });

  it('an empty body changes nothing and needs no operation', () => {
    const r = update({});
    expect(r).toEqual({ cluster: stored, added: [], addedKeys: [], operation: null });
  });

  it('status must be ACTIVE or FAILED (or MISSING), checked first', () => {
    for (const status of ['INITED', 'CREATING', 'UPDATING', 'STOPPING', 'SOMETHING']) {
      expectError(() => update({ ID: 'x' }, { ...stored, EntityStatus: status }), "cluster status must be 'ACTIVE' or 'FAILED' for UPDATE or DELETE");
    }
    for (const status of ['ACTIVE', 'FAILED', 'MISSING']) expect(update({}, { ...stored, EntityStatus: status }).operation).toBeNull();
  });

  it('each immutable field is a class 700 error, in the original order', () => {
    const fields = CLUSTER_IMMUTABLE_FIELDS.filter((f) => f !== 'NSlaves');
    expect(CLUSTER_IMMUTABLE_FIELDS).toEqual([
      'ID', 'Name', 'EntityStatus', 'NSlaves', 'HostURL', 'MasterIP', 'ProjectID', 'Image', 'OwnerID',
      'MasterFlavor', 'SlavesFlavor', 'StorageFlavor', 'MonitoringFlavor',
    ]);
    const body: Cluster = { NSlaves: -1, Services: [{ Type: 'nosuch' }] };
    for (const f of fields) body[f] = 'x';
    for (const f of fields) {
      expectError(() => update(body), `cluster field '${f}' can't be modified`, 700);
      delete body[f];
      // NSlaves sits between EntityStatus and HostURL.
      if (f === 'EntityStatus') {
        expectError(() => update(body), 'NSlaves parameter must be number >= 0');
        body.NSlaves = 2;
      }
    }
    expectError(() => update(body), "service 'nosuch' is not supported");
  });

  it('immutable fields are refused even when equal to the stored value; empty ones pass', () => {
    expectError(() => update({ Image: 'ubuntu' }), "cluster field 'Image' can't be modified", 700);
    expect(update({ ID: '', Image: '', MasterIP: '' }).operation).toBeNull();
  });

  it('Monitoring and ClusterType are ignored, as in the original', () => {
    const r = update({ Monitoring: true, ClusterType: 'x' });
    expect(r.cluster).toEqual(stored);
    expect(r.operation).toBeNull();
  });

  it('adds a service of a new type with a fresh ID, and its dependencies', () => {
    const r = update({ Services: [{ ID: 'client', Name: 'hub', Type: 'jupyterhub', URL: 'x' }] });
    expect(r.added).toEqual([
      { ID: 'id-1', Name: 'hub', Type: 'jupyterhub', Version: '1.0.0', Config: {} },
      { ID: 'id-2', Name: 'hub-dependent', Type: 'jupyter', Version: 'jupyter-notebook', Config: {} },
    ]);
    expect(r.cluster.Services).toEqual([...(stored.Services as Service[]), ...r.added]);
    expect(r.operation).toBe('update');
    expect(r.scale).toBeUndefined();
  });

  it('a dependency already in the cluster is checked against its version', () => {
    // The cluster runs spark 3.0.0; cassandra accepts only 2.3.0.
    expectError(() => update({ Services: [{ Type: 'cassandra' }] }), "service 'spark' has incompatible version for service 'cassandra'");
    const r = update({ Services: [{ Type: 'notebook_on_spark' }] });
    expect(r.added.map((s) => s.Type)).toEqual(['notebook_on_spark']);
  });

  it('a service of an existing type that asks for nothing different is accepted and ignored', () => {
    for (const s of [
      { Type: 'spark' },
      { Type: 'spark', Version: '3.0.0' },
      { Type: 'spark', Config: { hadoop: '3' } },
      { Type: 'spark', Version: '3.0.0', Config: { hadoop: '3' }, Name: 'other name' },
    ]) {
      const r = update({ Services: [s] });
      expect(r.added).toEqual([]);
      expect(r.cluster.Services).toEqual(stored.Services);
      expect(r.operation).toBeNull();
    }
  });

  it('changing an existing service is refused instead of silently ignored (§12.2-8)', () => {
    const msg = "service 'spark' already exists in the cluster; changing it is not supported";
    expectError(() => update({ Services: [{ Type: 'spark', Version: '2.3.0' }] }), msg, 700);
    expectError(() => update({ Services: [{ Type: 'spark', Config: { hadoop: '2' } }] }), msg, 700);
    expectError(() => update({ Services: [{ Type: 'spark', Config: {} }] }), msg, 700);
  });

  it('an existing service is validated against its own version, before any change is refused', () => {
    // `yarn` exists in spark 3.0.0, which the cluster runs, but not in the default 2.3.0.
    expectError(
      () => update({ Services: [{ Type: 'spark', Config: { yarn: 'true' } }] }),
      "service 'spark' already exists in the cluster; changing it is not supported",
      700,
    );
    expectError(
      () => update({ Services: [{ Type: 'spark', Version: '2.3.0', Config: { yarn: 'true' } }] }),
      "'spark' service config param name 'yarn' is not supported",
    );
    expectError(
      () => update({ Services: [{ Type: 'spark', Version: '2.3.0' }, { Type: 'redis', Config: { maxmemory: 'x' } }] }),
      "'redis' service config param 'maxmemory' has incorrect value type",
    );
  });

  it('request services are validated as on create: 400s, not the original\'s 500 "uuid generation error"', () => {
    expectError(() => update({ Services: [{ Type: 'nosuch' }] }), "service 'nosuch' is not supported");
    expectError(() => update({ Services: [{ Type: '' }] }), "service type field can't be empty");
    expectError(() => update({ Services: [{ Type: 'postgresql', Version: '9' }] }), "'postgresql' service version '9' is not supported");
    expectError(() => update({ Services: [{ Type: 'postgresql', Config: { port: 'x' } }] }), "'postgresql' service config param 'port' has incorrect value type");
  });

  it('two requested services of one type are refused (the original appended both)', () => {
    expectError(() => update({ Services: [{ Type: 'postgresql' }, { Type: 'postgresql' }] }), "service type 'postgresql' appears more than once");
    expectError(() => update({ Services: [{ Type: 'spark' }, { Type: 'spark' }] }), "service type 'spark' appears more than once");
  });

  it('update does not require a HealthCheck, as in the original', () => {
    expect(update({ Services: [{ Type: 'openpai' }] }).added).toHaveLength(1);
  });

  it('stored services are not re-validated: a type gone from the catalog does not block an update', () => {
    const s = { ...stored, Services: [...(stored.Services as Service[]), { ID: 'g', Type: 'gone', Version: '1' }] };
    expect(update({ Description: 'new' }, s).cluster.Description).toBe('new');
    expect(update({ Services: [{ Type: 'postgresql' }] }, s).added.map((x) => x.Type)).toEqual(['postgresql']);
  });

  describe('NSlaves: scale out and in', () => {
    it('a new count is a scale', () => {
      const r = update({ NSlaves: 5 });
      expect(r.scale).toEqual({ from: 2, to: 5 });
      expect(r.operation).toBe('scale');
      expect(r.cluster.NSlaves).toBe(5);
      expect(update({ NSlaves: 1 }).scale).toEqual({ from: 2, to: 1 });
    });
    it('the same count, or none, is no scale', () => {
      expect(update({ NSlaves: 2 }).scale).toBeUndefined();
      expect(update({ NSlaves: 2 }).operation).toBeNull();
      expect(update({}).cluster.NSlaves).toBe(2);
    });
    it('at least 1 with master-slave services, at least 0 otherwise', () => {
      expectError(() => update({ NSlaves: 0 }), MASTER_SLAVE_NEEDS_SLAVES);
      expectError(() => update({ NSlaves: -1 }), 'NSlaves parameter must be number >= 0');
      const noMs: Cluster = { ...stored, Services: [{ ID: 'r', Type: 'redis', Version: 'latest' }] };
      expect(update({ NSlaves: 0 }, noMs).scale).toEqual({ from: 2, to: 0 });
      const zero: Cluster = { ...noMs, NSlaves: undefined };
      expect(update({ NSlaves: 3 }, zero).scale).toEqual({ from: 0, to: 3 });
    });
    it('adding a master-slave service to a cluster without slaves needs slaves in the same request', () => {
      const zero: Cluster = { ...stored, NSlaves: 0, Services: [{ ID: 'r', Type: 'redis', Version: 'latest' }] };
      expectError(() => update({ Services: [{ Type: 'spark' }] }, zero), MASTER_SLAVE_NEEDS_SLAVES);
      const r = update({ Services: [{ Type: 'spark' }], NSlaves: 2 }, zero);
      expect(r.operation).toBe('update');
      expect(r.scale).toEqual({ from: 0, to: 2 });
      expect(r.added.map((s) => s.Type)).toEqual(['spark']);
    });
    it('a metadata-only change does not re-check stored data against the slave rule', () => {
      const legacy: Cluster = { ...stored, NSlaves: 0 };
      expect(update({ Description: 'x' }, legacy).cluster.Description).toBe('x');
    });
  });

  describe('patch', () => {
    it('Description and DisplayName are replaced; Name never follows DisplayName', () => {
      const r = update({ Description: 'new', DisplayName: 'renamed' });
      expect(r.cluster).toEqual({ ...stored, Description: 'new', DisplayName: 'renamed' });
      expect(r.cluster.Name).toBe('c1-proj');
      expect(r.operation).toBeNull();
      expect(update({ Description: '' }).cluster.Description).toBe('');
    });
    it('DisplayName follows the name rule on update too (the original skipped it)', () => {
      expectError(() => update({ DisplayName: '#bad#' }), BAD_CLUSTER_NAME);
      expectError(() => update({ DisplayName: '' }), BAD_CLUSTER_NAME);
    });
    it('Keys are appended without duplicates and never removed', () => {
      const r = update({ Keys: ['k2', 'k1', 'k2', 'k3'] });
      expect(r.cluster.Keys).toEqual(['k1', 'k2', 'k3']);
      expect(r.addedKeys).toEqual(['k2', 'k3']);
      expect(r.operation).toBe('update');
      expect(update({ Keys: [] }).cluster.Keys).toEqual(['k1']);
      expect(update({ Keys: ['k1'] }).operation).toBeNull();
    });
    it('the stored cluster is not modified', () => {
      const copy = structuredClone(stored);
      update({ Description: 'x', Keys: ['k9'], Services: [{ Type: 'jupyterhub' }], NSlaves: 4 });
      expect(stored).toEqual(copy);
    });
  });
});
