import { describe, it, expect } from 'vitest';
import {
  loadTypeClosure,
  referencedTypeNames,
  resolveServices,
  typeAndVersion,
  validateClusterServices,
} from '../../src/domain/resolver.js';
import { MichmanError } from '../../src/domain/errors.js';
import type { Service } from '../../src/domain/wire.js';
import type { StoredConfig, StoredDependency, StoredServiceType, StoredVersion } from '../../src/domain/stored.js';
import { thrownBy } from '../helpers/errors.js';

// ---------------------------------------------------------------------------------------------------
// In-memory catalog fixtures, shaped after the original's init/*.json where reference §5 names them.

function cfg(name: string, type: string, extra: Partial<StoredConfig> = {}): StoredConfig {
  return {
    ID: '',
    ParameterName: name,
    Type: type,
    DefaultValue: '',
    Required: false,
    Description: '',
    AnsibleVarName: name,
    IsList: false,
    ...extra,
  };
}

function dep(type: string, versions: string[], def = versions[0] ?? ''): StoredDependency {
  return { ServiceType: type, ServiceVersions: versions, DefaultServiceVersion: def, Description: '' };
}

function ver(version: string, deps: StoredDependency[] = [], configs: StoredConfig[] = []): StoredVersion {
  return { ID: `v-${version}`, Version: version, Description: '', DownloadURL: '', Configs: configs, Dependencies: deps };
}

function st(
  name: string,
  versions: StoredVersion[],
  opts: { cls?: string; def?: string; healthCheck?: boolean } = {},
): StoredServiceType {
  return {
    ID: `t-${name}`,
    Type: name,
    Description: '',
    DefaultVersion: opts.def ?? versions[0]?.Version ?? '',
    Class: opts.cls ?? 'stand-alone',
    AccessPort: 0,
    Versions: versions,
    Ports: [],
    HealthCheck: opts.healthCheck === false ? [] : [{ CheckType: 'TCP', Configs: [] }],
  };
}

function catalog(...types: StoredServiceType[]): Map<string, StoredServiceType> {
  return new Map(types.map((t) => [t.Type, t]));
}

const K8S_OK = ['v1.20.7', 'v1.20.6'];
const CATALOG = catalog(
  st('jupyter', [ver('jupyter-notebook'), ver('jupyter-lab'), ver('jupyter-classic')], { def: 'jupyter-notebook' }),
  st('jupyterhub', [ver('1.0.0', [dep('jupyter', ['jupyter-notebook', 'jupyter-lab'], 'jupyter-notebook')])]),
  st('spark', [ver('2.3.0'), ver('2.2.1'), ver('3.0.0')], { cls: 'master-slave', def: '2.3.0' }),
  st('cassandra', [ver('3.11.4', [dep('spark', ['2.2.1', '2.3.0'], '2.3.0')])], { cls: 'master-slave' }),
  st('kubernetes', [ver('v1.21.0'), ver('v1.20.7'), ver('v1.20.6')], { cls: 'master-slave', def: 'v1.21.0' }),
  st('openfaas', [ver('10.0.22', [dep('kubernetes', K8S_OK, 'v1.20.7')])]),
  st('openpai', [ver('v1.8.0', [dep('kubernetes', ['v1.20.7'])])], { healthCheck: false }),
  st('mariadb', [ver('latest')], { cls: 'storage' }),
  st('nfs_server', [ver('default')], { cls: 'storage' }),
  st(
    'slurm',
    [
      ver('Slurm'),
      ver('Slurm-db-nfs', [dep('mariadb', ['latest']), dep('nfs_server', ['default'])]),
      ver('Slurm-db', [dep('mariadb', ['latest'])]),
      ver('Slurm-nfs', [dep('nfs_server', ['default'])]),
    ],
    { cls: 'master-slave', def: 'Slurm' },
  ),
  st('redis', [
    ver('latest', [], [
      cfg('password', 'string'),
      cfg('maxmemory', 'int'),
      cfg('policy', 'string', { PossibleValues: ['allkeys-lru', 'noeviction'], DefaultValue: 'noeviction' }),
      cfg('dbs', 'int', { IsList: true, PossibleValues: ['[0,1]', '[1,2]'], DefaultValue: '[0,1]' }),
    ]),
    ver('7'),
  ], { cls: 'storage' }),
  // A transitive chain a → b → c (the original stopped expanding after the first level in some orders).
  st('a', [ver('1', [dep('b', ['1'])])]),
  st('b', [ver('1', [dep('c', ['1'])])]),
  st('c', [ver('1')]),
  st('nodefault', [ver('1')], { def: '' }),
  st('needs_ghost', [ver('1', [dep('ghost', ['1'])])]),
  st('needs_nohc', [ver('1', [dep('nohc', ['1'])])]),
  st('nohc', [ver('1')], { healthCheck: false }),
);

