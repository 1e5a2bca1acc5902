// One ansible-playbook run: inventory and extra-vars in a private temporary directory (0700, files
// 0600, removed afterwards; nothing secret on the command line), the JSON-lines callback on stdout
// turned into events as they come, and cancel/deadline honoured by killing the whole process group
// (ansible forks workers and ssh clients; killing the leader alone would leave them running).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { findProcessesWhere } from '../../host/processes.js';
import { sleep } from '../../host/sleep.js';
import { failureMessage, isFatal, parseLine, type HostStats, type TaskResult, type TaskStart } from './events.js';

export interface PlaybookRun {
  /** Directory holding the playbooks and ansible.cfg (the working directory of the run). */
  ansibleDir: string;
  playbook: string;
  inventory: string;
  /** The serialized extra-vars (serializeExtraVars). */
  extraVars: string;
  limit?: string[];
  /** Directory of michman_events.py. */
  callbackDir: string;
  program?: string;
  signal: AbortSignal;
  onResult(r: TaskResult): void;
  /** A task or handler starts. */
  onTaskStart?(t: TaskStart): void;
  /** Secret values to keep out of errors. */
  redact(text: string): string;
  /**
   * Longest time one task may run (ANSIBLE_TASK_TIMEOUT): a task that hangs then fails with its
   * host, role and task named, well before the phase deadline ends the whole step. 0: no limit.
   */
  taskTimeoutSeconds?: number;
  /** Grace between SIGTERM and SIGKILL of the process group on abort (default 5 s). */
  killGraceMs?: number;
  /**
   * Records the run (pid and temp directory) while it lasts. ansible-playbook runs in its own
   * process group and outlives a Michman that dies; the next run of the cluster finds the record,
   * stops that orphan and removes its files before starting (see stopStaleRun).
   */
  pidFile?: string;
  /** The inventory names a known_hosts file of pinned keys: Ansible checks host keys (cloud nodes). */
  hostKeyChecking?: boolean;
}

export interface PlaybookOutcome {
  code: number;
  stats: Record<string, HostStats>;
  results: TaskResult[];
  seconds: number;
}

export class PlaybookError extends Error {
  constructor(
    message: string,
    /** Excerpt of the module's message and ansible's stderr, copied into the operation error. */
    readonly output: string,
    readonly host?: string,
    readonly role?: string,
    readonly task?: string,
  ) {
    super(message);
    this.name = 'PlaybookError';
  }
}

export const ANSIBLE_PLAYBOOK = '/usr/bin/ansible-playbook';

export function ansibleEnv(callbackDir: string, hostKeyChecking = false): NodeJS.ProcessEnv {
  // Only what ansible needs from ours: no MICHMAN_* (database URLs, secrets) reaches its processes.
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'USER', 'LOGNAME', 'TMPDIR', 'SSH_AUTH_SOCK'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.PATH ??= '/usr/sbin:/usr/bin:/sbin:/bin';
  return {
    ...env,
    ANSIBLE_STDOUT_CALLBACK: 'michman_events',
    ANSIBLE_CALLBACK_PLUGINS: callbackDir,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    // ansible.cfg says False for machines Michman builds (nspawn); cloud runs check pinned keys.
    ANSIBLE_HOST_KEY_CHECKING: hostKeyChecking ? 'True' : 'False',
    PYTHONUNBUFFERED: '1',
  };
}

/**
 * Stops the run a previous Michman process left behind (its pid file names the pid and the temp
 * directory that must appear in its arguments, so a reused pid is never signalled) and removes its
 * files. Returns the pid it stopped, if any.
 */
export async function stopStaleRun(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const [pidText, dir] = text.split('\n');
  const pid = Number(pidText);
  let stopped: number | undefined;
  if (Number.isInteger(pid) && pid > 1 && dir && dir.includes('michman-ansible-')) {
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (argv.includes(dir)) {
      stopped = pid;
      for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
        try {
          process.kill(-pid, sig);
        } catch {
          break;
        }
        const until = Date.now() + 5000;
        while (Date.now() < until && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== '') await sleep(100);
      }
    }
    await stopControlMasters(dir);
    await rm(dir, { recursive: true, force: true });
  }
  await rm(pidFile, { force: true });
  return stopped;
}

/**
 * Each run keeps its ssh connection masters in its own directory (ANSIBLE_SSH_CONTROL_PATH_DIR),
 * not in the shared ~/.ansible/cp: a master there is keyed by address and user only, so a run
 * could reuse one left by another cluster's earlier node at the same address (another machine,
 * or a dead connection). Masters detach into their own session, so the group kill misses them;
 * they are found by that directory in their title (`ssh: <dir>/cp/<hash> [mux]`) and stopped.
 */
