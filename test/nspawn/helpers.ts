// Shared by the nspawn tests: when they may run, where the cached image lives, and host checks
// that nothing of a cluster is left (containers, namespaces, links).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { NspawnProvider } from '../../src/providers/nspawn/index.js';

/** Root, the Debian packages, and the opt-in of `npm run test:nspawn` (these tests take minutes). */
export const nspawnMissing: string | undefined = (() => {
  if (process.env.MICHMAN_TEST_NSPAWN !== '1') return 'MICHMAN_TEST_NSPAWN is not 1 (npm run test:nspawn sets it)';
  if (process.getuid?.() !== 0) return 'not root';
  for (const p of ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap', '/usr/sbin/apt-cacher-ng', '/usr/bin/ansible-playbook']) {
    if (!existsSync(p)) return `${p} is missing`;
  }
  return undefined;
})();

/** Image cache shared by test runs (built once per machine, about 75 s). */
export const IMAGES_DIR = process.env.MICHMAN_NSPAWN_IMAGES_DIR ?? '/var/tmp/michman-nspawn-images';

export function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export function linkNames(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

/** Pids of live processes whose argv mentions `text`. */
export function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
      if (argv.includes(text) && state !== 'Z') out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function ssh(keyFile: string, address: string, command: string): string {
  return execFileSync(
    'ssh',
    ['-i', keyFile, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${address}`, command],
    { encoding: 'utf8', timeout: 60_000 },
  );
}

/**
 * After a cluster's delete: no container, network namespace or link of it, no bridge (it was the
 * provider's last cluster), no process under the data directory's nspawn/ (apt cache, artifact
 * server), and the artifact server gone with the bridge.
 */
export async function nothingLeftOf(provider: NspawnProvider, clusterId: string, dataDir: string): Promise<void> {
  expect(await provider.leftovers(clusterId)).toEqual([]);
  expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
  expect(linkNames()).not.toContain(provider.bridge);
  expect(processesWith(join(dataDir, 'nspawn'))).toEqual([]);
  // The artifact cache's files stay (shared, like the node image), not its server.
  expect(await provider.artifacts.running()).toBeUndefined();
}
