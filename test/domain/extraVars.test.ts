// Ansible extra-vars (reference launcher-services §1.6): names, presence, typing and precedence.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REDACTED,
  buildExtraVars,
  convertParamValue,
  needsRegistryLogin,
  redactExtraVars,
  secretVarNames,
  serializeExtraVars,
  type ExtraVars,
  type ExtraVarsInput,
  type ExtraVarsParam,
  type ExtraVarsServiceType,
  type ExtraVarsSettings,
} from '../../src/domain/extraVars.js';
import { nodeFlagVars, planNodes } from '../../src/domain/topology.js';
import { checkNewServiceType, type TypeLookup } from '../../src/domain/catalog.js';
import { MichmanError } from '../../src/domain/errors.js';
import type { StoredServiceType } from '../../src/domain/stored.js';
import type { MichmanConfig } from '../../src/config/schema.js';
import type { Cluster, ServiceClass } from '../../src/domain/wire.js';
import { thrownBy } from '../helpers/errors.js';

// Compile-time: the stored catalog and the loaded config are accepted without adapters.
const _storedFits = (t: StoredServiceType): ExtraVarsServiceType => t;
const _configFits = (c: MichmanConfig): ExtraVarsSettings => c;
void _storedFits;
void _configFits;

function expectError(fn: () => unknown, errorClass: number, message: string | RegExp): MichmanError {
  const err = thrownBy(fn);
  expect(err.errorClass).toBe(errorClass);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  return err;
}

// ---------------------------------------------------------------------------------------------------
// A small hand-written catalog in the stored shape (AnsibleVarName = <type>_<param>).

const param = (type: string, p: Partial<ExtraVarsParam> & { ParameterName: string }): ExtraVarsParam => ({
  Type: 'string',
  DefaultValue: '',
  Required: false,
  IsList: false,
  AnsibleVarName: `${type}_${p.ParameterName}`,
  ...p,
});

const notSupported = [{ CheckType: 'NotSupported', Configs: [] }];

const catalog: ExtraVarsServiceType[] = [
  {
    Type: 'spark',
    DefaultVersion: '2.3.0',
    Class: 'master-slave',
    Versions: [
      {
        Version: '2.3.0',
        Configs: [
          param('spark', { ParameterName: 'hadoop_version', DefaultValue: '2.7', Required: true }),
          param('spark', { ParameterName: 'use_yarn', Type: 'bool', DefaultValue: 'false', Required: true }),
          param('spark', { ParameterName: 'worker_mem_mb', Type: 'int', DefaultValue: '10240', Required: true }),
          param('spark', { ParameterName: 'optional_note', DefaultValue: 'unused', Required: false }),
        ],
      },
      { Version: '1.6.2', Configs: [param('spark', { ParameterName: 'hadoop_version', DefaultValue: '2.6', Required: true })] },
    ],
    HealthCheck: [
      {
        CheckType: 'TCP',
        Configs: [
          { ParameterName: 'sparkHealthInterval', Type: 'string', DefaultValue: '5s', Required: true, AnsibleVarName: 'spark_health_interval', IsList: false },
          { ParameterName: 'sparkHealthOptional', Type: 'string', DefaultValue: 'x', Required: false, AnsibleVarName: 'spark_health_optional', IsList: false },
        ],
      },
    ],
  },
  {
    Type: 'jupyter',
    DefaultVersion: 'jupyter-notebook',
    Class: 'stand-alone',
    Versions: [
      { Version: 'jupyter-notebook', Configs: [param('jupyter', { ParameterName: 'install_irkernel', Type: 'bool', DefaultValue: 'false', Required: true })] },
    ],
    HealthCheck: notSupported,
  },
  {
    Type: 'redis',
    DefaultVersion: 'latest',
    Class: 'storage',
    Versions: [
      { Version: 'latest', Configs: [param('redis', { ParameterName: 'db_password', DefaultValue: 'dbpassword', Required: true })] },
    ],
    HealthCheck: [
      {
        CheckType: 'Script',
        Configs: [
          { ParameterName: 'redisHealthInterval', Type: 'string', DefaultValue: '5s', Required: true, AnsibleVarName: 'redis_health_interval', IsList: false },
        ],
      },
    ],
  },
  {
    Type: 'slurm',
    DefaultVersion: 'Slurm',
    Class: 'master-slave',
    Versions: [
      {
        Version: 'Slurm',
        Configs: [param('slurm', { ParameterName: 'partitions', IsList: true, DefaultValue: '["main:all"]', Required: true })],
      },
    ],
    HealthCheck: notSupported,
  },
];

