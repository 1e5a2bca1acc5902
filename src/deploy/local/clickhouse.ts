// ClickHouse from the Debian package clickhouse-server (18.16, far older than the catalog's LTS
// versions: the deploy event says so). HTTP on the AccessPort, native protocol on 9000, interserver
// on 9009, all on the node address; the user `default` has db_password as a SHA-256 hash.
import { join } from 'node:path';
import { mkdirOwned, writeOwned } from './files.js';
import { httpGet } from './net.js';
import { sha256Hex } from './secrets.js';
import { errorText, executable, type Located, type ServiceModule, type ServiceRun } from './service.js';

export const CLICKHOUSE_TCP_PORT = 9000;
export const CLICKHOUSE_INTERSERVER_PORT = 9009;

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function configXml(run: ServiceRun): string {
  const d = run.dataDir.endsWith('/') ? run.dataDir : run.dataDir + '/';
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>${run.address}</listen_host>
  <http_port>${run.port}</http_port>
  <tcp_port>${CLICKHOUSE_TCP_PORT}</tcp_port>
  <interserver_http_port>${CLICKHOUSE_INTERSERVER_PORT}</interserver_http_port>
  <interserver_http_host>${run.address}</interserver_http_host>
  <max_connections>1024</max_connections>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${xml(d)}</path>
  <tmp_path>${xml(d)}tmp/</tmp_path>
  <user_files_path>${xml(d)}user_files/</user_files_path>
  <format_schema_path>${xml(d)}format_schemas/</format_schema_path>
  <users_config>${xml(join(run.confDir, 'users.xml'))}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
`;
}

function usersXml(run: ServiceRun): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password_sha256_hex>${sha256Hex(run.secrets.password ?? '')}</password_sha256_hex>
      <networks><ip>127.0.0.0/8</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
}

export const clickhouse: ServiceModule = {
  type: 'clickhouse',
  defaultPort: 8123,
  processName: 'clickhouse-server',
  runAs: ['clickhouse'],
  secretParams: { password: 'db_password' },

  // Upstream's server prints "ClickHouse server version 25.8.…"; Debian 12's 18.16 has no --version.
  versionProbe: { args: ['--version'], pattern: /\bversion (\d+\.\d+(?:\.\d+)*)/, debianPackage: 'clickhouse-server' },

  locate: () => executable('/usr/sbin/clickhouse-server', 'clickhouse', 'clickhouse-server'),

  ports: (run) => [run.port, CLICKHOUSE_TCP_PORT, CLICKHOUSE_INTERSERVER_PORT],

  async configure(run, program) {
    for (const sub of ['tmp', 'user_files', 'format_schemas']) await mkdirOwned(join(run.dataDir, sub), run.user, 0o750);
    await writeOwned(join(run.confDir, 'users.xml'), usersXml(run), run.user, 0o600);
    const conf = join(run.confDir, 'config.xml');
    await writeOwned(conf, configXml(run), run.user, 0o600);
    return { program, args: [`--config-file=${conf}`] };
  },

  async health(run) {
    try {
      const auth = Buffer.from(`default:${run.secrets.password ?? ''}`).toString('base64');
      const r = await httpGet(`http://${run.address}:${run.port}/?query=${encodeURIComponent('SELECT 1')}`, { Authorization: `Basic ${auth}` });
      if (r.status !== 200 || r.body.trim() !== '1') {
        return { healthy: false, detail: `HTTP SELECT 1 → ${r.status} ${r.body.trim().slice(0, 100)}` };
      }
      return { healthy: true, detail: `HTTP SELECT 1 as default at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `clickhouse ${run.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
