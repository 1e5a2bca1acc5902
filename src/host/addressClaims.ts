// Host-wide claims of loopback addresses. Every Michman on this host (whatever its data directory)
// claims a node's address in one directory, so two instances never hand out the same 127.x.y.z.
// A claim is a symbolic link named after the address whose target is the owning node's directory
// (absolute): creating it is exclusive and names the owner in the same step, so a process killed
// while claiming leaves either no claim or a whole one.
//
// A claim whose node directory is gone (its data directory was removed without deleting the node)
// is stale once it is older than STALE_MS, and is taken over: it is first renamed to a unique
// grave name, which only one taker can do to that link, and the grave is checked to be the very
// link that was judged stale before the new claim is made.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readlink, rename, rm, stat, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Default: one directory for the whole host; sticky and world-writable like /tmp itself. */
export const defaultClaimsDir = (): string => join(tmpdir(), 'michman-addresses');

/** A claim younger than this is never taken over: its owner may be creating the node directory. */
const STALE_MS = 60_000;

export class AddressClaims {
  constructor(readonly dir: string = defaultClaimsDir()) {}

  private path(address: string): string {
    return join(this.dir, address);
  }

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o1777 });
    // Shared by every user's Michman: sticky, so nobody removes another user's claim.
    const st = await stat(this.dir);
    if (st.uid === process.getuid?.() && (st.mode & 0o1777) !== 0o1777) await chmod(this.dir, 0o1777).catch(() => undefined);
  }

  /** Who holds `address`: the owning node directory, or undefined when nobody does. */
  async owner(address: string): Promise<string | undefined> {
    return readlink(this.path(address)).catch(() => undefined);
  }

  /** Claims `address` for `ownerDir` (absolute); true if it is now (or already was) ours. */
  async claim(address: string, ownerDir: string): Promise<boolean> {
    const path = this.path(address);
    for (let tries = 0; tries < 3; tries++) {
      try {
        await symlink(ownerDir, path);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = await readlink(path).catch(() => undefined);
      if (held === ownerDir) return true;
      if (held === undefined) continue; // released meanwhile: try again
      if (!(await this.takeOverStale(path, held))) return false;
    }
    return false;
  }

  async release(address: string, ownerDir: string): Promise<void> {
    const path = this.path(address);
    if ((await readlink(path).catch(() => undefined)) === ownerDir) await unlink(path).catch(() => undefined);
  }

  /** Removes the claim at `path` if it is still the stale one held for `held`; true if it is gone. */
  private async takeOverStale(path: string, held: string): Promise<boolean> {
    const st = await lstat(path).catch(() => undefined);
    if (!st) return true;
    if (Date.now() - st.mtimeMs < STALE_MS) return false;
    if (await stat(held).then(() => true, () => false)) return false; // its node still exists
    const grave = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(path, grave);
    } catch {
      return true; // another taker moved it first; the caller tries to claim again
    }
    const moved = await readlink(grave).catch(() => undefined);
    const movedSt = await lstat(grave).catch(() => undefined);
    if (moved !== held || movedSt?.mtimeMs !== st.mtimeMs) {
      // Between the look and the rename the stale claim was replaced by a fresh one: put it back.
      if (moved !== undefined) await symlink(moved, path).catch(() => undefined);
      await rm(grave, { force: true });
      return false;
    }
    await rm(grave, { force: true });
    return true;
  }
}
