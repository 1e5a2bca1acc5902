// The local deployer (DESIGN.md "Providers and deployers"): real server processes on the local
// provider's nodes. All state is on disk under `<node dataDir>/services/<type>/`:
//
//   <program>.pid   pid of the running server (root, 0644)     secrets.json  passwords (root, 0600)
//   <program>.log   its stdout/stderr                           .initialized  data was created
//   .lock           held while a deploy/remove runs             conf/, data/  owned by the service user
//
// Processes are started detached (own session) and survive Michman; a restarted Michman finds them
// through the pid file, or failing that by scanning /proc for the program with this directory in
// its arguments, so it neither orphans nor duplicates them.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import type { ProvisionedNode, StepContext } from '../../domain/nodes.js';
import type { Deployer, HealthResult, ServiceDeployment } from '../types.js';
import { isLoopback, portOpen } from '../../host/net.js';
import { withFileLock } from '../../host/fileLock.js';
import {
  abortError,
  findProcesses,
  isAlive,
  isOurProcess,
  readPidFile,
  removeFile,
  sleep,
  spawnDetached,
  stopProcess,
  writePidFile,
  type ProcessIdentity,
} from '../../host/processes.js';
import { assertReachable, exists, mkdirOwned, serviceUser, type ServiceUser } from './files.js';
import { SECRETS_FILE, readSecrets, redact, settleSecrets, writeSecrets } from './secrets.js';
import { baseEnv, type Located, type ServiceModule, type ServiceRun } from './service.js';
import { isNumericVersion, programVersion, versionMatches } from './hostVersions.js';
import { clickhouse } from './clickhouse.js';
import { jupyter } from './jupyter.js';
import { mariadb } from './mariadb.js';
import { nats } from './nats.js';
import { postgresql } from './postgresql.js';
import { prometheus } from './prometheus.js';
import { redis } from './redis.js';
import { spark } from './spark.js';
import { cassandra } from './cassandra.js';
import { elastic } from './elastic.js';

export const LOCAL_SERVICE_MODULES: readonly ServiceModule[] = [redis, postgresql, mariadb, jupyter, clickhouse, nats, prometheus, spark, cassandra, elastic];

export interface LocalDeployerOptions {
  /** How long a start may take until the health check passes (default 120 s). */
  startTimeoutMs?: number;
  /** How long a stop waits after the polite signal before SIGKILL (default 20 s). */
  stopTimeoutMs?: number;
  /** Replaces the built-in service modules (tests). */
  modules?: readonly ServiceModule[];
}

const LOCK_FILE = '.lock';
const SECRETS_LOCK = '.secrets.lock';
const INITIALIZED = '.initialized';

export class LocalDeployer implements Deployer {
  readonly name = 'local';
  private readonly modules: Map<string, ServiceModule>;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;

  constructor(opts: LocalDeployerOptions = {}) {
    this.modules = new Map((opts.modules ?? LOCAL_SERVICE_MODULES).map((m) => [m.type, m]));
    this.startTimeoutMs = opts.startTimeoutMs ?? 120_000;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? 20_000;
  }

  /** Service types this deployer knows (whether or not their programs are installed). */
  get services(): string[] {
    return [...this.modules.keys()];
  }

  /**
   * Problems that keep the services off this host, checked at POST time: a type without a module, a
   * program not installed, a version the host's program is not. With the catalog's versions of the
   * type (`versions`), a version problem lists those this host can run.
   */
  async check(services: Array<{ type: string; version: string; versions?: readonly string[] }>): Promise<string[]> {
    const problems: string[] = [];
    for (const s of services) {
      const m = this.modules.get(s.type);
      if (!m) {
        problems.push(`service '${s.type}' cannot run on the local provider; use openstack or nspawn`);
        continue;
      }
      // A companion (spark's HDFS) must be runnable too; its program has no version rule of its own.
      for (const part of m.companion ? [m.companion] : []) {
        const cloc = await part.locate(s.version);
        if ('problem' in cloc) problems.push(cloc.problem);
      }
      const loc = await this.locate(m, s.version);
      if (!('problem' in loc)) continue;
      if (!loc.wrongVersion || !s.versions) {
        problems.push(loc.problem);
        continue;
      }
      const runnable: string[] = [];
      for (const v of s.versions) if (!('problem' in (await this.locate(m, v)))) runnable.push(v);
      problems.push(`${loc.problem}; versions of ${s.type} this host can run: ${runnable.length > 0 ? runnable.join(', ') : `none of ${s.versions.join(', ')} (use nspawn or openstack)`}`);
    }
    return problems;
  }

