// apt-cacher-ng on the bridge address: nodes have no route to the internet, so their apt goes
// through this cache, which fetches from the mirror the host itself uses, and every package is
// downloaded once per host however many nodes and clusters install it. Bound to the bridge address
// only (never 0.0.0.0), with its own cache, log and socket under the provider's directory, so it
// neither serves other networks nor collides with an apt-cacher-ng someone else runs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PROGRAMS, findProgram } from '../../host/run.js';
import {
  findProcesses,
  findProcessesWhere,
  holdsListener,
  isOurProcess,
  matchesIdentity,
  readPidFile,
  removeFile,
  sleep,
  spawnDetached,
  stopProcess,
  writePidFile,
  type ProcessIdentity,
} from '../../host/processes.js';

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

  /**
   * apt-cacher-ng processes of another directory bound to our address and port: left by a Michman
   * process killed before it could stop its cache. Such a listener outlives the bridge and answers
   * again when the bridge (and its address) comes back, so our own cache would fail to bind while
   * the nodes talked to one whose directory nobody owns any more.
   */
  async strays(): Promise<Array<{ pid: number; dir: string }>> {
    // One pass over /proc: the test keeps each match's cache directory.
    const dirs = new Map<number, string>();
    const pids = await findProcessesWhere((argv, pid) => {
      const bound = argv.some((a) => basename(a) === 'apt-cacher-ng') && argv.includes(`BindAddress=${this.address}`) && argv.includes(`Port=${this.port}`);
      const dir = argv.find((a) => a.startsWith('CacheDir='))?.slice('CacheDir='.length);
      if (!bound || !dir || matchesIdentity(argv, this.id)) return false;
      dirs.set(pid, dir);
      return true;
    });
    return pids.map((pid) => ({ pid, dir: dirs.get(pid)! }));
  }

  /** Starts the cache unless it runs, and waits until it accepts connections (bounded). */
  async ensure(signal?: AbortSignal): Promise<void> {
    const current = await this.running();
    if (current !== undefined && (await holdsListener(current, this.address, this.port))) return;
    const program = await findProgram(...PROGRAMS.aptCacherNg);
    if (!program) throw new Error('the nspawn provider needs apt-cacher-ng for apt inside nodes: apt-get install apt-cacher-ng');
    const old = await this.running();
    if (old !== undefined) await stopProcess(old, this.id, { timeoutMs: 5_000 });
    for (const s of await this.strays()) await stopProcess(s.pid, { programs: ['apt-cacher-ng'], marker: s.dir }, { timeoutMs: 5_000 });
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
    const until = performance.now() + 15_000;
    while (performance.now() < until) {
      // The listener must be our child's: apt-cacher-ng that cannot bind lives on without one, and
      // the port may be another program's.
      if (!(await isOurProcess(child.pid, this.id))) break;
      if (await holdsListener(child.pid, this.address, this.port)) return;
      await sleep(100, signal);
    }
    await stopProcess(child.pid, this.id, { timeoutMs: 5_000 });
    await removeFile(this.pidFile);
    const out = join(this.dir, 'apt-cacher-ng.out');
    const tail = (await readFile(out, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`apt-cacher-ng did not start on ${this.address}:${this.port}${tail ? `: ${tail}` : ''} (see ${out})`);
  }

  async stop(): Promise<void> {
    const pid = await this.running();
    if (pid !== undefined) await stopProcess(pid, this.id, { timeoutMs: 5_000 });
    await removeFile(this.pidFile);
  }
}