const classes = new Map<string, ServiceClass>(catalog.map((t) => [t.Type!, t.Class as ServiceClass]));

function input(over: Partial<ExtraVarsInput> = {}, cluster: Cluster = {}): ExtraVarsInput {
  return {
    action: 'create',
    catalog,
    image: { CloudImageID: 'img-uuid', AnsibleUser: 'ubuntu' },
    sshPrivateKeyFile: '/var/lib/michman/keys/c1',
    ...over,
    cluster: {
      Name: 'demo-proj',
      NSlaves: 0,
      OwnerID: 'alice',
      Monitoring: false,
      MasterFlavor: 'm.large',
      SlavesFlavor: 's.medium',
      StorageFlavor: 'st.disk',
      MonitoringFlavor: 'mon.small',
      Services: [],
      ...cluster,
    },
  };
}

// The fixed part every run carries (§1.6.2), for a create with no settings, creds or keys.
const FIXED = {
  act: 'launch',
  ansible_ssh_private_key_file: '/var/lib/michman/keys/c1',
  ansible_user: 'ubuntu',
  apt_mirror_address: '',
  boot_from_volume: false,
  cluster_name: 'demo-proj',
  cluster_owner: 'alice',
  create_cluster: true,
  create_monitoring: false,
  docker_cert_path: '',
  docker_gitlab_registry: false,
  docker_insecure_registry: false,
  docker_insecure_registry_ip: '',
  docker_selfsigned_registry: false,
  docker_selfsigned_registry_ip: '',
  docker_selfsigned_registry_port: '',
  docker_selfsigned_registry_url: '',
  floating_ip_pool: '',
  hadoop_user: 'ubuntu',
  master_flavor: 'm.large',
  monitoring_flavor: 'mon.small',
  mountnfs: false,
  n_slaves: 0,
  os_auth_url: '',
  os_image: 'img-uuid',
  os_key_name: '',
  os_project_name: '',
  os_swift_password: '',
  os_swift_user_name: '',
  pip_mirror_address: '',
  pip_trusted_host: '',
  skip_packages: false,
  slaves_flavor: 's.medium',
  spark_extra_jars: [],
  storage_flavor: 'st.disk',
  sync: 'async',
  use_oracle_java: false,
  use_package_mirror: false,
  use_pip_mirror: false,
  virtual_network: '',
  yum_mirror_address: '',
};

// ---------------------------------------------------------------------------------------------------

describe('buildExtraVars — whole objects', () => {
  it('no services, NSlaves = 0: every type false, master only', () => {
    const vars = buildExtraVars(input());
    expect(vars).toEqual({
      ...FIXED,
      create_storage: false,
      create_master: true,
      create_master_slave: false,
      deploy_spark: false,
      deploy_jupyter: false,
      deploy_redis: false,
      deploy_slurm: false,
    });
  });

  it('jupyter + redis: versions, required defaults, health defaults, node flags', () => {
    const vars = buildExtraVars(input({}, { Services: [{ Type: 'jupyter' }, { Type: 'redis', Config: { db_password: 's3cret' } }] }));
    expect(vars).toEqual({
      ...FIXED,
      create_storage: true,
      create_master: true,
      deploy_spark: false,
      deploy_jupyter: true,
      jupyter_version: 'jupyter-notebook',
      jupyter_install_irkernel: false,
      deploy_redis: true,
      redis_version: 'latest',
      redis_db_password: 's3cret',
      redis_health_interval: '5s',
      deploy_slurm: false,
    });
    // stand-alone without slaves: create_master_slave stays absent (not false).
    expect(Object.hasOwn(vars, 'create_master_slave')).toBe(false);
  });

  it('keys come out sorted, as Go encoded its map', () => {
    const keys = Object.keys(buildExtraVars(input({}, { Services: [{ Type: 'spark' }] })));
    expect(keys).toEqual([...keys].sort());
  });
});

