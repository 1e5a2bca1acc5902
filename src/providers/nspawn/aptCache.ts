// apt-cacher-ng on the bridge address: nodes have no route to the internet, so their apt goes
// through this cache, which fetches from the mirror the host itself uses, and every package is
// downloaded once per host however many nodes and clusters install it. Bound to the bridge address
// only (never 0.0.0.0), with its own cache, log and socket under the provider's directory, so it
// neither serves other networks nor collides with an apt-cacher-ng someone else runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PROGRAMS, findProgram } from '../../host/run.js';
import { Daemon } from '../../host/daemon.js';
import { findProcessesWhere, matchesIdentity, stopProcess, type ProcessIdentity } from '../../host/processes.js';

export const APT_CACHE_PORT = 3142;

export class AptCache {
  private readonly daemon: Daemon;

  constructor(
    /** `<nspawn dir>/apt-cacher-ng`: cache/, log/, the pid file and the socket. */
    readonly dir: string,
    readonly address: string,
    readonly port = APT_CACHE_PORT,
  ) {
    this.daemon = new Daemon({
      name: 'apt-cacher-ng',
      id: this.id,
      pidFile: join(dir, 'apt-cacher-ng.pid'),
      address,
      port,
      logPath: join(dir, 'apt-cacher-ng.out'),
      startTimeoutMs: 15_000,
    });
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  private get id(): ProcessIdentity {
    return { programs: ['apt-cacher-ng'], marker: this.dir };
  }

  /** Pid of our running cache, through the pid file or, when that was lost, a /proc scan. */
  running(): Promise<number | undefined> {
    return this.daemon.running();
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
    if (await this.daemon.serving()) return;
    const program = await findProgram(...PROGRAMS.aptCacherNg);
    if (!program) throw new Error('the nspawn provider needs apt-cacher-ng for apt inside nodes: apt-get install apt-cacher-ng');
    await this.daemon.stopRunning();
    for (const s of await this.strays()) await stopProcess(s.pid, { programs: ['apt-cacher-ng'], marker: s.dir }, { timeoutMs: 5_000 });
    for (const d of ['cache', 'log', 'conf']) await mkdir(join(this.dir, d), { recursive: true, mode: 0o755 });
    // An own, empty configuration: the package's Remap rules send deb.debian.org to a backend list
    // that fails offline ("503 Host not found"); without them it simply proxies and caches by URL.
    await writeFile(join(this.dir, 'conf', 'acng.conf'), '# written by Michman (nspawn provider); settings are on the command line\n');
    await this.daemon.start(
      {
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
      },
      signal,
    );
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}
