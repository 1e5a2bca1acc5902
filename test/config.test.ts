import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseListen, redactUrl } from '../src/config/load.js';
import { ConfigSchema, configKeys, keySchema } from '../src/config/schema.js';

// Every key of the original Michman config, with values shaped like its config-sample.yaml.
const ORIGINAL_CONFIG = `
os_key_name: "michman-key"
virtual_network: "michman-net"
floating_ip_pool: "public"
os_version: "stein"
vault_addr: "http://127.0.0.1:8200"
token: "s.VaultRootToken"
os_key: "kv/openstack"
ssh_key: "kv/ssh_keys"
storage: "mysql"
cb_key: "kv/couchbase"
mysql_key: "kv/mysql"
registry_key: "kv/registry"
hydra_key: "kv/hydra"
logs_output: "logstash"
logs_file_path: "logs"
logstash_addr: "127.0.0.1:5000"
elastic_addr: "http://127.0.0.1:9200"
use_package_mirror: true
use_pip_mirror: false
apt_mirror_address: "http://apt.example.org"
yum_mirror_address: "http://yum.example.org"
pip_mirror_address: "http://pip.example.org/simple"
pip_trusted_host: "10.0.0.5"
docker_insecure_registry: false
docker_selfsigned_registry: true
docker_gitlab_registry: false
docker_insecure_registry_ip: "10.0.0.6:5000"
docker_selfsigned_registry_ip: "10.0.0.7"
docker_selfsigned_registry_port: 5000
docker_selfsigned_registry_url: "registry.example.org"
docker_cert_path: "/etc/michman/registry.crt"
use_auth: true
authorization_model: "oauth2"
admin_group: "admin"
session_idle_timeout: 480
session_lifetime: 960
hydra_admin: "http://127.0.0.1:4445"
hydra_client: "http://127.0.0.1:4444"
keystone_addr: "http://127.0.0.1:5000/v3"
auth_config_path: "configs/auth_model.conf"
policy_path: "configs/policy.csv"
database_url: "mysql://root:hunter2@127.0.0.1:3306/michman"
`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'michman-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const writeConfig = (text: string, name = 'config.yaml') => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