describe('buildExtraVars — per service type (§1.6.1)', () => {
  it('deploy_<type> for every catalog type; <type>_version only for deployed ones (original quirk)', () => {
    const vars = buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark', Version: '1.6.2' }] }));
    expect(vars.deploy_spark).toBe(true);
    expect(vars.spark_version).toBe('1.6.2');
    for (const t of ['jupyter', 'redis', 'slurm']) {
      expect(vars[`deploy_${t}`]).toBe(false);
      expect(Object.hasOwn(vars, `${t}_version`)).toBe(false);
    }
  });

  it('the chosen version decides the parameters (1.6.2 has only hadoop_version)', () => {
    const vars = buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark', Version: '1.6.2' }] }));
    expect(vars.spark_hadoop_version).toBe('2.6');
    expect(Object.hasOwn(vars, 'spark_use_yarn')).toBe(false);
  });

  it('an empty or absent Version means the type DefaultVersion', () => {
    for (const svc of [{ Type: 'spark' }, { Type: 'spark', Version: '' }]) {
      const vars = buildExtraVars(input({}, { NSlaves: 1, Services: [svc] }));
      expect(vars.spark_version).toBe('2.3.0');
      expect(vars.spark_hadoop_version).toBe('2.7');
    }
  });

  it('user value, else DefaultValue when Required, else nothing', () => {
    const vars = buildExtraVars(
      input({}, { NSlaves: 1, Services: [{ Type: 'spark', Config: { hadoop_version: '2.6', optional_note: 'hi' } }] }),
    );
    expect(vars.spark_hadoop_version).toBe('2.6'); // user value
    expect(vars.spark_use_yarn).toBe(false); // required default, typed
    expect(vars.spark_worker_mem_mb).toBe(10240);
    expect(vars.spark_optional_note).toBe('hi'); // not required, but set by the user
    const without = buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark' }] }));
    expect(Object.hasOwn(without, 'spark_optional_note')).toBe(false);
  });

  it('list parameters arrive as arrays (slurm partitions)', () => {
    const vars = buildExtraVars(input({}, { NSlaves: 2, Services: [{ Type: 'slurm', Config: { partitions: '["main:5", "p1:2"]' } }] }));
    expect(vars.slurm_partitions).toEqual(['main:5', 'p1:2']);
    const def = buildExtraVars(input({}, { NSlaves: 2, Services: [{ Type: 'slurm' }] }));
    expect(def.slurm_partitions).toEqual(['main:all']);
  });

  it('health-check parameters of HealthCheck[0]: Required defaults, optional ones omitted', () => {
    const vars = buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark' }] }));
    expect(vars.spark_health_interval).toBe('5s');
    expect(Object.hasOwn(vars, 'spark_health_optional')).toBe(false);
  });

  it('a user value under a health ParameterName is used (the original looked it up too)', () => {
    const vars = buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark', Config: { sparkHealthInterval: '30s', sparkHealthOptional: 'y' } }] }));
    expect(vars.spark_health_interval).toBe('30s');
    expect(vars.spark_health_optional).toBe('y');
  });

  it('NotSupported, a missing HealthCheck list, later entries and unnamed health vars add nothing', () => {
    const hc = (checks: ExtraVarsServiceType['HealthCheck']): ExtraVarsServiceType[] => [
      {
        Type: 'x',
        DefaultVersion: 'v',
        Class: 'stand-alone',
        Versions: [{ Version: 'v', Configs: [] }],
        HealthCheck: checks,
      },
    ];
    const cfg = { ParameterName: 'h', Type: 'string', DefaultValue: 'd', Required: true, AnsibleVarName: 'x_h' };
    const run = (checks: ExtraVarsServiceType['HealthCheck']) =>
      buildExtraVars(input({ catalog: hc(checks) }, { Services: [{ Type: 'x' }] }));
    expect(Object.hasOwn(run([{ CheckType: 'NotSupported', Configs: [cfg] }]), 'x_h')).toBe(false);
    // The original panicked on an empty list (tensorflow, openpai).
    expect(run([]).deploy_x).toBe(true);
    expect(run(undefined).deploy_x).toBe(true);
    expect(Object.hasOwn(run([{ CheckType: 'NotSupported' }, { CheckType: 'TCP', Configs: [cfg] }]), 'x_h')).toBe(false);
    expect(run([{ CheckType: 'TCP', Configs: [cfg] }]).x_h).toBe('d');
    // Any CheckType other than NotSupported counts, even an absent one (Go compared with "").
    expect(run([{ Configs: [cfg] }]).x_h).toBe('d');
    const unnamed = run([{ CheckType: 'TCP', Configs: [{ ...cfg, AnsibleVarName: '' }] }]);
    expect(Object.hasOwn(unnamed, '')).toBe(false);
  });

  it('the last service of a type wins', () => {
    const vars = buildExtraVars(
      input({}, { NSlaves: 1, Services: [{ Type: 'spark', Version: '1.6.2' }, { Type: 'spark', Version: '2.3.0', Config: { hadoop_version: '2.6' } }] }),
    );
    expect(vars.spark_version).toBe('2.3.0');
    expect(vars.spark_hadoop_version).toBe('2.6');
  });

  it('a version config without AnsibleVarName falls back to <type>_<param>', () => {
    const cat: ExtraVarsServiceType[] = [
      { Type: 't', DefaultVersion: 'v', Class: 'storage', Versions: [{ Version: 'v', Configs: [{ ParameterName: 'p', Type: 'int', DefaultValue: '3', Required: true }] }], HealthCheck: notSupported },
    ];
    expect(buildExtraVars(input({ catalog: cat }, { Services: [{ Type: 't' }] })).t_p).toBe(3);
  });

  it('later writes win, in the original order: param over <type>_version, fixed vars over params', () => {
    const cat: ExtraVarsServiceType[] = [
      {
        Type: 'cluster',
        DefaultVersion: 'v',
        Class: 'storage',
        Versions: [
          {
            Version: 'v',
            Configs: [
              param('cluster', { ParameterName: 'version', DefaultValue: 'from-param', Required: true }),
              param('cluster', { ParameterName: 'name', DefaultValue: 'from-param', Required: true }),
            ],
          },
        ],
        HealthCheck: notSupported,
      },
    ];
    const vars = buildExtraVars(input({ catalog: cat }, { Services: [{ Type: 'cluster' }] }));
    expect(vars.cluster_version).toBe('from-param');
    expect(vars.cluster_name).toBe('demo-proj');
  });

  it('refuses a service type missing from the catalog and a version missing from its type (404)', () => {
    expectError(() => buildExtraVars(input({}, { Services: [{ Type: 'ghost' }] })), 1000, 'service type with this name or id (ghost) does not exist');
    expectError(
      () => buildExtraVars(input({}, { Services: [{ Type: 'spark', Version: '9.9' }] })),
      1000,
      'service version with this name or id (spark 9.9) does not exist',
    );
  });

  it('a value that does not convert aborts, naming the parameter but never the value', () => {
    const err = expectError(
      () => buildExtraVars(input({}, { NSlaves: 1, Services: [{ Type: 'spark', Config: { worker_mem_mb: 'lots-of-secret' } }] })),
      300,
      "'spark' service config param 'worker_mem_mb' value can't be converted to int",
    );
    expect(err.message).not.toContain('lots-of-secret');
    // A Required default that is not type-valid (defaults without PossibleValues are never checked).
    const cat: ExtraVarsServiceType[] = [
      { Type: 'b', DefaultVersion: 'v', Class: 'storage', Versions: [{ Version: 'v', Configs: [param('b', { ParameterName: 'n', Type: 'int', DefaultValue: '', Required: true })] }], HealthCheck: notSupported },
    ];
    expectError(() => buildExtraVars(input({ catalog: cat }, { Services: [{ Type: 'b' }] })), 300, /'n' value can't be converted to int/);
  });
});

describe('convertParamValue — typing of each parameter kind', () => {
  const conv = (Type: string, value: string, IsList = false) => convertParamValue('t', { ParameterName: 'p', Type, IsList }, value);

  it('int: 32-bit decimal, as a number', () => {
    expect(conv('int', '10240')).toBe(10240);
    expect(conv('int', '+5')).toBe(5);
    expect(conv('int', '007')).toBe(7);
    expect(Object.is(conv('int', '-0'), 0)).toBe(true);
    expect(conv('int', '-2147483648')).toBe(-2147483648);
    for (const bad of ['2147483648', '1.0', '1e3', '0x10', ' 1', '']) expect(() => conv('int', bad), bad).toThrow(MichmanError);
  });

  it('float: decimals, exponents, underscores and hex floats as Go parses them', () => {
    expect(conv('float', '1.5')).toBe(1.5);
    expect(conv('float', '1e3')).toBe(1000);
    expect(conv('float', '.5')).toBe(0.5);
    expect(conv('float', '+2.')).toBe(2);
    expect(conv('float', '1_000.5')).toBe(1000.5);
    expect(Object.is(conv('float', '-0'), -0)).toBe(true);
    expect(conv('float', '0x1p-2')).toBe(0.25);
    expect(conv('float', '0x1.8p1')).toBe(3);
    expect(conv('float', '-0x.8p1')).toBe(-1);
    expect(conv('float', '0x1_0p0')).toBe(16);
    expect(conv('float', '0x1p-1074')).toBe(5e-324);
    expect(conv('float', '0x1p-1075')).toBe(0); // exactly half the smallest subnormal: ties to even
    expect(conv('float', '0x1.8p-1075')).toBe(5e-324);
    expect(conv('float', '0x1.00000000000008p0')).toBe(1); // 1 + 2^-53: tie, rounds to even
    expect(conv('float', '0x1.00000000000018p0')).toBe(1 + 2 ** -51);
    expect(conv('float', '0x1.fffffffffffffp1023')).toBe(Number.MAX_VALUE);
    for (const bad of ['1e400', '0x1p1024', 'abc', '', '1__0', '+nan']) expect(() => conv('float', bad), bad).toThrow(MichmanError);
  });

  it('float: non-finite values stay numbers (serializeExtraVars writes them as Infinity/NaN tokens)', () => {
    for (const v of ['+Inf', 'inf', 'Infinity', '+INFINITY']) expect(conv('float', v), v).toBe(Infinity);
    for (const v of ['-Inf', '-infinity']) expect(conv('float', v), v).toBe(-Infinity);
    for (const v of ['NaN', 'nan', 'nAn']) expect(Number.isNaN(conv('float', v)), v).toBe(true);
  });

  it("bool: Go's ParseBool words", () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(conv('bool', v), v).toBe(true);
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(conv('bool', v), v).toBe(false);
    for (const bad of ['yes', 'tRuE', '', 'on']) expect(() => conv('bool', bad), bad).toThrow(MichmanError);
  });

  it('string: unchanged, even empty or JSON-looking', () => {
    expect(conv('string', '')).toBe('');
    expect(conv('string', ' [1] ')).toBe(' [1] ');
  });

  it('lists: the decoded JSON array; null stays null, null elements become zero values', () => {
    expect(conv('string', '["main:5","p1:2"]', true)).toEqual(['main:5', 'p1:2']);
    expect(conv('string', '["a", null]', true)).toEqual(['a', '']);
    expect(conv('int', '[1, -2, null]', true)).toEqual([1, -2, 0]);
    expect(conv('float', '[0.0, null, 1.2, -0]', true)).toEqual([0, 0, 1.2, -0]);
    expect(conv('bool', '[true, null, false]', true)).toEqual([true, false, false]);
    expect(conv('int', 'null', true)).toBeNull();
    expect(conv('string', '[]', true)).toEqual([]);
  });

  it('int lists keep int64 values beyond 2^53 exactly (as bigint)', () => {
    expect(conv('int', '[9007199254740993, 9223372036854775807, -9223372036854775808, 5]', true)).toEqual([
      9007199254740993n,
      9223372036854775807n,
      -9223372036854775808n,
      5,
    ]);
  });

  it('bad lists and unknown types abort', () => {
    for (const [t, v] of [['int', '[1.5]'], ['int', '"1"'], ['bool', '[1]'], ['string', '[1]'], ['float', '[1e400]'], ['string', '']] as const) {
      expect(() => conv(t, v, true), `${t} ${v}`).toThrow(MichmanError);
    }
    expectError(() => conv('double', '1'), 300, "'t' service config param 'p' value can't be converted to double");
    expectError(() => conv('', '1'), 300, "'t' service config param 'p' value can't be converted to an unknown type");
    expectError(() => conv('int', 'x', true), 300, "'t' service config param 'p' value can't be converted to a list of int");
  });
});