function ids(): () => string {
  let n = 0;
  return () => `id-${++n}`;
}

const create = { requireHealthCheck: true };
const resolve = (services: Service[], types = CATALOG, opts: { requireHealthCheck: boolean; startAt?: number } = create) =>
  resolveServices(services, types, { newId: ids(), ...opts });

function expectError(fn: () => unknown, message: string, errorClass = 300): MichmanError {
  const err = thrownBy(fn);
  // The original's message, then (after '; ') the valid choices we add.
  expect(err.message.startsWith(`${message}; `) ? message : err.message).toBe(message);
  expect(err.errorClass).toBe(errorClass);
  expect(err.status).toBe(400);
  return err;
}

const typesOf = (services: Service[]) => services.map((s) => `${s.Type}@${s.Version}`);

// ---------------------------------------------------------------------------------------------------

describe('resolveServices: reference §5 examples', () => {
  it('Services: [] is valid and resolves to [] (the original looped forever)', () => {
    expect(resolve([])).toEqual([]);
    expect(resolve([], new Map())).toEqual([]);
  });

  it('jupyterhub alone adds jupyter notebook named "<parent>-dependent"', () => {
    const out = resolve([{ ID: 'hub', Name: 'hub', Type: 'jupyterhub' }]);
    expect(out).toEqual([
      { ID: 'hub', Name: 'hub', Type: 'jupyterhub', Version: '1.0.0', Config: {} },
      { ID: 'id-1', Name: 'hub-dependent', Type: 'jupyter', Version: 'jupyter-notebook', Config: {} },
    ]);
  });

  it('an unnamed parent gives "-dependent", as the original concatenated', () => {
    expect(resolve([{ Type: 'jupyterhub' }])[1]?.Name).toBe('-dependent');
  });

  it('[jupyterhub, jupyter] without versions works in both orders (the original failed one)', () => {
    for (const services of [
      [{ Type: 'jupyterhub' }, { Type: 'jupyter' }],
      [{ Type: 'jupyter' }, { Type: 'jupyterhub' }],
    ]) {
      const out = resolve(services);
      expect(out).toHaveLength(2);
      expect(out.find((s) => s.Type === 'jupyter')?.Version).toBe('jupyter-notebook');
    }
  });

  it('an explicit compatible version of the dependency is kept, in both orders', () => {
    for (const services of [
      [{ Type: 'jupyterhub' }, { Type: 'jupyter', Version: 'jupyter-lab' }],
      [{ Type: 'jupyter', Version: 'jupyter-lab' }, { Type: 'jupyterhub' }],
    ]) {
      expect(typesOf(resolve(services)).sort()).toEqual(['jupyter@jupyter-lab', 'jupyterhub@1.0.0']);
    }
  });

  it('an incompatible explicit version is a 400 naming both types, in both orders', () => {
    for (const services of [
      [{ Type: 'jupyterhub' }, { Type: 'jupyter', Version: 'jupyter-classic' }],
      [{ Type: 'jupyter', Version: 'jupyter-classic' }, { Type: 'jupyterhub' }],
    ]) {
      expectError(() => resolve(services), "service 'jupyter' has incompatible version for service 'jupyterhub'");
    }
  });

  it('the compatibility check sees the defaulted version: default kubernetes is not what openfaas accepts', () => {
    expectError(
      () => resolve([{ Type: 'openfaas' }, { Type: 'kubernetes' }]),
      "service 'kubernetes' has incompatible version for service 'openfaas'",
    );
    expect(typesOf(resolve([{ Type: 'kubernetes', Version: 'v1.20.6' }, { Type: 'openfaas' }]))).toEqual([
      'kubernetes@v1.20.6',
      'openfaas@10.0.22',
    ]);
  });

  it('cassandra pulls in spark 2.3.0', () => {
    const out = resolve([{ Name: 'db', Type: 'cassandra' }]);
    expect(out[1]).toEqual({ ID: 'id-1', Name: 'db-dependent', Type: 'spark', Version: '2.3.0', Config: {} });
  });

  it('openfaas pulls in kubernetes v1.20.7', () => {
    expect(typesOf(resolve([{ Type: 'openfaas' }]))).toEqual(['openfaas@10.0.22', 'kubernetes@v1.20.7']);
  });

  it('Slurm versions pull in mariadb latest and/or nfs_server default', () => {
    expect(typesOf(resolve([{ Type: 'slurm', Version: 'Slurm-db-nfs' }]))).toEqual([
      'slurm@Slurm-db-nfs',
      'mariadb@latest',
      'nfs_server@default',
    ]);
    expect(typesOf(resolve([{ Type: 'slurm', Version: 'Slurm-db' }]))).toEqual(['slurm@Slurm-db', 'mariadb@latest']);
    expect(typesOf(resolve([{ Type: 'slurm', Version: 'Slurm-nfs' }]))).toEqual([
      'slurm@Slurm-nfs',
      'nfs_server@default',
    ]);
    expect(typesOf(resolve([{ Type: 'slurm' }]))).toEqual(['slurm@Slurm']);
  });

  it('expands a transitive chain a → b → c', () => {
    const out = resolve([{ Name: 'x', Type: 'a' }]);
    expect(out.map((s) => [s.Type, s.Name, s.ID])).toEqual([
      ['a', 'x', undefined],
      ['b', 'x-dependent', 'id-1'],
      ['c', 'x-dependent-dependent', 'id-2'],
    ]);
  });

  it('expands services after one without dependencies (the original stopped there)', () => {
    expect(typesOf(resolve([{ Type: 'redis' }, { Type: 'a' }, { Type: 'jupyterhub' }]))).toEqual([
      'redis@latest',
      'a@1',
      'jupyterhub@1.0.0',
      'b@1',
      'jupyter@jupyter-notebook',
      'c@1',
    ]);
  });

  it('the set of services does not depend on their order', () => {
    const base = [{ Type: 'c' }, { Type: 'a' }, { Type: 'jupyterhub' }, { Type: 'cassandra' }];
    const expected = typesOf(resolve(base)).sort();
    for (const perm of [[...base].reverse(), [base[2], base[0], base[3], base[1]] as Service[]]) {
      expect(typesOf(resolve(perm)).sort()).toEqual(expected);
    }
    // c already present: nothing is added for the chain's end.
    expect(typesOf(resolve([{ Type: 'c' }, { Type: 'a' }]))).toEqual(['c@1', 'a@1', 'b@1']);
  });
});

