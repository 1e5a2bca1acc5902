// A helper daemon a provider runs on the host (the nspawn provider's apt cache and artifact server):
// detached from Michman so it outlives a restart, found again through its pid file or, when that
// was lost, a /proc scan for its identity (program and marker argument), and counted as up only
// when that very process holds the listening socket: a daemon that could not bind lives on without
// one, and the port may be another program's.
import { readFile } from 'node:fs/promises';
import { findProcesses, holdsListener, isOurProcess, readPidFile, removeFile, sleep, spawnDetached, stopProcess, writePidFile } from './processes.js';
import type { ProcessIdentity, SpawnSpec } from './processes.js';

export interface DaemonSpec {
  /** How errors name it ("apt-cacher-ng", "the artifact cache"). */
  name: string;
  id: ProcessIdentity;
  pidFile: string;
  address: string;
  port: number;
  /** Its output (appended); the last lines go into a start failure's message. */
  logPath: string;
  /** How long it may take to listen after the spawn. */
  startTimeoutMs: number;
}

const STOP_TIMEOUT_MS = 5_000;

export class Daemon {
  constructor(readonly spec: DaemonSpec) {}

  /** Pid of our running daemon, through the pid file or, when that was lost, a /proc scan. */
  async running(): Promise<number | undefined> {
    const pid = await readPidFile(this.spec.pidFile);
    if (pid !== undefined && (await isOurProcess(pid, this.spec.id))) return pid;
    return (await findProcesses(this.spec.id))[0];
  }

  /** Whether ours runs and holds the listener on its address and port. */
  async serving(): Promise<boolean> {
    const pid = await this.running();
    return pid !== undefined && (await holdsListener(pid, this.spec.address, this.spec.port));
  }

  /** Stops ours if it runs (a leftover that does not listen, before a new start). */
  async stopRunning(): Promise<void> {
    const pid = await this.running();
    if (pid !== undefined) await stopProcess(pid, this.spec.id, { timeoutMs: STOP_TIMEOUT_MS });
  }

  /**
   * Spawns it (output to logPath), records its pid and waits, bounded, until it listens. On failure
   * it is stopped, the pid file removed, and the error names the address and the log's last lines.
   */
  async start(run: Omit<SpawnSpec, 'logPath'>, signal?: AbortSignal): Promise<void> {
    const { id, pidFile, address, port, logPath } = this.spec;
    const child = await spawnDetached({ ...run, logPath });
    await writePidFile(pidFile, child.pid);
    const until = performance.now() + this.spec.startTimeoutMs;
    while (performance.now() < until) {
      if (!(await isOurProcess(child.pid, id))) break;
      if (await holdsListener(child.pid, address, port)) return;
      await sleep(100, signal);
    }
    await stopProcess(child.pid, id, { timeoutMs: STOP_TIMEOUT_MS });
    await removeFile(pidFile);
    const tail = (await readFile(logPath, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${this.spec.name} did not start on ${address}:${port}${tail ? `: ${tail}` : ''} (see ${logPath})`);
  }

  async stop(): Promise<void> {
    await this.stopRunning();
    await removeFile(this.spec.pidFile);
  }
}
