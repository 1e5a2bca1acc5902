// Files and users of local services. When Michman runs as root, each service runs as a system user of
// its own (postgres and mariadbd refuse root outright, and nobody should get a root shell through a
// notebook); its directories and config files are then owned by that user, mode 0700/0600.
import { chmod, chown, mkdir, readFile, stat, writeFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

let passwdCache: Map<string, ServiceUser> | undefined;

async function passwd(): Promise<Map<string, ServiceUser>> {
  if (passwdCache) return passwdCache;
  const map = new Map<string, ServiceUser>();
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !f[0]) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) map.set(f[0], { name: f[0], uid, gid });
  }
  passwdCache = map;
  return map;
}

/** The first existing user of `candidates` (then `nobody`) when we are root; undefined = run as ourselves. */
export async function serviceUser(candidates: string[]): Promise<ServiceUser | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const users = await passwd();
  for (const name of [...candidates, 'nobody']) {
    const u = users.get(name);
    if (u && u.uid !== 0) return u;
  }
  throw new Error(`no unprivileged user to run the service as (tried ${[...candidates, 'nobody'].join(', ')})`);
}

export async function mkdirOwned(path: string, user: ServiceUser | undefined, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode);
  if (user) await chown(path, user.uid, user.gid);
}

/** Writes a file atomically with `mode`, owned by `user` when given. */
export async function writeOwned(path: string, content: string, user: ServiceUser | undefined, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, content, { mode, flag: 'wx' });
  await chmod(tmp, mode);
  if (user) await chown(tmp, user.uid, user.gid);
  await rename(tmp, path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fails with a clear message when `user` cannot reach `dir`: every ancestor must be searchable by it.
 * (A data root under a 0700 home or mkdtemp directory is the usual culprit.)
 */
export async function assertReachable(dir: string, user: ServiceUser | undefined): Promise<void> {
  if (!user) return;
  let d = dir;
  for (;;) {
    const st = await stat(d);
    const ok =
      (st.uid === user.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === user.gid && (st.mode & 0o010) !== 0) ||
      (st.mode & 0o001) !== 0;
    if (!ok) {
      throw new Error(
        `directory ${d} is not searchable by the service user ${user.name}; run 'chmod o+x ${d}' or choose a data root outside it`,
      );
    }
    const up = dirname(d);
    if (up === d) return;
    d = up;
  }
}
