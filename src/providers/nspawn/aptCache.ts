// apt-cacher-ng on the bridge address: nodes have no route to the internet, so their apt goes
// through this cache, which fetches from the mirror the host itself uses, and every package is
// downloaded once per host however many nodes and clusters install it. Bound to the bridge address
// only (never 0.0.0.0), with its own cache, log and socket under the provider's directory, so it
// neither serves other networks nor collides with an apt-cacher-ng someone else runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROGRAMS, findProgram } from './host.js';
import {
  findProcesses,
  isOurProcess,
  readPidFile,
  removeFile,
  sleep,
  spawnDetached,
  stopProcess,
  writePidFile,
  type ProcessIdentity,
} from '../local/processes.js';
import { portOpen } from '../../deploy/local/net.js';

export const APT_CACHE_PORT = 3142;

export class AptCache {
  constructor(
    /** `<nspawn dir>/apt-cacher-ng`: cache/, log/, the pid file and the socket. */
    readonly dir: string,
    readonly address: string,
    readonly port = APT_CACHE_PORT,
  ) {}

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  private get id(): ProcessIdentity {
    return { programs: ['apt-cacher-ng'], marker: this.dir };
  }

  private get pidFile(): string {
    return join(this.dir, 'apt-cacher-ng.pid');
  }

  /** Pid of our running cache, through the pid file or, when that was lost, a /proc scan. */
  async running(): Promise<number | undefined> {
    const pid = await readPidFile(this.pidFile);
    if (pid !== undefined && (await isOurProcess(pid, this.id))) return pid;
    return (await findProcesses(this.id))[0];
  }

  /** Starts the cache unless it runs, and waits until it accepts connections (bounded). */
  async ensure(signal?: AbortSignal): Promise<void> {
    if ((await this.running()) !== undefined && (await portOpen(this.address, this.port, 1000))) return;
    const program = await findProgram(...PROGRAMS.aptCacherNg);
    if (!program) throw new Error('the nspawn provider needs apt-cacher-ng for apt inside nodes: apt-get install apt-cacher-ng');
    const old = await this.running();
    if (old !== undefined) await stopProcess(old, this.id, { timeoutMs: 5_000 });
    for (const d of ['cache', 'log', 'conf']) await mkdir(join(this.dir, d), { recursive: true, mode: 0o755 });
    // An own, empty configuration: the package's Remap rules send deb.debian.org to a backend list
    // that fails offline ("503 Host not found"); without them it simply proxies and caches by URL.
    await writeFile(join(this.dir, 'conf', 'acng.conf'), '# written by Michman (nspawn provider); settings are on the command line\n');
    const child = await spawnDetached({
      program,
      args: [
        '-c',
        join(this.dir, 'conf'),
        'ForeGround=1',
        `BindAddress=${this.address}`,
        `Port=${this.port}`,
        `CacheDir=${join(this.dir, 'cache')}`,
        `LogDir=${join(this.dir, 'log')}`,
        `SocketPath=${join(this.dir, 'socket')}`,
        'ReportPage=',
      ],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: this.dir,
      logPath: join(this.dir, 'apt-cacher-ng.out'),
    });
    await writePidFile(this.pidFile, child.pid);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (await portOpen(this.address, this.port, 500)) return;
      if (!(await isOurProcess(child.pid, this.id))) break;
      await sleep(100, signal);
    }
    throw new Error(`apt-cacher-ng did not start on ${this.address}:${this.port}; see ${join(this.dir, 'apt-cacher-ng.out')}`);
  }

  async stop(): Promise<void> {
    const pid = await this.running();
    if (pid !== undefined) await stopProcess(pid, this.id, { timeoutMs: 5_000 });
    await removeFile(this.pidFile);
  }
}