  /** The module's program for `version`, refused when the host's program is another version. */
  private async locate(m: ServiceModule, version: string): Promise<Located> {
    const loc = await m.locate(version);
    if ('problem' in loc) return loc;
    if (!m.versionProbe) return loc;
    const want = m.versionOf ? m.versionOf(version) : version;
    if (want === undefined || !isNumericVersion(want)) return loc;
    const have = await programVersion(loc.program, m.versionProbe);
    if (have === undefined) return { problem: `service '${m.type}': the version of ${loc.program} could not be read`, wrongVersion: true };
    if (!versionMatches(want, have)) {
      return { problem: `service '${m.type}' version '${version}' cannot run on the local provider: this host has ${basename(loc.program)} ${have}`, wrongVersion: true };
    }
    return loc;
  }

  /** `<node dataDir>/services/<type>`. */
  serviceDir(node: Pick<ProvisionedNode, 'name' | 'dataDir'>, type: string): string {
    if (!node.dataDir || !isAbsolute(node.dataDir)) {
      throw new Error(`local deployer: node ${node.name} has no absolute data directory (is it a local node?)`);
    }
    if (!/^[a-z0-9][a-z0-9_-]*$/i.test(type)) throw new Error(`local deployer: bad service type '${type}'`);
    return join(node.dataDir, 'services', type);
  }

  /** The service's passwords/tokens as deployed (generated ones included), for showing to its owner. */
  async credentials(d: Pick<ServiceDeployment, 'type' | 'nodes'>): Promise<Record<string, string>> {
    const first = d.nodes[0];
    if (!first) return {};
    return readSecrets(join(this.serviceDir(first, d.type), SECRETS_FILE));
  }

  /** The module of `d` and its companion, each with the deployment it runs as (companion first). */
  private parts(m: ServiceModule, d: ServiceDeployment): Array<[ServiceModule, ServiceDeployment]> {
    return m.companion ? [[m.companion, { ...d, type: m.companion.type, accessPort: 0 }], [m, d]] : [[m, d]];
  }

  /** The secrets a deployed service runs with, by config parameter (generated ones the parameter left empty). */
  async secretsInUse(d: Pick<ServiceDeployment, 'type' | 'nodes'>): Promise<Record<string, string>> {
    const m = this.modules.get(d.type);
    if (!m) return {};
    const have = await this.credentials(d);
    const out: Record<string, string> = {};
    for (const [key, param] of Object.entries(m.secretParams)) if (param && have[key]) out[param] = have[key];
    return out;
  }

  async deploy(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const m = this.module(d.type);
    // A companion starts alongside (spark's HDFS next to its master and workers): neither waits for the other.
    await Promise.all(this.parts(m, d).map(([pm, pd]) => this.deployModule(ctx, pd, pm)));
  }

  private async deployModule(ctx: StepContext, d: ServiceDeployment, m: ServiceModule): Promise<void> {
    // The same rule as at POST: a cluster accepted before the host changed is not run as another version.
    const loc = await this.locate(m, d.version);
    if ('problem' in loc) throw new Error(loc.problem);
    if (d.nodes.length === 0) throw new Error(`local deployer: service '${d.type}' has no nodes`);
    if (loc.note) ctx.emit({ level: 'info', phase: 'deploy', service: d.type, message: loc.note });
    const config = mergeConfig(d);
    // One set of secrets for every node of the service, kept with each of them.
    const dirs = d.nodes.map((n) => this.serviceDir(n, d.type));
    for (const dir of dirs) await mkdirSearchable(dir);
    // Under a lock: two concurrent deploys must not generate two different passwords.
    const secrets = await withFileLock(join(dirs[0]!, SECRETS_LOCK), ctx.signal, 60_000, async () => {
      const settled = settleSecrets(m.secretParams, config, await readSecrets(join(dirs[0]!, SECRETS_FILE)));
      for (const dir of dirs) {
        const path = join(dir, SECRETS_FILE);
        if (!(await exists(path)) || !sameRecord(await readSecrets(path), settled)) await writeSecrets(path, settled);
      }
      return settled;
    });
    await Promise.all(d.nodes.map((n) => this.deployOn(ctx, d, m, loc.program, n, config, secrets)));
  }

