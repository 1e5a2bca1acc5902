// Host commands of the nspawn provider (ip, debootstrap, ssh-keygen, ...): argument arrays, never a
// shell, so names and paths cannot be re-parsed; a hard timeout each, so no step hangs for ever; the
// output kept for the error message (none of these commands ever sees a secret).
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Exit codes that are not failures (e.g. 1 for "not found" answers). */
  okCodes?: number[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
}

const TAIL = 4000;

export class CommandError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
  }
}

export function run(program: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    const child = spawn(program, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      // Own process group, so a timeout kills helpers (debootstrap runs dpkg, chroot, ...) too.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout = (stdout + b.toString()).slice(-256 * 1024)));
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-64 * 1024)));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let why: string | undefined;
    const kill = (reason: string) => {
      why ??= reason;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = () => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`${program}: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const c = code ?? (sig ? 128 : 1);
      const ok = c === 0 || (opts.okCodes ?? []).includes(c);
      if (ok && !why) return resolve({ code: c, stdout, stderr });
      const cmd = [program, ...args].join(' ');
      const out = (stderr.trim() || stdout.trim()).slice(-TAIL);
      const msg = why ? `${cmd}: ${why}` : `${cmd} exited with ${c}${out ? `: ${out.split('\n').slice(-3).join(' | ')}` : ''}`;
      reject(new CommandError(msg, out));
    });
  });
}

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of `candidates` that exists and is executable. */
export async function findProgram(...candidates: string[]): Promise<string | undefined> {
  for (const c of candidates) if (await isExecutable(c)) return c;
  return undefined;
}

export const PROGRAMS = {
  nspawn: ['/usr/bin/systemd-nspawn'],
  debootstrap: ['/usr/sbin/debootstrap'],
  ip: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'],
  sshKeygen: ['/usr/bin/ssh-keygen'],
  ssh: ['/usr/bin/ssh'],
  aptCacherNg: ['/usr/sbin/apt-cacher-ng'],
} as const;

/**
 * What the nspawn provider lacks on this host, as sentences naming the fix; empty = ready.
 * Root is needed for namespaces, links and booting containers.
 */
export async function preflight(opts: { aptCache: boolean }): Promise<string[]> {
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('the nspawn provider needs root (network namespaces, links and containers); run michman as root');
  }
  const missing: string[] = [];
  if (!(await findProgram(...PROGRAMS.nspawn))) missing.push('systemd-container');
  if (!(await findProgram(...PROGRAMS.debootstrap))) missing.push('debootstrap');
  if (!(await findProgram(...PROGRAMS.ip))) missing.push('iproute2');
  if (!(await findProgram(...PROGRAMS.sshKeygen)) || !(await findProgram(...PROGRAMS.ssh))) missing.push('openssh-client');
  if (opts.aptCache && !(await findProgram(...PROGRAMS.aptCacherNg))) missing.push('apt-cacher-ng');
  if (missing.length > 0) {
    problems.push(`the nspawn provider needs the Debian packages ${missing.join(', ')}: apt-get install ${missing.join(' ')}`);
  }
  return problems;
}
