// The Debian tree every nspawn node boots from, built once by debootstrap and shared read-only:
// nodes run with --volatile=overlay, so their writes land in a tmpfs and the image never changes.
// A stamp file written after the tree is complete marks it usable; a build that dies halfway leaves
// only a scratch directory, which the next build removes.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, symlink, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROGRAMS, findProgram, run } from '../../host/run.js';
import { sleep } from '../../host/sleep.js';

/** Bump when the tree's content or its post-configuration changes: older images are rebuilt. */
export const IMAGE_VERSION = 1;

export const IMAGE_PACKAGES = [
  'openssh-server',
  'python3',
  'systemd',
  'systemd-sysv',
  'dbus',
  'sudo',
  'ca-certificates',
  'iproute2',
  'procps',
  'gnupg',
];

/** Files inside the image that each node gets bind-mounted (read-only) from its own directory. */
export const NODE_AUTHORIZED_KEYS = '/etc/ssh/michman_authorized_keys';
export const NODE_APT_PROXY = '/etc/apt/apt.conf.d/00michman-proxy';

export interface ImageSpec {
  imagesDir: string;
  suite: string;
  mirror: string;
  /** Copied into the image as its apt sources when present (the host's own mirror and suites). */
  hostSources?: string;
}

interface Stamp {
  version: number;
  suite: string;
  mirror: string;
  packages: string[];
  builtAt: string;
  seconds: number;
}

export function imagePath(spec: Pick<ImageSpec, 'imagesDir' | 'suite'>): string {
  return join(spec.imagesDir, spec.suite);
}

const stampPath = (spec: Pick<ImageSpec, 'imagesDir' | 'suite'>) => join(spec.imagesDir, `${spec.suite}.json`);

export async function imageReady(spec: Pick<ImageSpec, 'imagesDir' | 'suite'>): Promise<boolean> {
  try {
    const s = JSON.parse(await readFile(stampPath(spec), 'utf8')) as Partial<Stamp>;
    if (s.version !== IMAGE_VERSION) return false;
    return (await stat(join(imagePath(spec), 'usr/sbin/sshd'))).isFile();
  } catch {
    return false;
  }
}

/** The suite and first mirror of the host's apt sources (deb822 or one-line format). */
export async function hostAptSource(): Promise<{ mirror?: string; suite?: string; sourcesFile?: string }> {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  const text = await readFile(deb822, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const mirror = /^URIs:\s*(\S+)/m.exec(text)?.[1];
    const suite = /^Suites:\s*(\S+)/m.exec(text)?.[1];
    return { mirror, suite, sourcesFile: deb822 };
  }
  const list = await readFile('/etc/apt/sources.list', 'utf8').catch(() => '');
  const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/m.exec(list);
  return m ? { mirror: m[1], suite: m[2] } : {};
}

const inflight = new Map<string, Promise<string>>();

/**
 * The image's root directory, built first if missing (about 75 s and 300 MB). Concurrent callers
 * share one build; another process building the same image is waited for (a lock directory).
 */
export function ensureImage(spec: ImageSpec, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const key = imagePath(spec);
  let p = inflight.get(key);
  if (!p) {
    p = buildIfMissing(spec, log, signal).finally(() => inflight.delete(key));
    inflight.set(key, p);
  }
  return p;
}

const LOCK_STALE_MS = 30 * 60_000;

async function buildIfMissing(spec: ImageSpec, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  if (await imageReady(spec)) return imagePath(spec);
  await mkdir(spec.imagesDir, { recursive: true, mode: 0o755 });
  const lock = join(spec.imagesDir, `.${spec.suite}.lock`);
  const waitUntil = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0);
    if (age > LOCK_STALE_MS) {
      await rmdir(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > waitUntil || signal?.aborted) throw new Error(`nspawn image ${spec.suite}: another build holds ${lock}`);
    await sleep(1000);
    if (await imageReady(spec)) return imagePath(spec);
  }
  try {
    if (await imageReady(spec)) return imagePath(spec);
    return await build(spec, log, signal);
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

async function build(spec: ImageSpec, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const debootstrap = await findProgram(...PROGRAMS.debootstrap);
  if (!debootstrap) throw new Error('building the nspawn image needs debootstrap: apt-get install debootstrap');
  // Leftovers of builds that died (their lock is gone, or we would not be here).
  for (const e of await readdir(spec.imagesDir)) {
    if (e.startsWith(`.${spec.suite}.build-`)) await rm(join(spec.imagesDir, e), { recursive: true, force: true });
  }
  const scratch = join(spec.imagesDir, `.${spec.suite}.build-${randomBytes(4).toString('hex')}`);
  const started = Date.now();
  log(`building the nspawn image ${spec.suite} from ${spec.mirror} with debootstrap (about 75 s)`);
  try {
    await run(debootstrap, ['--variant=minbase', `--include=${IMAGE_PACKAGES.join(',')}`, spec.suite, scratch, spec.mirror], {
      timeoutMs: 30 * 60_000,
      signal,
    });
    await configureTree(scratch, spec);
    const final = imagePath(spec);
    await rm(final, { recursive: true, force: true });
    await rename(scratch, final);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const stamp: Stamp = { version: IMAGE_VERSION, suite: spec.suite, mirror: spec.mirror, packages: IMAGE_PACKAGES, builtAt: new Date().toISOString(), seconds };
    await writeFile(stampPath(spec), JSON.stringify(stamp, null, 2) + '\n', { mode: 0o644 });
    log(`nspawn image ${spec.suite} built in ${seconds} s at ${final}`);
    return final;
  } catch (e) {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/** What a booted node needs of the tree, beyond the packages. */
async function configureTree(root: string, spec: ImageSpec): Promise<void> {
  const p = (rel: string) => join(root, rel);
  // nspawn's -M sets the hostname only when the image has none.
  await rm(p('etc/hostname'), { force: true });
  // Empty: each boot gets a machine ID of its own (in the overlay), not one shared by every node.
  await writeFile(p('etc/machine-id'), '');
  await rm(p('var/lib/dbus/machine-id'), { force: true });
  if (spec.hostSources) {
    await mkdir(p('etc/apt/sources.list.d'), { recursive: true });
    await copyFile(spec.hostSources, p('etc/apt/sources.list.d/debian.sources'));
    await rm(p('etc/apt/sources.list'), { force: true });
  }
  // The cluster's key comes in through a read-only bind of NODE_AUTHORIZED_KEYS, so roles stay free
  // to manage root's own authorized_keys (the users' keys) without locking Michman out.
  await mkdir(p('etc/ssh/sshd_config.d'), { recursive: true });
  await writeFile(
    p('etc/ssh/sshd_config.d/michman.conf'),
    [
      `AuthorizedKeysFile .ssh/authorized_keys ${NODE_AUTHORIZED_KEYS}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'UseDNS no',
      '',
    ].join('\n'),
  );
  await writeFile(p(NODE_AUTHORIZED_KEYS.slice(1)), '', { mode: 0o644 });
  await writeFile(p(NODE_APT_PROXY.slice(1)), '', { mode: 0o644 });
  // Timers that would take the dpkg lock in the middle of a role.
  for (const unit of ['apt-daily.timer', 'apt-daily-upgrade.timer']) {
    await rm(p(`etc/systemd/system/${unit}`), { force: true });
    await symlink('/dev/null', p(`etc/systemd/system/${unit}`));
  }
  // Downloaded .debs are dead weight in a shared image (the lists stay: roles may skip apt update).
  await rm(p('var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(p('var/cache/apt/archives/partial'), { recursive: true });
}
