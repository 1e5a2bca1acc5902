// The nspawn provider's apt cache: a cache left running by a killed Michman on the same address and
// port is stopped and replaced, not silently used; a port held by some other program is an error
// that says why, not a cache that "started". On a loopback address of its own; nothing is sent.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptCache } from '../../src/providers/nspawn/aptCache.js';
import { holdsListener, isAlive } from '../../src/host/processes.js';
import { lacksProgram } from '../helpers/requirements.js';

const ADDRESS = '127.0.0.93';

describe('holdsListener', () => {
  it("tells this process's listening socket from a free port and from another process", async () => {
    const s: Server = await new Promise((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => resolve(srv));
    });
    const { port } = s.address() as { port: number };
    expect(await holdsListener(process.pid, '127.0.0.1', port)).toBe(true);
    expect(await holdsListener(process.pid, '127.0.0.2', port)).toBe(false);
    expect(await holdsListener(1, '127.0.0.1', port)).toBe(false);
    await new Promise((r) => s.close(r));
    expect(await holdsListener(process.pid, '127.0.0.1', port)).toBe(false);
  });
});

/** A free port below 32768: apt-cacher-ng refuses higher ones ("Error resolving address for binding"). */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer()
        .once('error', () => resolve(false))
        .listen(port, ADDRESS, () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768');
}

describe.skipIf(lacksProgram('/usr/sbin/apt-cacher-ng'))('nspawn apt cache', () => {
  let dir: string;
  const caches: AptCache[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'michman-aptcache-'));
  });
  afterAll(async () => {
    for (const c of caches) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const cache = (name: string, port: number) => {
    const c = new AptCache(join(dir, name), ADDRESS, port);
    caches.push(c);
    return c;
  };

  it("stops another directory's cache bound to its address and port, and runs its own", async () => {
    const port = await freePort();
    const left = cache('left-behind', port);
    await left.ensure();
    const leftPid = (await left.running())!;
    expect(leftPid).toBeGreaterThan(0);

    const ours = cache('ours', port);
    expect((await ours.strays()).map((s) => s.pid)).toEqual([leftPid]);
    await ours.ensure();
    const ourPid = (await ours.running())!;
    expect(ourPid).toBeGreaterThan(0);
    expect(ourPid).not.toBe(leftPid);
    expect(await isAlive(leftPid)).toBe(false);
    expect(await ours.strays()).toEqual([]);
    // A cache on another port of the same address is not a stray.
    const other = cache('other-port', await freePort());
    await other.ensure();
    expect(await ours.strays()).toEqual([]);
    expect(await isAlive((await other.running())!)).toBe(true);
  }, 60_000);

  it('fails, quoting the reason, when another program holds the port', async () => {
    const port = await freePort();
    // Its own listener on the port: an apt-cacher-ng that started but could not bind is not "up".
    const holder: Server = await new Promise((resolve) => {
      const s = createServer((c) => c.destroy()).listen(port, ADDRESS, () => resolve(s));
    });
    try {
      const c = cache('blocked', port);
      await expect(c.ensure()).rejects.toThrow(new RegExp(`apt-cacher-ng did not start on ${ADDRESS.replace(/\./g, '\\.')}:${port}`));
      expect(await c.running()).toBeUndefined();
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 60_000);
});