describe('buildExtraVars — node flags (§1.6.2 post-rules) agree with planNodes', () => {
  const cases: Array<[string, number, string[]]> = [
    ['no services, 0 slaves', 0, []],
    ['no services, 3 slaves', 3, []],
    ['stand-alone, 0 slaves', 0, ['jupyter']],
    ['stand-alone, 2 slaves', 2, ['jupyter']],
    ['master-slave, 3 slaves', 3, ['spark']],
    ['storage only, 3 slaves', 3, ['redis']],
    ['mixed', 2, ['spark', 'jupyter', 'redis']],
    ['stand-alone + storage', 0, ['jupyter', 'redis']],
  ];
  for (const [title, nSlaves, types] of cases) {
    it(title, () => {
      const services = types.map((Type) => ({ Type }));
      const vars = buildExtraVars(input({}, { NSlaves: nSlaves, Services: services }));
      const flags = nodeFlagVars(types.map((t) => classes.get(t)!), nSlaves);
      const pick = (v: ExtraVars) =>
        Object.fromEntries(['create_storage', 'create_master', 'create_master_slave'].filter((k) => Object.hasOwn(v, k)).map((k) => [k, v[k]]));
      expect(pick(vars)).toEqual(flags);
      const roles = planNodes({ Name: 'c', NSlaves: nSlaves }, services, classes).map((n) => n.role);
      expect(roles.includes('master')).toBe(vars.create_master === true || vars.create_master_slave === true);
      expect(roles.includes('slave')).toBe(vars.create_master_slave === true);
      expect(roles.includes('storage')).toBe(vars.create_storage === true);
    });
  }
});

