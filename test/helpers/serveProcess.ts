// `michman serve` as a child process (the built CLI in dist/), configured through the environment
// only, on a free loopback port, with everything it printed kept for assertions and failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const CLI = resolve('dist/src/cli.js');

export async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export class ServeProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Starts `michman serve` in `dataDir` (its cwd too) with MICHMAN_<KEY> settings, and waits until it listens. */
  static async start(dataDir: string, settings: Record<string, string | number>, timeoutMs = 30_000): Promise<ServeProcess> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm test does it)`);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MICHMAN_')) env[k] = v;
    env.MICHMAN_LISTEN = `127.0.0.1:${port}`;
    env.MICHMAN_DATA_DIR = dataDir;
    for (const [k, v] of Object.entries(settings)) env[`MICHMAN_${k.toUpperCase()}`] = String(v);
    const child = spawn(process.execPath, [CLI, 'serve'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ServeProcess(child, `http://127.0.0.1:${port}`);
    const end = Date.now() + timeoutMs;
    while (!p.output.includes('listening on')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`michman serve exited before listening:\n${p.output}`);
      if (Date.now() > end) {
        child.kill('SIGKILL');
        throw new Error(`michman serve did not listen within ${timeoutMs} ms:\n${p.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; data: any; text: string }> {
    const res = await fetch(`${this.base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, data: json?.Detail?.Data, text };
  }

  /** Sends `signal` and waits for the exit; SIGKILL after killAfterMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), killAfterMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** The JSON log lines it printed whose msg matches. */
  logLines(msg: RegExp): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (typeof j.msg === 'string' && msg.test(j.msg)) out.push(j);
      } catch {
        // not a log line
      }
    }
    return out;
  }
}