/** Runs loadConfig expecting a ConfigError and returns it. */
const fail = (opts: Parameters<typeof loadConfig>[0]): ConfigError => {
  try {
    loadConfig({ cwd: dir, env: {}, ...opts });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
};

describe('defaults', () => {
  it('uses built-in defaults when there is no config file', () => {
    const c = loadConfig({ cwd: dir, env: {} });
    expect(c.storage).toBe('sqlite');
    expect(c.listen).toBe('127.0.0.1:8081');
    expect(c.data_dir).toBe(path.join(dir, 'data'));
    expect(c.database_url).toBe(path.join(dir, 'data', 'michman.sqlite'));
    expect(c.log_level).toBe('info');
    expect(c.body_limit).toBe(1048576);
    expect(c.workers).toBe(4);
    expect(c.provider).toBe("local");
    expect(c.use_auth).toBe(false);
    expect(c.authorization_model).toBe('none');
    expect(c.logs_output).toBe('file');
    expect(c.os_version).toBe('ussuri');
    expect(c.token).toBeUndefined();
  });

  it('reads configs/config.yaml under cwd when present', () => {
    mkdirSync(path.join(dir, 'configs'));
    writeFileSync(path.join(dir, 'configs', 'config.yaml'), 'workers: 3\n');
    expect(loadConfig({ cwd: dir, env: {} }).workers).toBe(3);
  });

  it('documents every key', () => {
    const docs = configKeys();
    expect(docs.map((d) => d.key)).toEqual(Object.keys(ConfigSchema.properties));
    for (const d of docs) expect(d.description, d.key).not.toBe('');
    expect(docs.find((d) => d.key === 'storage')).toMatchObject({ type: 'sqlite | mysql | postgres', default: 'sqlite' });
    expect(docs.find((d) => d.key === 'workers')).toMatchObject({ type: 'integer >= 0', default: 4 });
  });
});

describe('package mirrors', () => {
  const load = (env: Record<string, string>) => loadConfig({ cwd: dir, env });

  it('accepts the apt and pip mirrors of the original config', () => {
    const c = loadConfig({
      configPath: writeConfig(
        'use_package_mirror: true\napt_mirror_address: "http://10.0.0.5:3142/deb.debian.org/debian"\n' +
          'use_pip_mirror: true\npip_mirror_address: "http://10.0.0.5:8081/repository/pypi-all/simple"\npip_trusted_host: "10.0.0.5:8081"\n',
      ),
      cwd: dir,
      env: {},
    });
    expect(c).toMatchObject({
      use_package_mirror: true,
      apt_mirror_address: 'http://10.0.0.5:3142/deb.debian.org/debian',
      use_pip_mirror: true,
      pip_mirror_address: 'http://10.0.0.5:8081/repository/pypi-all/simple',
      pip_trusted_host: '10.0.0.5:8081',
    });
    expect(keySchema('apt_mirror_address')?.notYet).toBeUndefined();
  });

  it('refuses use_package_mirror without apt_mirror_address, naming the key', () => {
    for (const address of [undefined, '', '  ']) {
      const err = fail({ env: { MICHMAN_USE_PACKAGE_MIRROR: 'true', ...(address === undefined ? {} : { MICHMAN_APT_MIRROR_ADDRESS: address }) } });
      expect(err.key).toBe('apt_mirror_address');
      expect(err.message).toContain("'apt_mirror_address' is required when use_package_mirror is true");
    }
  });

  it('refuses use_pip_mirror without pip_mirror_address, naming the key', () => {
    const err = fail({ env: { MICHMAN_USE_PIP_MIRROR: 'true' } });
    expect(err.key).toBe('pip_mirror_address');
    expect(err.message).toContain("'pip_mirror_address' is required when use_pip_mirror is true");
  });

  it('refuses a mirror address that is not an http(s) URL, naming the key', () => {
    for (const [key, value] of [
      ['apt_mirror_address', 'ftp://mirror.example.org/debian'],
      ['apt_mirror_address', 'mirror.example.org/debian'],
      ['apt_security_mirror_address', 'file:///srv/debian-security'],
      ['pip_mirror_address', 'https://'],
      ['pip_mirror_address', 'http://pypi example/simple'],
    ] as const) {
      const err = fail({ env: { [`MICHMAN_${key.toUpperCase()}`]: value } });
      expect(err.key, value).toBe(key);
      expect(err.message).toContain(`for '${key}'; allowed: an http:// or https:// URL`);
    }
    expect(load({ MICHMAN_APT_MIRROR_ADDRESS: 'https://deb.example.org/debian' }).apt_mirror_address).toBe('https://deb.example.org/debian');
  });

  it('refuses a pip_trusted_host with a scheme or a path', () => {
    for (const value of ['http://10.0.0.5', '10.0.0.5/simple', 'a b']) {
      const err = fail({ env: { MICHMAN_PIP_TRUSTED_HOST: value } });
      expect(err.key).toBe('pip_trusted_host');
    }
    for (const value of ['10.0.0.5', 'pypi.example.org:8080', '[::1]:3141']) expect(load({ MICHMAN_PIP_TRUSTED_HOST: value }).pip_trusted_host).toBe(value);
  });

  it('keeps refusing yum_mirror_address: nodes are Debian', () => {
    const err = fail({ env: { MICHMAN_YUM_MIRROR_ADDRESS: 'http://yum.example.org' } });
    expect(err.key).toBe('yum_mirror_address');
    expect(err.message).toMatch(/'yum_mirror_address' is not supported yet: cluster nodes run Debian \(apt\), and no role configures yum/);
  });
});

describe('config file', () => {
  it('refuses, one at a time and by name, the original keys whose feature is missing', () => {
    // ORIGINAL_CONFIG asks for log shipping, mirrors and registries; each is refused by name.
    let text = ORIGINAL_CONFIG;
    const refused: string[] = [];
    for (let i = 0; i < 40; i++) {
      let err: ConfigError | undefined;
      try {
        loadConfig({ configPath: writeConfig(text), cwd: dir, env: {} });
      } catch (e) {
        err = e as ConfigError;
      }
      if (!err) break;
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(`'${err.key}' is not supported yet`);
      expect(err.message).not.toContain('hunter2');
      refused.push(err.key);
      text = text.split('\n').filter((l) => !l.startsWith(`${err.key}:`)).join('\n');
    }
    expect(refused.sort()).toEqual([
      'cb_key', 'docker_cert_path', 'docker_insecure_registry_ip', 'docker_selfsigned_registry',
      'docker_selfsigned_registry_ip', 'docker_selfsigned_registry_port', 'docker_selfsigned_registry_url',
      'logs_file_path', 'registry_key', 'yum_mirror_address',
    ]);
  });

  it('accepts the keys of a missing feature while they ask for nothing, and exits non-zero otherwise', () => {
    const c = loadConfig({
      configPath: writeConfig('use_package_mirror: false\napt_mirror_address: ""\nlogs_output: file\ndocker_insecure_registry: false\n'),
      cwd: dir,
      env: {},
    });
    expect(c.use_package_mirror).toBe(false);
    const err = fail({ env: { MICHMAN_DOCKER_INSECURE_REGISTRY: 'true' } });
    expect(err.key).toBe('docker_insecure_registry');
    expect(err.message).toMatch(/'docker_insecure_registry' is not supported yet: no service role uses Docker yet.*set it to false/);
  });

  it('accepts every other key of the original config', () => {
    const supported = ORIGINAL_CONFIG.split('\n').filter((l) => { const k = l.split(':')[0]!; return !keySchema(k)?.notYet; }).join('\n');
    const c = loadConfig({ configPath: writeConfig(supported), cwd: dir, env: {} });
    expect(c).toMatchObject({
      os_key_name: 'michman-key',
      os_version: 'stein',
      token: 's.VaultRootToken',
      storage: 'mysql',
      database_url: 'mysql://root:hunter2@127.0.0.1:3306/michman',
      use_pip_mirror: false,
      use_auth: true,
      authorization_model: 'oauth2',
      session_idle_timeout: 480,
      session_lifetime: 960,
      policy_path: 'configs/policy.csv',
    });
  });

  it('keeps the literal text of numbers in string fields', () => {
    const c = loadConfig({ configPath: writeConfig('virtual_network: 00123\n'), cwd: dir, env: {} });
    expect(c.virtual_network).toBe('00123');
  });

  it('treats empty values and an empty file as unset', () => {
    expect(loadConfig({ configPath: writeConfig('storage:\ntoken:\n'), cwd: dir, env: {} }).storage).toBe('sqlite');
    expect(loadConfig({ configPath: writeConfig(''), cwd: dir, env: {} }).storage).toBe('sqlite');
  });

  it('fails when an explicit config path does not exist', () => {
    expect(fail({ configPath: path.join(dir, 'missing.yaml') }).message).toContain('missing.yaml');
  });

  it('reports YAML syntax errors with file and line', () => {
    const file = writeConfig('storage: sqlite\ntoken: s.secret\nlisten: a: b\n');
    const err = fail({ configPath: file });
    expect(err.message).toContain(`${file}:3:`);
    expect(err.message).not.toContain('s.secret');
  });

  it('names an unknown key', () => {
    const err = fail({ configPath: writeConfig('storage: sqlite\nfoo: 1\n') });
    expect(err.key).toBe('foo');
    expect(err.message).toContain("unknown configuration key 'foo'");
  });

  it('accepts logs_output: logstash with logstash_addr (host:port) and elastic_addr, and names what is missing or malformed', () => {
    const c = loadConfig({ configPath: writeConfig('logs_output: logstash\nlogstash_addr: "127.0.0.1:5000"\nelastic_addr: "http://127.0.0.1:9200"\n'), cwd: dir, env: {} });
    expect(c.logs_output).toBe('logstash');
    expect(fail({ configPath: writeConfig('logs_output: logstash\nelastic_addr: "http://127.0.0.1:9200"\n') }).key).toBe('logstash_addr');
    expect(fail({ configPath: writeConfig('logs_output: logstash\nlogstash_addr: "127.0.0.1:5000"\n') }).key).toBe('elastic_addr');
    // The original PUT to an HTTP input; Michman speaks the tcp input's json_lines.
    const http = fail({ configPath: writeConfig('logs_output: logstash\nlogstash_addr: "http://127.0.0.1:5000"\nelastic_addr: "http://127.0.0.1:9200"\n') });
    expect(http.key).toBe('logstash_addr');
    expect(http.message).toContain('host:port');
    const bad = fail({ configPath: writeConfig('elastic_addr: "ftp://elastic:hunter2@127.0.0.1"\n') });
    expect(bad.key).toBe('elastic_addr');
    expect(bad.message).not.toContain('hunter2');
  });

  it('names the key, the value and the choices for a wrong enum value', () => {
    const err = fail({ configPath: writeConfig('logs_output: syslog\n') });
    expect(err.key).toBe('logs_output');
    expect(err.message).toContain("'syslog'");
    expect(err.message).toContain('file | logstash');
  });

  it('rejects a wrong type', () => {
    const err = fail({ configPath: writeConfig('use_auth: "sometimes"\n') });
    expect(err.key).toBe('use_auth');
    expect(err.message).toMatch(/sometimes.*boolean/);
    expect(fail({ configPath: writeConfig('body_limit: 0\n') }).key).toBe('body_limit');
  });

  it('rejects couchbase with the supported choices', () => {
    const err = fail({ configPath: writeConfig('storage: couchbase\n') });
    expect(err.key).toBe('storage');
    expect(err.message).toContain('couchbase is not supported');
    expect(err.message).toContain('sqlite, mysql, postgres');
  });

  it('requires database_url for mysql and postgres', () => {
    for (const storage of ['mysql', 'postgres']) {
      const err = fail({ configPath: writeConfig(`storage: ${storage}\n`) });
      expect(err.key).toBe('database_url');
      expect(err.message).toContain('database_url');
    }
  });

  it('never shows the token', () => {
    const err = fail({ configPath: writeConfig('token: [s.secret]\n') });
    expect(err.key).toBe('token');
    expect(err.message).not.toContain('s.secret');
  });
});

describe('database_url', () => {
  it('masks the password in errors', () => {
    const err = fail({ env: { MICHMAN_STORAGE: 'mysql', MICHMAN_DATABASE_URL: 'postgres://app:hunter2@db:5432/michman' } });
    expect(err.key).toBe('database_url');
    expect(err.message).toContain('postgres://app:***@db:5432/michman');
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses a server URL while storage is sqlite', () => {
    const err = fail({ env: { MICHMAN_DATABASE_URL: 'mysql://root:hunter2@127.0.0.1/michman' } });
    expect(err.message).toContain("storage is 'sqlite'");
    expect(err.message).not.toContain('hunter2');
  });

  it('resolves a relative sqlite path against cwd and keeps :memory:', () => {
    expect(loadConfig({ cwd: dir, env: { MICHMAN_DATABASE_URL: 'db/m.sqlite' } }).database_url).toBe(
      path.join(dir, 'db', 'm.sqlite'),
    );
    expect(loadConfig({ cwd: dir, env: { MICHMAN_DATABASE_URL: ':memory:' } }).database_url).toBe(':memory:');
  });

  it('redactUrl masks userinfo and query passwords only', () => {
    expect(redactUrl('mysql://root:p@ss/w0rd@127.0.0.1:3306/michman')).toBe('mysql://root:***@127.0.0.1:3306/michman');
    expect(redactUrl('postgres://u@h/db?password=x&sslmode=require')).toBe('postgres://u@h/db?password=***&sslmode=require');
    expect(redactUrl('mysql://root@127.0.0.1:3306/michman')).toBe('mysql://root@127.0.0.1:3306/michman');
    expect(redactUrl('mysql://127.0.0.1:3306/michman')).toBe('mysql://127.0.0.1:3306/michman');
    expect(redactUrl('./data/michman.sqlite')).toBe('./data/michman.sqlite');
  });
});

describe('environment and overrides', () => {
  it('converts environment values to the key type and beats the file', () => {
    const configPath = writeConfig('storage: sqlite\nworkers: 4\n');
    const c = loadConfig({
      configPath,
      cwd: dir,
      env: {
        MICHMAN_STORAGE: 'postgres',
        MICHMAN_DATABASE_URL: 'postgres://app@127.0.0.1/michman',
        MICHMAN_USE_AUTH: 'yes',
        MICHMAN_USE_PIP_MIRROR: '0',
        MICHMAN_SESSION_LIFETIME: '30',
        MICHMAN_DOCKER_SELFSIGNED_REGISTRY_PORT: '',
        PATH: '/usr/bin',
      },
    });
    expect(c).toMatchObject({ storage: 'postgres', use_auth: true, use_pip_mirror: false, session_lifetime: 30, workers: 4 });
    expect(c.docker_selfsigned_registry_port).toBe('');
  });

  it('names the variable on a bad conversion', () => {
    expect(fail({ env: { MICHMAN_USE_AUTH: 'maybe' } }).message).toContain('MICHMAN_USE_AUTH');
    expect(fail({ env: { MICHMAN_SESSION_LIFETIME: '1.5' } }).message).toContain('MICHMAN_SESSION_LIFETIME');
  });

  it('ignores MICHMAN_TEST_* variables', () => {
    expect(loadConfig({ cwd: dir, env: { MICHMAN_TEST_MYSQL_URL: 'x', MICHMAN_TEST_ANYTHING: 'y' } }).storage).toBe('sqlite');
  });

  it('rejects other unknown MICHMAN_* variables', () => {
    const err = fail({ env: { MICHMAN_FOO: '1' } });
    expect(err.key).toBe('MICHMAN_FOO');
    expect(err.message).toContain('MICHMAN_FOO');
  });

  it('applies overrides last, skipping undefined ones', () => {
    const c = loadConfig({
      cwd: dir,
      env: { MICHMAN_LISTEN: '0.0.0.0:9000', MICHMAN_WORKERS: '2' },
      overrides: { listen: '[::1]:8082', workers: undefined, body_limit: '2048' },
    });
    expect(c.listen).toBe('[::1]:8082');
    expect(c.workers).toBe(2);
    expect(c.body_limit).toBe(2048);
    expect(fail({ overrides: { nope: 1 } }).key).toBe('nope');
  });
});

describe('cross-key rules', () => {
  it('validates listen', () => {
    expect(parseListen('[::1]:8081')).toEqual({ host: '::1', port: 8081 });
    expect(parseListen('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    for (const listen of ['127.0.0.1:0', '127.0.0.1:65536', '::1:8081', '127.0.0.1', ':8081']) {
      expect(fail({ env: { MICHMAN_LISTEN: listen } }).key, listen).toBe('listen');
    }
  });

  it('enforces the original startup checks', () => {
    expect(fail({ env: { MICHMAN_USE_AUTH: 'true', MICHMAN_AUTHORIZATION_MODEL: 'keystone' } }).key).toBe('keystone_addr');
    expect(fail({ env: { MICHMAN_USE_AUTH: 'true', MICHMAN_AUTHORIZATION_MODEL: 'oauth2' } }).key).toBe('oidc_issuer');
    // Without use_auth the model is irrelevant, as in the original.
    expect(loadConfig({ cwd: dir, env: { MICHMAN_AUTHORIZATION_MODEL: 'keystone' } }).use_auth).toBe(false);
  });
});
