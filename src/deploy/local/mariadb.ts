// MariaDB from the Debian package mariadb-server: mariadb-install-db once, then mariadbd with its
// own datadir, socket and pid file, as the system user mysql, bound to the node address. The user
// db_user (password db_password, as a native-password hash) and the database db_name are converged
// by an init file the server runs at every start, so a restart repairs them too.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createConnection } from 'mysql2/promise';
import { writeOwned } from './files.js';
import { mysqlNativeHash } from './secrets.js';
import { errorText, executable, runSetupTool, type Located, type ServiceModule, type ServiceRun } from './service.js';

const NAME = /^[A-Za-z0-9_]{1,64}$/;

/** Unix socket paths are limited to 107 bytes; a deep data root gets a hashed name in /tmp instead. */
export function mariadbSocket(run: Pick<ServiceRun, 'confDir'>): string {
  const inDir = join(run.confDir, 'mysqld.sock');
  if (Buffer.byteLength(inDir) <= 100) return inDir;
  return join(tmpdir(), `michman-mysqld-${createHash('sha256').update(run.confDir).digest('hex').slice(0, 16)}.sock`);
}

function cnf(run: ServiceRun, withInit: boolean): string {
  return [
    '[mysqld]',
    `datadir=${run.dataDir}`,
    `socket=${mariadbSocket(run)}`,
    `pid-file=${join(run.confDir, 'mariadbd.pid')}`,
    `bind-address=${run.address}`,
    `port=${run.port}`,
    'skip-name-resolve',
    // Small footprint for a development node; a default InnoDB log alone is 96 MB.
    'innodb_log_file_size=8M',
    'innodb_buffer_pool_size=64M',
    'performance_schema=OFF',
    ...(withInit ? [`init-file=${join(run.confDir, 'init.sql')}`] : []),
    '',
  ].join('\n');
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export const mariadb: ServiceModule = {
  type: 'mariadb',
  defaultPort: 3306,
  processName: 'mariadbd',
  versionProbe: { args: ['--version'], pattern: /\bVer (\d+\.\d+(?:\.\d+)*)/ },
  runAs: ['mysql'],
  secretParams: { password: 'db_password' },

  async locate(): Promise<Located> {
    const install = await executable('/usr/bin/mariadb-install-db', 'mariadb', 'mariadb-server');
    if ('problem' in install) return install;
    return executable('/usr/sbin/mariadbd', 'mariadb', 'mariadb-server');
  },

  ports: (run) => [run.port],

  validate(run) {
    for (const p of ['db_user', 'db_name']) {
      const v = run.config[p] ?? '';
      if (!NAME.test(v)) throw new Error(`service 'mariadb': ${p} '${v}' must be 1-64 letters, digits or _`);
    }
  },

  async initialize(run) {
    const boot = join(run.confDir, 'bootstrap.cnf');
    await writeOwned(boot, cnf(run, false), run.user, 0o600);
    await runSetupTool(run, '/usr/bin/mariadb-install-db', [`--defaults-file=${boot}`, '--auth-root-authentication-method=socket', '--skip-test-db'], 'mariadb-install-db');
  },

  async configure(run, program) {
    const user = run.config.db_user ?? 'user';
    const db = run.config.db_name ?? 'mariadb';
    const hash = mysqlNativeHash(run.secrets.password ?? '');
    const account = `${sqlString(user)}@'%'`;
    const init = [
      `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY PASSWORD '${hash}';`,
      `ALTER USER ${account} IDENTIFIED BY PASSWORD '${hash}';`,
      `CREATE DATABASE IF NOT EXISTS \`${db}\`;`,
      `GRANT ALL PRIVILEGES ON \`${db}\`.* TO ${account};`,
      '',
    ].join('\n');
    await writeOwned(join(run.confDir, 'init.sql'), init, run.user, 0o600);
    const conf = join(run.confDir, 'my.cnf');
    await writeOwned(conf, cnf(run, true), run.user, 0o600);
    // --defaults-file must be the first argument.
    return { program, args: [`--defaults-file=${conf}`] };
  },

  cleanupPaths: (run) => [mariadbSocket(run), `${mariadbSocket(run)}.lock`],

  async health(run) {
    const user = run.config.db_user ?? 'user';
    const db = run.config.db_name ?? 'mariadb';
    let conn: Awaited<ReturnType<typeof createConnection>> | undefined;
    try {
      conn = await createConnection({
        host: run.address,
        port: run.port,
        user,
        password: run.secrets.password ?? '',
        database: db,
        connectTimeout: 3000,
      });
      const [rows] = await conn.query('SELECT 1 AS one');
      const one = (rows as Array<{ one: number }>)[0]?.one;
      if (one !== 1) return { healthy: false, detail: 'SELECT 1 returned an unexpected result' };
      return { healthy: true, detail: `SELECT 1 as ${user} on ${db} at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `mariadb ${run.address}:${run.port}: ${errorText(e)}` };
    } finally {
      await conn?.end().catch(() => undefined);
    }
  },
};