describe('resolveServices: §11 "Dependencies" checklist', () => {
  it('a version without dependencies adds nothing', () => {
    expect(resolve([{ Type: 'redis' }])).toEqual([{ Type: 'redis', Version: 'latest', Config: {} }]);
  });
  it('a dependency on a type absent from the cluster adds one service', () => {
    expect(resolve([{ Type: 'openfaas' }])).toHaveLength(2);
  });
  it('a dependency on a type present with a version outside the allowed list is an error', () => {
    expectError(
      () => resolve([{ Type: 'cassandra' }, { Type: 'spark', Version: '3.0.0' }]),
      "service 'spark' has incompatible version for service 'cassandra'",
    );
  });
});

describe('resolveServices: per-service checks, in the original order', () => {
  it('empty Type', () => {
    expectError(() => resolve([{ Name: 'x' }]), "service type field can't be empty");
    expectError(() => resolve([{ Type: '' }]), "service type field can't be empty");
  });
  it('unknown type', () => {
    expectError(() => resolve([{ Type: 'nosuch' }]), "service 'nosuch' is not supported");
  });
  it('HealthCheck is required on create only, and is a 400 (the original answered 500)', () => {
    expectError(() => resolve([{ Type: 'openpai' }]), "'openpai' HealthCheck field is empty");
    expect(typesOf(resolve([{ Type: 'openpai' }], CATALOG, { requireHealthCheck: false }))).toEqual([
      'openpai@v1.8.0',
      'kubernetes@v1.20.7',
    ]);
  });
  it('HealthCheck is required of appended dependencies too', () => {
    expectError(() => resolve([{ Type: 'needs_nohc' }]), "'nohc' HealthCheck field is empty");
  });
  it('the HealthCheck check comes before the version checks', () => {
    expectError(() => resolve([{ Type: 'openpai', Version: 'nope' }]), "'openpai' HealthCheck field is empty");
  });
  it('no version and no default version', () => {
    expectError(() => resolve([{ Type: 'nodefault' }]), "'nodefault' service version and default version are not specified");
    expect(typesOf(resolve([{ Type: 'nodefault', Version: '1' }]))).toEqual(['nodefault@1']);
  });
  it('unknown version', () => {
    expectError(() => resolve([{ Type: 'redis', Version: '0.1' }]), "'redis' service version '0.1' is not supported");
  });
  it('a dependency type missing from the map is not supported', () => {
    expectError(() => resolve([{ Type: 'needs_ghost' }]), "service 'ghost' is not supported");
  });
  it('the first failing service is reported', () => {
    expectError(() => resolve([{ Type: 'redis', Version: 'x' }, { Type: 'nosuch' }]), "'redis' service version 'x' is not supported");
    expectError(() => resolve([{ Type: 'nosuch' }, { Type: 'redis', Version: 'x' }]), "service 'nosuch' is not supported");
  });
  it('all requested services are checked before any dependency (no incompatibility over a bad service)', () => {
    expectError(() => resolve([{ Type: 'jupyterhub' }, { Type: 'jupyter', Version: 'nope' }]), "'jupyter' service version 'nope' is not supported");
  });
});