describe('buildExtraVars — cluster-level and pass-through variables', () => {
  it('create / update / delete set act and create_cluster', () => {
    expect(buildExtraVars(input({ action: 'create' }))).toMatchObject({ act: 'launch', create_cluster: true });
    expect(buildExtraVars(input({ action: 'update' }))).toMatchObject({ act: 'launch', create_cluster: false });
    expect(buildExtraVars(input({ action: 'delete' }))).toMatchObject({ act: 'destroy', create_cluster: false });
  });

  it('Monitoring: create_monitoring always, deploy_consul only when on', () => {
    const on = buildExtraVars(input({}, { Monitoring: true }));
    expect(on.create_monitoring).toBe(true);
    expect(on.deploy_consul).toBe(true);
    const off = buildExtraVars(input({}, { Monitoring: false }));
    expect(off.create_monitoring).toBe(false);
    expect(Object.hasOwn(off, 'deploy_consul')).toBe(false);
  });

  it('public_keys only when the cluster has keys; cluster_owner and n_slaves always', () => {
    expect(buildExtraVars(input({}, { Keys: ['ssh-ed25519 AAAA a@b'] })).public_keys).toEqual(['ssh-ed25519 AAAA a@b']);
    expect(Object.hasOwn(buildExtraVars(input({}, { Keys: [] })), 'public_keys')).toBe(false);
    const vars = buildExtraVars(input({}, { OwnerID: undefined, NSlaves: 4 }));
    expect(vars.cluster_owner).toBe('');
    expect(vars.n_slaves).toBe(4);
  });

  it('image user and cloud image ID', () => {
    const vars = buildExtraVars(input({ image: { CloudImageID: 'deb12', AnsibleUser: 'debian' } }));
    expect(vars).toMatchObject({ ansible_user: 'debian', hadoop_user: 'debian', os_image: 'deb12' });
  });

  it('settings, OpenStack credentials and connector JARs pass through', () => {
    const settings: ExtraVarsSettings = {
      os_key_name: 'michman-key',
      virtual_network: 'net0',
      floating_ip_pool: 'None',
      use_package_mirror: true,
      use_pip_mirror: true,
      apt_mirror_address: 'http://apt.local',
      pip_mirror_address: 'http://pip.local',
      pip_trusted_host: 'pip.local',
      yum_mirror_address: 'http://yum.local',
      docker_insecure_registry: true,
      docker_insecure_registry_ip: '10.0.0.2:5000',
    };
    const vars = buildExtraVars(
      input({
        settings,
        openstack: { OS_PROJECT_NAME: 'proj', OS_AUTH_URL: 'http://keystone:5000/v3', OS_SWIFT_USERNAME: 'sw', OS_SWIFT_PASSWORD: 'swp' },
        sparkExtraJars: [{ name: 'c.jar', path: '/tmp/c.jar' }],
      }),
    );
    expect(vars).toMatchObject({
      ...settings,
      os_project_name: 'proj',
      os_auth_url: 'http://keystone:5000/v3',
      os_swift_user_name: 'sw',
      os_swift_password: 'swp',
      spark_extra_jars: [{ name: 'c.jar', path: '/tmp/c.jar' }],
      docker_selfsigned_registry: false,
      docker_cert_path: '',
    });
    expect(Object.hasOwn(vars, 'docker_logins')).toBe(false);
  });

  it('docker_logins only for self-signed or GitLab registries, with the original default user/password', () => {
    expect(needsRegistryLogin(undefined)).toBe(false);
    expect(needsRegistryLogin({ docker_insecure_registry: true })).toBe(false);
    expect(needsRegistryLogin({ docker_gitlab_registry: true })).toBe(true);
    const vars = buildExtraVars(input({ settings: { docker_selfsigned_registry: true }, registryLogin: { url: 'reg.local:5000', user: '', password: '' } }));
    expect(vars.docker_logins).toEqual([{ url: 'reg.local:5000', user: 'docker', password: 'rekcod' }]);
    const given = buildExtraVars(input({ settings: { docker_gitlab_registry: true }, registryLogin: { url: 'gl', user: 'u', password: 'p' } }));
    expect(given.docker_logins).toEqual([{ url: 'gl', user: 'u', password: 'p' }]);
    // Not needed: credentials given anyway are not handed to Ansible.
    expect(Object.hasOwn(buildExtraVars(input({ registryLogin: { url: 'x', user: 'u', password: 'p' } })), 'docker_logins')).toBe(false);
    expectError(() => buildExtraVars(input({ settings: { docker_gitlab_registry: true } })), 0, /registry credentials are required/);
  });
});

