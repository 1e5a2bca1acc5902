// A real Michman server for the client's tests: the API and a worker in this process, on
// 127.0.0.1:<free port>, over a fresh SQLite store with the built-in catalog, machines from the fake
// provider. The client under test runs as a child process (`node dist/src/cli.js`), so the server
// must never be blocked: run() is asynchronous.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { startWorker, stopWorker } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { loadBuiltinCatalogIfEmpty } from '../../src/catalog.js';
import { FakeProvider, type FakeOptions } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { MemorySecretStore } from '../../src/secrets/memory.js';
import type { AuthSetup } from '../../src/auth/setup.js';
import type { Store } from '../../src/store/store.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');

export interface TestServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  close(): Promise<void>;
}

export async function startServer(o: { fake?: FakeOptions; auth?: AuthSetup } = {}): Promise<TestServer> {
  const sqlite = backends().find((b) => b.name === 'sqlite')!;
  const opened: OpenedStore = await sqlite.open();
  const store = opened.store;
  await loadBuiltinCatalogIfEmpty(store);
  const cwd = mkdtempSync(join(tmpdir(), 'michman-client-cfg-'));
  const config = loadConfig({ env: {}, cwd, overrides: { workers: 2, provider: 'fake', log_level: 'silent' } });
  // One secret store for the API (passwords given at POST) and the worker that deploys with them, as `serve` has.
  const secrets = new MemorySecretStore();
  const worker = startWorker(store, config, pino({ level: 'silent' }), { provider: new FakeProvider(o.fake ?? { bootLatencyMs: 50 }), deployer: new NoopDeployer() }, secrets);
  const app = await buildServer({ store, logger: false, onEnqueue: () => worker?.notify(), auth: o.auth, secrets });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    store,
    async close() {
      await app.close();
      await stopWorker(worker);
      await opened.cleanup();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI as a user runs it: only MICHMAN_TEST_* of the caller's MICHMAN_* variables pass. */
export function run(args: string[], o: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm test`, which builds first');
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MICHMAN_') || k.startsWith('MICHMAN_TEST_')));
  const env = { ...base, ...o.env } as NodeJS.ProcessEnv;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** A private config home per test file, so no test reads or writes the user's ~/.config. */
export function configHome(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'michman-client-home-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