describe('resolveServices: duplicate service types (fixed §12.2-8)', () => {
  it('two services of one type are a 400, whatever their versions', () => {
    expectError(() => resolve([{ Type: 'redis' }, { Type: 'redis' }]), "service type 'redis' appears more than once");
    expectError(
      () => resolve([{ Type: 'redis', Version: 'latest' }, { Type: 'redis', Version: '7' }]),
      "service type 'redis' appears more than once",
    );
  });
  it('a requested service of a type that a dependency would add is not a duplicate', () => {
    expect(typesOf(resolve([{ Type: 'spark' }, { Type: 'cassandra' }]))).toEqual(['spark@2.3.0', 'cassandra@3.11.4']);
  });
});

describe('resolveServices: output', () => {
  it('keeps requested IDs and other fields, defaults Version and Config, never mutates its input', () => {
    const input: Service[] = [{ ID: 'mine', Name: 'n', Type: 'redis', DisplayName: 'R', Config: { password: 'p' } }];
    const snapshot = structuredClone(input);
    const out = resolve(input);
    expect(out).toEqual([{ ID: 'mine', Name: 'n', Type: 'redis', DisplayName: 'R', Config: { password: 'p' }, Version: 'latest' }]);
    expect(input).toEqual(snapshot);
  });
  it('calls newId once per appended service, in output order', () => {
    let calls = 0;
    const out = resolveServices([{ Type: 'a' }, { Type: 'openfaas' }], CATALOG, {
      requireHealthCheck: true,
      newId: () => `n${++calls}`,
    });
    expect(calls).toBe(3);
    expect(out.slice(2).map((s) => [s.Type, s.ID])).toEqual([
      ['b', 'n1'],
      ['kubernetes', 'n2'],
      ['c', 'n3'],
    ]);
  });
  it('terminates on dependency cycles and self-dependencies', () => {
    const types = catalog(
      st('p', [ver('1', [dep('q', ['1'])])]),
      st('q', [ver('1', [dep('p', ['1'])])]),
      st('self', [ver('1', [dep('self', ['1'])]), ver('2', [dep('self', ['1'])])]),
    );
    expect(typesOf(resolve([{ Type: 'p' }], types))).toEqual(['p@1', 'q@1']);
    expect(typesOf(resolve([{ Type: 'self' }], types))).toEqual(['self@1']);
    expectError(() => resolve([{ Type: 'self', Version: '2' }], types), "service 'self' has incompatible version for service 'self'");
  });
});