describe('serializeExtraVars', () => {
  it('equals JSON.stringify with sorted keys for ordinary values', () => {
    const vars = buildExtraVars(input({ sparkExtraJars: [{ path: '/p', name: 'n' }] }, { NSlaves: 2, Services: [{ Type: 'spark' }, { Type: 'slurm' }] }));
    const text = serializeExtraVars(vars);
    expect(JSON.parse(text)).toEqual(vars);
    expect(text.startsWith('{"act":"launch","ansible_ssh_private_key_file":')).toBe(true);
    expect(text).toContain('"spark_extra_jars":[{"name":"n","path":"/p"}]');
  });

  it('sorts nested keys (docker_logins) like Go maps', () => {
    const vars = buildExtraVars(input({ settings: { docker_gitlab_registry: true }, registryLogin: { url: 'u', user: 'a', password: 'b' } }));
    expect(serializeExtraVars(vars)).toContain('"docker_logins":[{"password":"b","url":"u","user":"a"}]');
  });

  it('writes non-finite floats as Python-json tokens, big ints exactly, -0 with its sign', () => {
    expect(serializeExtraVars({ a: Infinity, b: -Infinity, c: NaN, d: [9007199254740993n, 1], e: -0, f: 1e21, g: 1e-7 })).toBe(
      '{"a":Infinity,"b":-Infinity,"c":NaN,"d":[9007199254740993,1],"e":-0,"f":1e+21,"g":1e-7}',
    );
  });

  it("escapes <, >, & and U+2028/2029 as Go's encoder did", () => {
    expect(serializeExtraVars({ s: 'a<b>&c\u2028"\n' })).toBe('{"s":"a\\u003cb\\u003e\\u0026c\\u2028\\"\\n"}');
    expect(JSON.parse(serializeExtraVars({ s: 'a<b>&c\u2028"\n' }))).toEqual({ s: 'a<b>&c\u2028"\n' });
  });

  it('a float parameter set to +Inf reaches the file as Infinity', () => {
    const cat: ExtraVarsServiceType[] = [
      { Type: 'f', DefaultVersion: 'v', Class: 'storage', Versions: [{ Version: 'v', Configs: [param('f', { ParameterName: 'limit', Type: 'float', DefaultValue: '1.5', Required: true })] }], HealthCheck: notSupported },
    ];
    const vars = buildExtraVars(input({ catalog: cat }, { Services: [{ Type: 'f', Config: { limit: '+Inf' } }] }));
    expect(vars.f_limit).toBe(Infinity);
    expect(serializeExtraVars(vars)).toContain('"f_limit":Infinity');
  });
});

