// What one local service module provides. The deployer (deployer.ts) owns the lifecycle: locking,
// pid files, finding a running process again, start-up, waiting for health, stopping; a module
// only knows its program: where it is, how it is configured, started and checked.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { basename } from 'node:path';
import type { EngineEvent, ProvisionedNode } from '../../domain/nodes.js';
import type { HealthResult } from '../types.js';
import type { ServiceUser } from './files.js';
import { redact } from './secrets.js';
import type { VersionProbe } from './hostVersions.js';

/** Everything a module needs for one service on one node. */
export interface ServiceRun {
  type: string;
  version: string;
  clusterId: string;
  node: ProvisionedNode;
  /** All nodes of the service, master first (routes of multi-node services). */
  nodes: ProvisionedNode[];
  address: string;
  /** The service's main port: the catalog AccessPort, or the module's standard port. */
  port: number;
  /** `<node dataDir>/services/<type>`: root-owned 0711, holds pid, log and secrets files. */
  dir: string;
  /** Owned by the service user, 0700: the program's own data. */
  dataDir: string;
  /** Owned by the service user, 0700: config files (0600) and sockets. */
  confDir: string;
  /** Parameter defaults merged with the user's values. */
  config: Record<string, string>;
  secrets: Record<string, string>;
  /** Who the program runs as; undefined = Michman's own user (Michman is not root). */
  user: ServiceUser | undefined;
  signal: AbortSignal;
  emit(level: EngineEvent['level'], message: string): void;
}

export interface Launch {
  /** Absolute path of the program. */
  program: string;
  args: string[];
  env?: Record<string, string>;
}

/** Where a module's program is on this host, or why it cannot run here. */
export type Located = { program: string; note?: string } | { problem: string; /** The program is here, in other versions only. */ wrongVersion?: boolean };

export interface ServiceModule {
  readonly type: string;
  readonly defaultPort: number;
  /** Basename the process shows in /proc/<pid>/cmdline; also names the pid file `<name>.pid`. */
  readonly processName: string;
  /** Other programs it leaves running under its directory (e.g. notebook kernels), stopped on remove. */
  readonly helperProcesses?: string[];
  /**
   * How to read the version of the located program: a catalog version runs only when the host's
   * program is that version (hostVersions.ts). Absent: locate() alone decides (Spark finds the jars
   * of the exact version).
   */
  readonly versionProbe?: VersionProbe;
  /** The numeric version a catalog version stands for, when its name is a label (jupyter-notebook → 6). */
  versionOf?(catalogVersion: string): string | undefined;
  /** System users to run as when Michman is root, best first (`nobody` is the last resort). */
  readonly runAs: string[];
  /** Secret name → config parameter ('' = always generated). Empty configured values are generated. */
  readonly secretParams: Record<string, string>;
  /**
   * A second module run on the same nodes with this one, as part of the same service (spark's HDFS):
   * deployed, health-checked and removed with it, in its own service directory (`services/<its type>`),
   * with the same config; its main port is its own default, not the catalog AccessPort.
   */
  readonly companion?: ServiceModule;
  /** The polite stop signal (default SIGTERM; PostgreSQL wants SIGINT, a fast shutdown). */
  readonly stopSignal?: NodeJS.Signals;
  locate(version: string): Promise<Located>;
  /** Every TCP port the service binds on its node (the main one first). */
  ports(run: ServiceRun): number[];
  /** Throws on config values the service cannot take; called before anything is written. */
  validate?(run: ServiceRun): void;
  /** Creates the data from scratch (the data directory is empty); run once, before the first start. */
  initialize?(run: ServiceRun, program: string): Promise<void>;
  /** Writes the config files (every start) and says how to start the program. */
  configure(run: ServiceRun, program: string): Promise<Launch>;
  /** Converges users/databases once the server answers; must be harmless to repeat. */
  afterStart?(run: ServiceRun): Promise<void>;
  /** Files outside the service directory to delete on remove (e.g. a socket in /tmp). */
  cleanupPaths?(run: ServiceRun): string[];
  /** A real protocol round trip with the configured credentials. Never throws. */
  health(run: ServiceRun): Promise<HealthResult>;
}

/** Base environment of service processes: nothing of Michman's own environment leaks into them. */
export function baseEnv(home: string): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function intParam(run: ServiceRun, name: string, min: number, max: number): number {
  const raw = run.config[name] ?? '';
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(`service '${run.type}': ${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return n;
}

export function boolParam(run: ServiceRun, name: string, dflt: boolean): boolean {
  const raw = (run.config[name] ?? '').trim().toLowerCase();
  if (raw === '') return dflt;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Error(`service '${run.type}': ${name} must be true or false, got '${run.config[name]}'`);
}

/** The program at `path` if it is executable, else the problem naming the Debian package. */
export async function executable(path: string, type: string, pkg: string): Promise<Located> {
  try {
    await access(path, constants.X_OK);
    return { program: path };
  } catch {
    return { problem: `service '${type}' needs ${basename(path)}: apt-get install ${pkg}` };
  }
}

/**
 * Runs a one-off set-up program (initdb, mariadb-install-db) as the service's user in its config
 * directory; a failure carries the program's last lines with the run's secrets masked.
 */
export function runSetupTool(run: ServiceRun, program: string, args: string[], label: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(
      program,
      args,
      {
        env: baseEnv(run.confDir),
        cwd: run.confDir,
        signal: run.signal,
        timeout: 180_000,
        maxBuffer: 4 * 1024 * 1024,
        ...(run.user ? { uid: run.user.uid, gid: run.user.gid } : {}),
      },
      (err, stdout, stderr) => {
        if (!err) return resolve();
        const out = redact(`${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n'), run.secrets);
        reject(new Error(`${label} failed: ${err.message.split('\n')[0]}\n${out}`));
      },
    );
  });
}