describe('resolveServices: two dependents of one absent type', () => {
  const types = catalog(
    st('t', [ver('1', [dep('u', ['1'])]), ver('2'), ver('3')]),
    st('u', [ver('1')]),
    st('x', [ver('1', [dep('t', ['1', '2'], '1')])]),
    st('y', [ver('1', [dep('t', ['2', '3'], '3')])]),
    st('z', [ver('1', [dep('t', ['3'], '3')])]),
    st('w', [ver('1', [dep('t', ['1'], '1')])]),
  );

  it('picks a version both accept, whatever the order', () => {
    for (const services of [[{ Type: 'x' }, { Type: 'y' }], [{ Type: 'y' }, { Type: 'x' }]]) {
      const out = resolve(services, types);
      expect(typesOf(out).sort()).toEqual(['t@2', 'x@1', 'y@1']);
      // t@1 would have pulled u; t@2 does not, and no ID was spent on the abandoned attempt.
      expect(out[2]?.ID).toBe('id-1');
    }
  });

  it('is a 400 when no version satisfies both', () => {
    expectError(() => resolve([{ Type: 'w' }, { Type: 'z' }], types), "service 't' has incompatible version for service 'z'");
    expectError(() => resolve([{ Type: 'z' }, { Type: 'w' }], types), "service 't' has incompatible version for service 'w'");
  });

  it('never changes a version the request named or defaulted', () => {
    expectError(() => resolve([{ Type: 't', Version: '1' }, { Type: 'y' }], types), "service 't' has incompatible version for service 'y'");
  });
});

describe('resolveServices: update (startAt)', () => {
  const existing: Service[] = [
    { ID: 's1', Type: 'spark', Version: '3.0.0', Config: {} },
    { ID: 'old', Type: 'retired-type', Version: '1' },
  ];
  it('existing services are neither re-checked nor expanded, but count as present', () => {
    const out = resolve([...existing, { ID: 'j', Type: 'jupyterhub' }], CATALOG, { requireHealthCheck: false, startAt: 2 });
    expect(out.slice(0, 2)).toEqual(existing);
    expect(typesOf(out.slice(2))).toEqual(['jupyterhub@1.0.0', 'jupyter@jupyter-notebook']);
  });
  it('a new service incompatible with an existing one is a 400', () => {
    expectError(
      () => resolve([...existing, { Type: 'cassandra' }], CATALOG, { requireHealthCheck: false, startAt: 2 }),
      "service 'spark' has incompatible version for service 'cassandra'",
    );
  });
  it('a new service of an existing type is a duplicate', () => {
    expectError(
      () => resolve([...existing, { Type: 'spark' }], CATALOG, { requireHealthCheck: false, startAt: 2 }),
      "service type 'spark' appears more than once",
    );
  });
});

describe('typeAndVersion', () => {
  it('returns the stored type and the defaulted version', () => {
    const { type, version } = typeAndVersion({ Type: 'spark' }, CATALOG);
    expect(type.Type).toBe('spark');
    expect(version.Version).toBe('2.3.0');
  });
});