describe('secretVarNames and redactExtraVars', () => {
  const secretCatalog: ExtraVarsServiceType[] = [
    ...catalog,
    {
      Type: 'k8s',
      DefaultVersion: 'v',
      Class: 'master-slave',
      Versions: [
        {
          Version: 'v',
          Configs: [
            param('k8s', { ParameterName: 'enable_keystone_auth', Type: 'bool', DefaultValue: 'false', Required: true }),
            param('k8s', { ParameterName: 'api_key', DefaultValue: 'k', Required: true }),
            param('k8s', { ParameterName: 'joinToken', DefaultValue: 't', Required: true }),
            param('k8s', { ParameterName: 'sshKey', DefaultValue: 's', Required: true }),
            param('k8s', { ParameterName: 'client_secret', DefaultValue: 'c', Required: true }),
            param('k8s', { ParameterName: 'admin_passwd', DefaultValue: 'p', Required: true }),
          ],
        },
      ],
      HealthCheck: [{ CheckType: 'HTTP', Configs: [{ ParameterName: 'healthToken', Type: 'string', DefaultValue: 'h', Required: true, AnsibleVarName: 'k8s_health_token' }] }],
    },
  ];

  it('names parameters that hold passwords, secrets, tokens and keys, plus registry and Swift credentials', () => {
    const vars = buildExtraVars(
      input(
        { catalog: secretCatalog, settings: { docker_gitlab_registry: true }, registryLogin: { url: 'u', user: 'a', password: 'b' } },
        { NSlaves: 1, Services: [{ Type: 'redis' }, { Type: 'k8s' }] },
      ),
    );
    expect(secretVarNames(vars, secretCatalog)).toEqual([
      'docker_logins',
      'k8s_admin_passwd',
      'k8s_api_key',
      'k8s_client_secret',
      'k8s_health_token',
      'k8s_joinToken',
      'k8s_sshKey',
      'os_swift_password',
      'redis_db_password',
    ]);
  });

  it('only names present in the extra-vars; keystone flags are not keys', () => {
    const vars = buildExtraVars(input({ catalog: secretCatalog }, { Services: [{ Type: 'jupyter' }] }));
    expect(secretVarNames(vars, secretCatalog)).toEqual(['os_swift_password']);
    const k8s = buildExtraVars(input({ catalog: secretCatalog }, { NSlaves: 1, Services: [{ Type: 'k8s' }] }));
    expect(secretVarNames(k8s, secretCatalog)).not.toContain('k8s_enable_keystone_auth');
  });

  it('redactExtraVars masks the values and leaves the input alone', () => {
    const vars = buildExtraVars(
      input(
        { settings: { docker_selfsigned_registry: true }, registryLogin: { url: 'u', user: 'a', password: 'b' } },
        { Services: [{ Type: 'redis', Config: { db_password: 'hunter2' } }] },
      ),
    );
    const red = redactExtraVars(vars, catalog);
    expect(red.redis_db_password).toBe(REDACTED);
    expect(red.docker_logins).toBe(REDACTED);
    expect(red.os_swift_password).toBe(''); // empty: nothing to hide
    expect(red.redis_health_interval).toBe('5s');
    expect(vars.redis_db_password).toBe('hunter2');
    expect(serializeExtraVars(red)).not.toContain('hunter2');
  });
});

