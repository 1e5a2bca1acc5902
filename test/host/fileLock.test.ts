// The lock file that keeps two deploys/removes of one local service apart, across processes: a
// live holder keeps it however long it takes; only a dead holder's lock is taken over, by one
// taker at a time; a lock being written is never mistaken for a dead one.
import { describe, it, expect, afterAll, afterEach, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from '../../src/host/fileLock.js';

const dir = mkdtempSync(join(tmpdir(), 'michman-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('withFileLock', () => {
  it('a live holder keeps its lock however old it is (no takeover after 15 minutes)', async () => {
    const path = join(dir, 'live.lock');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holder = withFileLock(path, AbortSignal.timeout(60_000), 60_000, async () => {
      entered();
      await held;
    });
    await inside;
    // An hour later, by the clock; the holder (this very process) still runs.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 3_600_000);
    await expect(withFileLock(path, AbortSignal.timeout(10_000), 300, async () => 'stolen')).rejects.toThrow(/holds/);
    vi.useRealTimers();
    release();
    await holder;
  });

  it('a dead holder’s lock is taken over by exactly one of many concurrent takers at a time', async () => {
    const path = join(dir, 'dead.lock');
    writeFileSync(path, `${deadPid()} ${Date.now()} stale\n`);
    let now = 0;
    let most = 0;
    const takers = Array.from({ length: 12 }, (_, i) =>
      withFileLock(path, AbortSignal.timeout(30_000), 30_000, async () => {
        now++;
        most = Math.max(most, now);
        await new Promise((r) => setTimeout(r, 5 + (i % 3)));
        now--;
      }),
    );
    await Promise.all(takers);
    expect(most).toBe(1);
  });

  it('a lock file still being written (empty, fresh) is not taken for a dead holder’s', async () => {
    const path = join(dir, 'torn.lock');
    writeFileSync(path, '');
    await expect(withFileLock(path, AbortSignal.timeout(10_000), 300, async () => 'stolen')).rejects.toThrow(/holds/);
  });

  it('many concurrent takers of a free lock: one at a time', async () => {
    const path = join(dir, 'free.lock');
    let now = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withFileLock(path, AbortSignal.timeout(30_000), 30_000, async () => {
          now++;
          most = Math.max(most, now);
          await new Promise((r) => setTimeout(r, 3));
          now--;
        }),
      ),
    );
    expect(most).toBe(1);
  });
});