describe('validateClusterServices', () => {
  const ok = (config: Record<string, string>) => validateClusterServices([{ Type: 'redis', Version: 'latest', Config: config }], CATALOG);

  it('accepts valid values and services without Config', () => {
    ok({ password: 'secret', maxmemory: '123456789', policy: 'noeviction', dbs: '[ 0, 1 ]' });
    validateClusterServices([{ Type: 'redis' }, { Type: 'spark', Version: '3.0.0' }], CATALOG);
  });
  it('rejects an unknown parameter', () => {
    expectError(() => ok({ nosuch: '1' }), "'redis' service config param name 'nosuch' is not supported");
  });
  it('rejects a value of the wrong type', () => {
    expectError(() => ok({ maxmemory: 'not INT' }), "'redis' service config param 'maxmemory' has incorrect value type");
    expectError(() => ok({ dbs: '1' }), "'redis' service config param 'dbs' has incorrect value type");
  });
  it('rejects a value outside PossibleValues', () => {
    expectError(() => ok({ policy: 'volatile-lru' }), "'redis' service config param 'policy' value is not supported");
    expectError(() => ok({ dbs: '[1, 0]' }), "'redis' service config param 'dbs' value is not supported");
  });
  it('checks against the service version, not the type default', () => {
    expectError(
      () => validateClusterServices([{ Type: 'redis', Version: '7', Config: { password: 'x' } }], CATALOG),
      "'redis' service config param name 'password' is not supported",
    );
  });
  it('reports type and version errors too', () => {
    expectError(() => validateClusterServices([{ Type: '' }], CATALOG), "service type field can't be empty");
    expectError(() => validateClusterServices([{ Type: 'nosuch' }], CATALOG), "service 'nosuch' is not supported");
    expectError(() => validateClusterServices([{ Type: 'redis', Version: '9' }], CATALOG), "'redis' service version '9' is not supported");
  });
  it('reports the first bad key in sorted order', () => {
    expectError(() => ok({ zz: '1', maxmemory: 'x', aa: '1' }), "'redis' service config param name 'aa' is not supported");
  });
});

describe('referencedTypeNames / loadTypeClosure', () => {
  const pick = (...names: string[]) => new Map(names.map((n) => [n, CATALOG.get(n) as StoredServiceType]));

  it('names the services\' own types first, then their dependencies as types become known', () => {
    const services = [{ Type: 'a' }, { Type: 'redis' }];
    expect(referencedTypeNames(services, new Map()).sort()).toEqual(['a', 'redis']);
    expect(referencedTypeNames(services, pick('a', 'redis'))).toEqual(['b']);
    expect(referencedTypeNames(services, pick('a', 'redis', 'b'))).toEqual(['c']);
    expect(referencedTypeNames(services, pick('a', 'redis', 'b', 'c'))).toEqual([]);
    expect(referencedTypeNames([], new Map())).toEqual([]);
  });

  it('follows the version a service asks for', () => {
    expect(referencedTypeNames([{ Type: 'slurm' }], pick('slurm'))).toEqual([]);
    expect(referencedTypeNames([{ Type: 'slurm', Version: 'Slurm-db-nfs' }], pick('slurm'))).toEqual(['mariadb', 'nfs_server']);
  });

  it('follows every version a dependency may take', () => {
    const types = catalog(
      st('t', [ver('1'), ver('2', [dep('u', ['1'])])]),
      st('x', [ver('1', [dep('t', ['1', '2'], '1')])]),
    );
    expect(referencedTypeNames([{ Type: 'x' }], types)).toEqual(['u']);
  });

  it('loadTypeClosure loads until closed and asks for an unknown name once', async () => {
    const asked: string[][] = [];
    const load = async (names: string[]) => {
      asked.push([...names].sort());
      return names.map((n) => CATALOG.get(n)).filter((t): t is StoredServiceType => t !== undefined);
    };
    const types = await loadTypeClosure([{ Type: 'a' }, { Type: 'jupyterhub' }, { Type: 'ghost' }], new Map(), load);
    expect([...types.keys()].sort()).toEqual(['a', 'b', 'c', 'jupyter', 'jupyterhub']);
    expect(asked).toEqual([['a', 'ghost', 'jupyterhub'], ['b', 'jupyter'], ['c']]);
    expectError(() => resolve([{ Type: 'a' }, { Type: 'ghost' }], types), "service 'ghost' is not supported");
    expect(typesOf(resolve([{ Type: 'a' }, { Type: 'jupyterhub' }], types))).toHaveLength(5);
  });

  it('loadTypeClosure starts from the known types', async () => {
    let calls = 0;
    const types = await loadTypeClosure([{ Type: 'redis' }], pick('redis'), async () => {
      calls++;
      return [];
    });
    expect(calls).toBe(0);
    expect([...types.keys()]).toEqual(['redis']);
  });
});
