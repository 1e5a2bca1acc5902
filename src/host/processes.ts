// Processes on this host (the local provider's services, the nspawn provider's helpers). Everything Michman knows about a running service lives on
// disk (pid files under the node's data directory), so a restarted Michman finds its processes again
// instead of starting duplicates or leaving orphans. A pid is only ever signalled after /proc shows
// that it still runs the expected program with the expected directory in its arguments: a stale pid
// file whose number the kernel has given to a stranger must never hurt the stranger.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile, readdir, readlink, rm, writeFile, rename } from 'node:fs/promises';
import { basename } from 'node:path';
import { sleep } from './sleep.js';

export { sleep, abortError } from './sleep.js';

/** What a process must look like to be ours: its program, and a directory that appears in its argv. */
export interface ProcessIdentity {
  /** Basenames any of which must appear as (the basename of) one of its arguments, e.g. `redis-server`. */
  programs: string[];
  /** Absolute directory (a service or node directory) that one of its arguments lies under. */
  marker: string;
}

export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export async function writePidFile(path: string, pid: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, `${pid}\n`, { mode: 0o644 });
  await rename(tmp, path);
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** argv of a live process; undefined when it is gone or a zombie (empty cmdline). */
export async function cmdlineOf(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined;
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

interface ProcStat {
  state: string;
  pgid: number;
  sid: number;
}

async function statOf(pid: number): Promise<ProcStat | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces and parentheses.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', pgid: Number(rest[2]), sid: Number(rest[3]) };
  } catch {
    return undefined;
  }
}

const dead = (state: string | undefined) => state === undefined || state === 'Z' || state === 'X';

/**
 * True while any thread of the process still runs. The main thread alone is not enough: a
 * multi-threaded program (Python, Go) can show a zombie leader while other threads still hold its
 * sockets open, and a zombie waiting to be reaped is gone for every purpose of ours.
 */
export async function isAlive(pid: number): Promise<boolean> {
  const st = await statOf(pid);
  if (st === undefined) return false;
  if (!dead(st.state)) return true;
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tasks) {
    if (tid === String(pid)) continue;
    try {
      const raw = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      if (!dead(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[0])) return true;
    } catch {
      /* thread gone meanwhile */
    }
  }
  return false;
}

export async function sessionOf(pid: number): Promise<number | undefined> {
  return (await statOf(pid))?.sid;
}

function underDir(arg: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  // `--config-file=/x/y` and `/x/y` both count; `/x/yz` does not lie under `/x/y`.
  const i = arg.indexOf(d);
  if (i < 0) return false;
  const after = arg.charAt(i + d.length);
  return after === '' || after === '/';
}

export function matchesIdentity(argv: string[], id: ProcessIdentity): boolean {
  const hasProgram = argv.some((a) => id.programs.includes(basename(a)));
  const hasMarker = argv.some((a) => underDir(a, id.marker));
  return hasProgram && hasMarker;
}

/** Whether `pid` is alive and is the program we expect (see ProcessIdentity). */
export async function isOurProcess(pid: number, id: ProcessIdentity): Promise<boolean> {
  const argv = await cmdlineOf(pid);
  if (!argv || !(await isAlive(pid))) return false;
  return matchesIdentity(argv, id);
}

/** Every live process that matches `id`: the fallback when a pid file was lost or is stale. */
export async function findProcesses(id: ProcessIdentity): Promise<number[]> {
  return findProcessesWhere((argv) => matchesIdentity(argv, id));
}

/** Every live process (but this one) whose argument vector passes `test`. */
export async function findProcessesWhere(test: (argv: string[], pid: number) => boolean): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  await Promise.all(
    entries.map(async (e) => {
      if (!/^\d+$/.test(e)) return;
      const pid = Number(e);
      if (pid === process.pid) return;
      const argv = await cmdlineOf(pid);
      if (argv && test(argv, pid) && (await isAlive(pid))) found.push(pid);
    }),
  );
  return found.sort((a, b) => a - b);
}

/**
 * Whether `pid` itself holds the TCP listening socket on IPv4 `address`:`port` (from /proc/net/tcp
 * and the process's descriptors). An open port alone does not say whose it is: a program that
 * failed to bind may live on while another one answers there.
 */
export async function holdsListener(pid: number, address: string, port: number): Promise<boolean> {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return false;
  // /proc/net/tcp writes the address as the kernel's 32-bit word in host order (little-endian here).
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  const local = `${[...octets].reverse().map((o) => hex(o, 2)).join('')}:${hex(port, 4)}`;
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[1] local address, f[3] state (0A = LISTEN), f[9] inode
    if (f[1] === local && f[3] === '0A' && f[9]) inodes.add(`socket:[${f[9]}]`);
  }
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) if (inodes.has(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''))) return true;
  return false;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await isAlive(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

function signalSafely(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

export type StopResult = 'stopped' | 'killed' | 'not-running' | 'not-ours';

/**
 * Stops a process we started: the polite signal, then SIGKILL to its whole process group after
 * `timeoutMs`. Stopping is not abortable on purpose: a half-stopped service is worse than a late one.
 */
export async function stopProcess(
  pid: number,
  id: ProcessIdentity,
  opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<StopResult> {
  if (!(await isAlive(pid))) return 'not-running';
  if (!(await isOurProcess(pid, id))) return 'not-ours';
  // Detached children lead their own session and group; only then is the group ours to kill.
  const st = await statOf(pid);
  const ownGroup = st !== undefined && st.pgid === pid;
  signalSafely(pid, opts.signal ?? 'SIGTERM');
  if (await waitGone(pid, opts.timeoutMs ?? 10_000)) {
    // Helpers the leader left behind (they keep the group alive, so its id cannot have been reused).
    if (ownGroup) signalSafely(-pid, 'SIGKILL');
    return 'stopped';
  }
  if (!(await isOurProcess(pid, id))) return 'stopped';
  signalSafely(ownGroup ? -pid : pid, 'SIGKILL');
  await waitGone(pid, 5_000);
  return 'killed';
}

export interface SpawnSpec {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Output of the program (appended). */
  logPath: string;
  uid?: number;
  gid?: number;
}

/**
 * Starts a program in its own session, detached from Michman: it keeps running when Michman exits,
 * and Michman finds it again through the pid file the caller writes. Resolves once the kernel has
 * started it (rejects on ENOENT/EACCES).
 */
export function spawnDetached(spec: SpawnSpec): Promise<ChildProcess & { pid: number }> {
  const fd = openSync(spec.logPath, 'a', 0o640);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.program, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', fd, fd],
        ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
        ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
      });
    } catch (e) {
      close();
      reject(e as Error);
      return;
    }
    child.once('error', (e) => {
      close();
      reject(e);
    });
    child.once('spawn', () => {
      close();
      child.unref();
      resolve(child as ChildProcess & { pid: number });
    });
  });
}
