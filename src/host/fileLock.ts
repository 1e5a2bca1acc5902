// A lock file across processes: two deploys (or a deploy and a remove) of one local service on one
// node, in this process or another Michman, never interleave.
//
// The lock names its holder by pid and the process's start time (from /proc), so a pid the kernel
// has reused does not keep a dead holder's lock alive. It is written whole to a temporary file and
// then hard-linked into place, an exclusive create that no reader can see half-written. A lock is
// taken over only when its holder is dead, never for its age: a long deploy keeps its lock. The
// takeover happens under a second lock, `<path>.takeover`, created the same exclusive way: while a
// taker holds it nobody else can change the lock file (acquirers fail to link over it, other
// takers wait, and the dead holder releases nothing), so the taker looks again, and if the holder
// is still dead, renames its own lock over the dead one. The takeover lock is held for a few
// milliseconds; one left by a taker that died is removed after TAKEOVER_GRACE_MS.
import { randomBytes } from 'node:crypto';
import { link, lstat, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { isAlive } from './processes.js';
import { sleep } from './sleep.js';

/** A takeover lock older than this whose taker is dead is removed. */
const TAKEOVER_GRACE_MS = 5_000;

/** An unreadable lock (a version that wrote it in two steps, or a crash) counts as dead after this. */
const UNREADABLE_GRACE_MS = 10_000;

/** The start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat). */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface Holder {
  pid: number;
  start: string;
  token: string;
}

function parse(text: string): Holder | undefined {
  const [pid, start, token] = text.trim().split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0 || !start || !token) return undefined;
  return { pid: n, start, token };
}

/** Whether the lock's holder still runs: the same pid with the same start time, not a zombie. */
async function holderAlive(h: Holder): Promise<boolean> {
  return (await processStartTime(h.pid)) === h.start && (await isAlive(h.pid));
}

export async function withFileLock<T>(path: string, signal: AbortSignal, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const start = (await processStartTime(process.pid)) ?? '0';
  const token = randomBytes(8).toString('hex');
  const mine = `${process.pid} ${start} ${token}\n`;
  const tmp = `${path}.${process.pid}-${token}.tmp`;
  await writeFile(tmp, mine, { mode: 0o600 });
  try {
    for (;;) {
      try {
        await link(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // released meanwhile
      if (await isDead(path, text)) {
        if (await takeOver(path, tmp)) break;
        continue;
      }
      if (Date.now() >= deadline) throw new Error(`another deploy or remove holds ${path}; gave up after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(100, signal);
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  try {
    return await fn();
  } finally {
    // Only our own lock: remove() deletes the directory (and the lock) itself.
    const now = await readFile(path, 'utf8').catch(() => '');
    if (now === mine) await rm(path, { force: true });
  }
}

async function isDead(path: string, text: string): Promise<boolean> {
  const h = parse(text);
  if (h) return !(await holderAlive(h));
  const st = await lstat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > UNREADABLE_GRACE_MS;
}

/**
 * Replaces a dead holder's lock with ours (the content of `mineTmp`), under the takeover lock.
 * True when we now hold the lock; false to look again (someone else is taking over, or the lock
 * changed hands).
 */
async function takeOver(path: string, mineTmp: string): Promise<boolean> {
  const guard = `${path}.takeover`;
  try {
    await link(mineTmp, guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const held = await readFile(guard, 'utf8').catch(() => undefined);
    const st = await lstat(guard).catch(() => undefined);
    const h = held === undefined ? undefined : parse(held);
    if (st && Date.now() - st.mtimeMs > TAKEOVER_GRACE_MS && !(h && (await holderAlive(h)))) await unlink(guard).catch(() => undefined);
    await sleep(5);
    return false;
  }
  try {
    // Under the guard the lock file cannot change but by us: look again before replacing it.
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined || !(await isDead(path, text))) return false;
    const copy = `${mineTmp}.take`;
    await link(mineTmp, copy);
    await rename(copy, path);
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}