  async health(ctx: StepContext, d: ServiceDeployment): Promise<HealthResult> {
    const m = this.modules.get(d.type);
    if (!m) return { healthy: false, detail: `service '${d.type}' cannot run on the local provider` };
    const results = await Promise.all(this.parts(m, d).map(([pm, pd]) => this.healthOf(ctx, pd, pm)));
    return { healthy: results.every((r) => r.healthy), detail: results.map((r) => r.detail).join('; ') };
  }

  private async healthOf(ctx: StepContext, d: ServiceDeployment, m: ServiceModule): Promise<HealthResult> {
    if (d.nodes.length === 0) return { healthy: false, detail: 'no nodes' };
    const config = mergeConfig(d);
    const results = await Promise.all(
      d.nodes.map(async (node) => {
        if (!node.dataDir) return { healthy: false, detail: `${node.name}: not a local node (no data directory)` };
        const dir = this.serviceDir(node, d.type);
        const id: ProcessIdentity = { programs: [m.processName], marker: dir };
        const pid = await readPidFile(join(dir, `${m.processName}.pid`));
        if (pid === undefined || !(await isOurProcess(pid, id))) return { healthy: false, detail: `${node.name}: ${m.processName} is not running` };
        const secrets = await readSecrets(join(dir, SECRETS_FILE));
        const run = this.makeRun(ctx, d, m, node, config, secrets, undefined);
        const h = await m.health(run);
        return { healthy: h.healthy, detail: `${node.name}: ${h.detail}` };
      }),
    );
    return { healthy: results.every((r) => r.healthy), detail: results.map((r) => r.detail).join('; ') };
  }

  async remove(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    const m = this.modules.get(d.type);
    await Promise.all((m ? this.parts(m, d) : [[undefined, d] as const]).map(([pm, pd]) => this.removeModule(ctx, pd, pm)));
  }

  private async removeModule(ctx: StepContext, d: ServiceDeployment, m: ServiceModule | undefined): Promise<void> {
    await Promise.all(
      d.nodes.map(async (node) => {
        if (!node.dataDir) return;
        const dir = this.serviceDir(node, d.type);
        if (!m) {
          await rm(dir, { recursive: true, force: true });
          return;
        }
        const present = await exists(dir);
        const work = async () => {
          const stopped = await this.stopAll(ctx, m, node, dir);
          const run = this.makeRun(ctx, d, m, node, mergeConfig(d), {}, undefined);
          for (const p of m.cleanupPaths?.(run) ?? []) await rm(p, { force: true });
          await rm(dir, { recursive: true, force: true });
          const open: number[] = [];
          for (const p of m.ports(run)) if (await portOpen(node.address, p, 500)) open.push(p);
          if (open.length > 0) {
            ctx.emit({ level: 'warn', phase: 'delete', node: node.name, service: d.type, message: `port(s) ${open.join(', ')} on ${node.address} still answer after the stop` });
          }
          if (stopped > 0 || present) {
            ctx.emit({ level: 'info', phase: 'delete', node: node.name, service: d.type, message: `${d.type} removed from ${node.name} (stopped ${stopped} process(es), data deleted)` });
          }
        };
        if (present) await withFileLock(join(dir, LOCK_FILE), ctx.signal, this.startTimeoutMs + this.stopTimeoutMs, work);
        else await work(); // the directory is gone, but a process might still run on it
      }),
    );
  }

  private module(type: string): ServiceModule {
    const m = this.modules.get(type);
    if (!m) throw new Error(`service '${type}' cannot run on the local provider; use openstack or nspawn`);
    return m;
  }