// ---------------------------------------------------------------------------------------------------
// The original init/*.json files, loaded through the catalog rules as POST /configs stores them.

describe('buildExtraVars over the original catalogue', () => {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'original-catalog');
  let n = 0;
  const newId = () => `id-${++n}`;
  const types = new Map<string, StoredServiceType>();
  for (const f of ['mariadb', 'nfs-server', 'spark', 'jupyter', 'redis', 'postgresql', 'slurm']) {
    const t = checkNewServiceType(JSON.parse(readFileSync(join(dir, `${f}.json`), 'utf8')), types as TypeLookup, newId);
    types.set(t.Type, t);
  }
  const original = [...types.values()];

  it('slurm with its dependencies, redis and postgresql on storage, 2 slaves', () => {
    const vars = buildExtraVars(
      input(
        { catalog: original },
        {
          NSlaves: 2,
          Services: [
            { Type: 'slurm', Version: 'Slurm-db-nfs', Config: { partitions: '["main:2", "debug:1"]', use_rest: 'true' } },
            { Type: 'mariadb' },
            { Type: 'nfs_server' },
            { Type: 'redis', Config: { db_password: 'r3d1s' } },
            { Type: 'postgresql', Version: '12' },
          ],
        },
      ),
    );
    expect(vars).toMatchObject({
      create_master_slave: true,
      create_storage: true,
      deploy_slurm: true,
      deploy_mariadb: true,
      deploy_nfs_server: true,
      deploy_redis: true,
      deploy_postgresql: true,
      deploy_spark: false,
      deploy_jupyter: false,
      slurm_version: 'Slurm-db-nfs',
      slurm_partitions: ['main:2', 'debug:1'],
      slurm_use_rest: true,
      slurm_use_db: true,
      slurm_db_password: 'slurmdbd',
      slurm_TaskPluginParam: 'None',
      slurm_health_interval: '5s',
      slurm_health_script_tmp_path: 'templates/consul/scripts/slurm_check.sh.j2',
      mariadb_version: 'latest',
      mariadb_db_password: 'password',
      nfs_server_dir_to_share: '/var/shared_dir',
      redis_db_password: 'r3d1s',
      redis_health_timeout: '10s',
      postgresql_version: '12',
      postgresql_db_user: 'PGUSER',
      postgresql_health_interval: '5s',
    });
    expect(Object.hasOwn(vars, 'create_master')).toBe(false);
    expect(Object.hasOwn(vars, 'spark_version')).toBe(false);
    expect(secretVarNames(vars, original)).toEqual([
      'mariadb_db_password',
      'os_swift_password',
      'postgresql_db_password',
      'redis_db_password',
      'slurm_db_password',
    ]);
  });

  it('spark: int and bool defaults typed, hadoop_version under spark_hadoop_version', () => {
    const vars = buildExtraVars(input({ catalog: original }, { NSlaves: 3, Services: [{ Type: 'spark', Config: { worker_mem_mb: '2048' } }] }));
    expect(vars).toMatchObject({
      spark_version: '2.3.0',
      spark_hadoop_version: '2.7',
      spark_use_yarn: false,
      spark_yarn_master_mem_mb: 10240,
      spark_worker_mem_mb: 2048,
      spark_health_interval: '5s',
      n_slaves: 3,
      create_master_slave: true,
    });
  });
});
