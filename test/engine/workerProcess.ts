// A `michman worker` child process for engine tests: the built CLI (dist/), configured through the
// environment only, with its stderr kept for the failure message.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const CLI = resolve('dist/src/cli.js');

/** Throws a clear error when the CLI has not been built (npm test runs tsc first). */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build first with \`npx tsc -p tsconfig.json\` (npm test does it)`);
  }
}

export interface WorkerProcessOptions {
  storage: 'sqlite' | 'mysql' | 'postgres';
  databaseUrl: string;
  dataDir: string;
  leaseSeconds?: number;
  workers?: number;
  /** More environment (e.g. TMPDIR, where the local provider claims addresses host-wide). */
  env?: Record<string, string>;
}

export class WorkerProcess {
  readonly child: ChildProcess;
  /** The worker ID the process announced (what the operations' lease_owner holds). */
  id = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(o: WorkerProcessOptions) {
    // Only our MICHMAN_ settings: the loader refuses unknown MICHMAN_ variables, and a developer's
    // own settings must not leak into the child.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MICHMAN_')) env[k] = v;
    Object.assign(env, {
      MICHMAN_STORAGE: o.storage,
      MICHMAN_DATABASE_URL: o.databaseUrl,
      MICHMAN_DATA_DIR: o.dataDir,
      MICHMAN_PROVIDER: 'local',
      MICHMAN_LEASE_SECONDS: String(o.leaseSeconds ?? 2),
      MICHMAN_WORKERS: String(o.workers ?? 4),
      MICHMAN_LOG_LEVEL: 'warn',
      ...o.env,
    });
    // cwd = the data directory, so no configs/config.yaml of the checkout is picked up.
    this.child = spawn(process.execPath, [CLI, 'worker'], { env, cwd: o.dataDir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      this.stderr += s;
    });
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => res({ code, signal })));
  }

  /** Starts a worker and waits until it says it has started. */
  static async start(o: WorkerProcessOptions, timeoutMs = 20_000): Promise<WorkerProcess> {
    const w = new WorkerProcess(o);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = /michman worker (\S+) started/.exec(w.stderr);
      if (m) {
        w.id = m[1]!;
        return w;
      }
      if (w.child.exitCode !== null || w.child.signalCode !== null) throw new Error(`worker exited before starting:\n${w.stderr}`);
      if (Date.now() > end) {
        w.kill('SIGKILL');
        throw new Error(`worker did not start within ${timeoutMs} ms:\n${w.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Stops the process (signal first, SIGKILL after graceMs) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.kill(signal);
    const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after timeoutMs. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