  private makeRun(
    ctx: StepContext,
    d: ServiceDeployment,
    m: ServiceModule,
    node: ProvisionedNode,
    config: Record<string, string>,
    secrets: Record<string, string>,
    user: ServiceUser | undefined,
  ): ServiceRun {
    if (!isLoopback(node.address)) throw new Error(`local deployer: node ${node.name} address ${node.address} is not in 127.0.0.0/8`);
    const port = d.accessPort > 0 ? d.accessPort : m.defaultPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`local deployer: bad port ${port} for '${d.type}'`);
    const dir = this.serviceDir(node, d.type);
    return {
      type: d.type,
      version: d.version,
      clusterId: ctx.clusterId,
      node,
      nodes: d.nodes,
      address: node.address,
      port,
      dir,
      dataDir: join(dir, 'data'),
      confDir: join(dir, 'conf'),
      config,
      secrets,
      user,
      signal: ctx.signal,
      emit: (level, message) => ctx.emit({ level, phase: 'deploy', node: node.name, service: d.type, message }),
    };
  }

  private async deployOn(
    ctx: StepContext,
    d: ServiceDeployment,
    m: ServiceModule,
    program: string,
    node: ProvisionedNode,
    config: Record<string, string>,
    secrets: Record<string, string>,
  ): Promise<void> {
    const user = await serviceUser(m.runAs);
    const run = this.makeRun(ctx, d, m, node, config, secrets, user);
    m.validate?.(run);
    await assertReachable(run.dir, user);
    await withFileLock(join(run.dir, LOCK_FILE), ctx.signal, this.startTimeoutMs + this.stopTimeoutMs, async () => {
      const existing = await this.findRunning(run, m);
      if (existing !== undefined) {
        const h = await this.waitHealthy(run, m, existing, this.startTimeoutMs);
        if (h.healthy) {
          await m.afterStart?.(run);
          run.emit('info', `${m.processName} already running (pid ${existing}) and healthy: ${h.detail}`);
          return;
        }
        run.emit('warn', `${m.processName} (pid ${existing}) is running but unhealthy (${h.detail}); restarting it`);
        await stopProcess(existing, this.identity(m, run.dir), { signal: m.stopSignal ?? 'SIGTERM', timeoutMs: this.stopTimeoutMs });
      }
      await this.start(run, m, program);
    });
  }

  private identity(m: ServiceModule, dir: string): ProcessIdentity {
    return { programs: [m.processName], marker: dir };
  }

  /** The pid of our running server, from the pid file or, failing that, from /proc (then adopted). */
  private async findRunning(run: ServiceRun, m: ServiceModule): Promise<number | undefined> {
    const pidPath = join(run.dir, `${m.processName}.pid`);
    const id = this.identity(m, run.dir);
    const pid = await readPidFile(pidPath);
    if (pid !== undefined && (await isOurProcess(pid, id))) return pid;
    const found = await findProcesses(id);
    if (found.length === 0) {
      if (pid !== undefined) await removeFile(pidPath);
      return undefined;
    }
    const [first, ...extra] = found as [number, ...number[]];
    for (const x of extra) {
      await stopProcess(x, id, { signal: m.stopSignal ?? 'SIGTERM', timeoutMs: this.stopTimeoutMs });
      run.emit('warn', `stopped a duplicate ${m.processName} (pid ${x})`);
    }
    await writePidFile(pidPath, first);
    run.emit('warn', `found ${m.processName} (pid ${first}) running without a valid pid file; adopted it`);
    return first;
  }

  private async start(run: ServiceRun, m: ServiceModule, program: string): Promise<void> {
    await mkdirOwned(run.confDir, run.user, 0o700);
    const marker = join(run.dir, INITIALIZED);
    if (!(await exists(marker))) {
      // A half-made data directory from an interrupted first start is not worth repairing.
      await rm(run.dataDir, { recursive: true, force: true });
      await mkdirOwned(run.dataDir, run.user, 0o700);
      if (m.initialize) {
        run.emit('info', `initializing ${m.type} data in ${run.dataDir}`);
        await m.initialize(run, program);
      }
      await writeFile(marker, new Date().toISOString() + '\n', { mode: 0o644 });
    } else {
      await mkdirOwned(run.dataDir, run.user, 0o700);
    }
    const launch = await m.configure(run, program);
    for (const p of m.ports(run)) {
      if (await portOpen(run.address, p, 500)) {
        throw new Error(`${run.address}:${p} is already in use by another program; ${m.type} cannot start on ${run.node.name}`);
      }
    }
    if (run.signal.aborted) throw abortError(run.signal);
    const logPath = join(run.dir, `${m.processName}.log`);
    run.emit('info', `starting ${m.processName} on ${run.address}:${run.port}${run.user ? ` as ${run.user.name}` : ''}`);
    const t0 = performance.now();
    const child = await spawnDetached({
      program: launch.program,
      args: launch.args,
      env: { ...baseEnv(run.confDir), ...(launch.env ?? {}) },
      cwd: run.confDir,
      logPath,
      ...(run.user ? { uid: run.user.uid, gid: run.user.gid } : {}),
    });
    await writePidFile(join(run.dir, `${m.processName}.pid`), child.pid);
    const h = await this.waitHealthy(run, m, child.pid, this.startTimeoutMs);
    if (!h.healthy) {
      const alive = await isAlive(child.pid);
      if (alive) await stopProcess(child.pid, this.identity(m, run.dir), { signal: m.stopSignal ?? 'SIGTERM', timeoutMs: this.stopTimeoutMs });
      await removeFile(join(run.dir, `${m.processName}.pid`));
      const tail = redact(await logTail(logPath, 15), run.secrets);
      const why = alive ? `did not become healthy within ${Math.round(this.startTimeoutMs / 1000)} s (${h.detail})` : `exited during start-up`;
      throw new Error(`${m.type} on ${run.node.name}: ${m.processName} ${why}${tail ? `; end of its log:\n${tail}` : ''}`);
    }
    await m.afterStart?.(run);
    const secs = ((performance.now() - t0) / 1000).toFixed(2);
    run.emit('info', `${m.type} ready on ${run.address}:${run.port} after ${secs} s (pid ${child.pid}): ${h.detail}`);
  }

  /** Polls the health check until it passes, the process dies, the time is up or the step is aborted. */
  private async waitHealthy(run: ServiceRun, m: ServiceModule, pid: number, timeoutMs: number): Promise<HealthResult> {
    const deadline = Date.now() + timeoutMs;
    let pause = 25;
    let last: HealthResult = { healthy: false, detail: 'not checked yet' };
    for (;;) {
      if (run.signal.aborted) throw abortError(run.signal);
      if (!(await isAlive(pid))) return { healthy: false, detail: `${m.processName} (pid ${pid}) is not running` };
      last = await m.health(run);
      if (last.healthy) return last;
      if (Date.now() >= deadline) return last;
      await sleep(pause, run.signal);
      pause = Math.min(pause * 2, 500);
    }
  }

  /** Stops the server and any helpers it left, by pid file and by /proc scan; returns how many. */
  private async stopAll(ctx: StepContext, m: ServiceModule, node: ProvisionedNode, dir: string): Promise<number> {
    const id = this.identity(m, dir);
    const pids = new Set<number>();
    const fromFile = await readPidFile(join(dir, `${m.processName}.pid`));
    if (fromFile !== undefined && (await isOurProcess(fromFile, id))) pids.add(fromFile);
    for (const p of await findProcesses(id)) pids.add(p);
    let n = 0;
    for (const pid of pids) {
      const r = await stopProcess(pid, id, { signal: m.stopSignal ?? 'SIGTERM', timeoutMs: this.stopTimeoutMs });
      if (r === 'stopped' || r === 'killed') {
        n++;
        ctx.emit({ level: r === 'killed' ? 'warn' : 'info', phase: 'delete', node: node.name, service: m.type, message: `${r} ${m.processName} (pid ${pid})` });
      }
    }
    if (m.helperProcesses?.length) {
      const hid: ProcessIdentity = { programs: m.helperProcesses, marker: dir };
      for (const pid of await findProcesses(hid)) {
        const r = await stopProcess(pid, hid, { signal: 'SIGTERM', timeoutMs: 5_000 });
        if (r === 'stopped' || r === 'killed') n++;
      }
    }
    return n;
  }
}

function mergeConfig(d: ServiceDeployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of d.params) out[p.ParameterName] = p.DefaultValue;
  for (const [k, v] of Object.entries(d.config)) out[k] = v;
  return out;
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

async function mkdirSearchable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
}

async function logTail(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}


