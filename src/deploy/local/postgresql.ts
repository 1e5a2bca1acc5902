// PostgreSQL from the Debian packages postgresql-<major>: initdb and postgres run from
// /usr/lib/postgresql/<major>/bin as the system user postgres (the server refuses root). TCP on the
// node address only, no Unix socket (paths under a data root easily exceed the 107-byte limit, and
// nothing needs it), SCRAM for every connection from 127.0.0.0/8.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { exists, writeOwned } from './files.js';
import { scramSha256Verifier } from './secrets.js';
import { errorText, runSetupTool, type Located, type ServiceModule, type ServiceRun } from './service.js';

const ROOT = '/usr/lib/postgresql';

async function installedMajors(): Promise<string[]> {
  const dirs = await readdir(ROOT).catch(() => [] as string[]);
  const ok: string[] = [];
  for (const d of dirs) if (/^\d+$/.test(d) && (await exists(join(ROOT, d, 'bin', 'postgres')))) ok.push(d);
  return ok.sort((a, b) => Number(b) - Number(a));
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

function client(run: ServiceRun, user = 'postgres', database = 'postgres'): pg.Client {
  return new pg.Client({
    host: run.address,
    port: run.port,
    user,
    database,
    password: run.secrets.password ?? '',
    connectionTimeoutMillis: 3000,
    query_timeout: 5000,
    application_name: 'michman',
  });
}

export const postgresql: ServiceModule = {
  type: 'postgresql',
  defaultPort: 5432,
  processName: 'postgres',
  runAs: ['postgres'],
  secretParams: { password: 'db_password' },
  stopSignal: 'SIGINT',

  async locate(version): Promise<Located> {
    const majors = await installedMajors();
    if (majors.length === 0) {
      const pkg = /^\d+$/.test(version) ? `postgresql-${version}` : 'postgresql';
      return { problem: `service 'postgresql' needs postgres and initdb (${ROOT}/<version>/bin): apt-get install ${pkg}` };
    }
    if (!majors.includes(version)) {
      return { problem: `service 'postgresql' version '${version}' cannot run on the local provider: this host has PostgreSQL ${majors.join(', ')} (${ROOT}/<version>); apt-get install postgresql-${version}`, wrongVersion: true };
    }
    return { program: join(ROOT, version, 'bin', 'postgres') };
  },
  versionProbe: { args: ['--version'], pattern: /\(PostgreSQL\) (\d+(?:\.\d+)*)/ },

  ports: (run) => [run.port],

  validate(run) {
    for (const p of ['db_user', 'db_name']) {
      const v = run.config[p] ?? '';
      if (!IDENT.test(v)) throw new Error(`service 'postgresql': ${p} '${v}' must be 1-63 letters, digits, _, $ or - (not starting with a digit)`);
    }
  },

  async initialize(run, program) {
    const initdb = join(program, '..', 'initdb');
    const pwfile = join(run.confDir, 'initdb.pw');
    await writeOwned(pwfile, run.secrets.password ?? '', run.user, 0o600);
    try {
      await runSetupTool(run, initdb, ['-D', run.dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-instructions'], 'initdb');
    } finally {
      await rm(pwfile, { force: true });
    }
  },

  async configure(run, program) {
    const conf = [
      `listen_addresses = '${run.address}'`,
      `port = ${run.port}`,
      "unix_socket_directories = ''",
      "password_encryption = 'scram-sha-256'",
      // Failed statements may carry passwords (ALTER ROLE ... PASSWORD); never write them to the log.
      'log_min_error_statement = panic',
      "log_line_prefix = '%m [%p] '",
      'logging_collector = off',
    ];
    await writeOwned(join(run.dataDir, 'michman.conf'), conf.join('\n') + '\n', run.user, 0o600);
    const mainConf = join(run.dataDir, 'postgresql.conf');
    const main = await readFile(mainConf, 'utf8');
    if (!main.includes("include 'michman.conf'")) {
      await writeOwned(mainConf, main + "\n# Michman's settings win over the above.\ninclude 'michman.conf'\n", run.user, 0o600);
    }
    await writeOwned(join(run.dataDir, 'pg_hba.conf'), 'host all all 127.0.0.0/8 scram-sha-256\n', run.user, 0o600);
    return { program, args: ['-D', run.dataDir] };
  },

  async afterStart(run) {
    const user = run.config.db_user ?? 'pguser';
    const db = run.config.db_name ?? 'postgres';
    const c = client(run);
    await c.connect();
    try {
      // A verifier, not the password, goes to the server: nothing it could log would reveal it.
      const verifier = scramSha256Verifier(run.secrets.password ?? '');
      if (user !== 'postgres') {
        const role = c.escapeIdentifier(user);
        const has = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
        const verb = has.rowCount ? 'ALTER' : 'CREATE';
        await c.query(`${verb} ROLE ${role} WITH LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD '${verifier}'`);
      }
      if (db !== 'postgres') {
        const has = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
        if (!has.rowCount) await c.query(`CREATE DATABASE ${c.escapeIdentifier(db)} OWNER ${c.escapeIdentifier(user)}`);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  },

  async health(run) {
    const c = client(run);
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ one: number }>('SELECT 1 AS one');
      if (r.rows[0]?.one !== 1) return { healthy: false, detail: 'SELECT 1 returned an unexpected result' };
      return { healthy: true, detail: `SELECT 1 as postgres at ${run.address}:${run.port}` };
    } catch (e) {
      return { healthy: false, detail: `postgresql ${run.address}:${run.port}: ${errorText(e)}` };
    } finally {
      await c.end().catch(() => undefined);
    }
  },
};