async function stopControlMasters(dir: string): Promise<void> {
  const cp = join(dir, 'cp');
  for (const pid of await findProcessesWhere((argv) => argv.some((a) => a.includes(cp)))) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

export async function runPlaybook(o: PlaybookRun): Promise<PlaybookOutcome> {
  if (o.signal.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'michman-ansible-'));
  if (o.pidFile) await mkdir(dirname(o.pidFile), { recursive: true, mode: 0o700 });
  try {
    const inventory = join(dir, 'inventory.ini');
    const vars = join(dir, 'extravars.json');
    await writeFile(inventory, o.inventory, { mode: 0o600 });
    await writeFile(vars, o.extraVars, { mode: 0o600 });
    const args = ['-i', inventory, o.playbook, '-e', `@${vars}`];
    if (o.limit && o.limit.length > 0) args.push('--limit', o.limit.join(','));
    return await execute(o, args, started, dir);
  } finally {
    await stopControlMasters(dir);
    await rm(dir, { recursive: true, force: true });
    if (o.pidFile) await rm(o.pidFile, { force: true });
  }
}

function execute(o: PlaybookRun, args: string[], started: number, dir: string): Promise<PlaybookOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.program ?? ANSIBLE_PLAYBOOK, args, {
      cwd: o.ansibleDir,
      env: {
        ...ansibleEnv(o.callbackDir, o.hostKeyChecking),
        ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
        ...(o.taskTimeoutSeconds !== undefined ? { ANSIBLE_TASK_TIMEOUT: String(o.taskTimeoutSeconds) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (o.pidFile && child.pid !== undefined) writeFileSync(o.pidFile, `${child.pid}\n${dir}\n`, { mode: 0o600 });
    const results: TaskResult[] = [];
    let stats: Record<string, HostStats> = {};
    let raw = '';
    let stderr = '';
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const ev = parseLine(line);
      if (!ev) {
        raw = (raw + line + '\n').slice(-4000);
        return;
      }
      try {
        if (ev.event === 'result') {
          results.push(ev);
          o.onResult(ev);
        } else if (ev.event === 'task') o.onTaskStart?.(ev);
        else if (ev.event === 'stats') stats = ev.hosts;
      } catch {
        /* an event sink's trouble must not kill the run */
      }
    });
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* gone */
      }
    };
    const onAbort = () => {
      aborted = true;
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), o.killGraceMs ?? 5000);
      killTimer.unref();
    };
    o.signal.addEventListener('abort', onAbort, { once: true });

    child.once('error', (e) => {
      o.signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${o.program ?? ANSIBLE_PLAYBOOK}: ${e.message}${(e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (apt-get install ansible)' : ''}`));
    });
    child.once('close', (code, sig) => {
      o.signal.removeEventListener('abort', onAbort);
      // Whatever the leader's fate, nothing of the group may outlive the run.
      group('SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      const rc = code ?? (sig ? 128 : 1);
      const seconds = (Date.now() - started) / 1000;
      if (aborted) {
        const r = o.signal.reason;
        return reject(r instanceof Error ? r : new Error(`ansible ${o.playbook}: aborted`));
      }
      const fatal = results.find(isFatal);
      if (fatal) {
        const output = o.redact([fatal.msg, stderr.trim() ? `--- stderr ---\n${stderr.trim().slice(-1500)}` : ''].filter(Boolean).join('\n'));
        return reject(new PlaybookError(failureMessage(o.playbook, fatal, o.redact), output, fatal.host, fatal.role, fatal.task));
      }
      // Stats count ignored unreachable hosts too; only a result we saw as fatal, or a non-zero exit, fails.
      const unreachable = rc !== 0 ? Object.entries(stats).find(([, s]) => s.unreachable > 0 || s.failures > 0) : undefined;
      if (rc !== 0 || unreachable) {
        const tail = o.redact((stderr.trim() || raw.trim()).slice(-3000));
        const first = tail.split('\n').find((l) => /ERROR|error/.test(l)) ?? tail.split('\n').slice(-1)[0] ?? '';
        const host = unreachable ? ` (host ${unreachable[0]})` : '';
        return reject(new PlaybookError(`ansible ${o.playbook} exited with ${rc}${host}: ${first.trim().slice(0, 300)}`, tail, unreachable?.[0]));
      }
      resolve({ code: rc, stats, results, seconds });
    });
  });
}
