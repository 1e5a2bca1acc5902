// The real OpenStack testbed (scripts/openstack-testbed.sh writes testbed.env): its names, a
// provider and a session on it, and `michman worker` processes configured for it. Everything here
// talks to 127.0.0.1 only (the testbed's endpoints). No vitest here: bench/openstack.ts uses it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromCloudsYaml } from '../../src/providers/openstack/credentials.js';
import { Session } from '../../src/providers/openstack/identity/session.js';
import { DEFAULT_HTTP } from '../../src/providers/openstack/http.js';
import { OpenStackProvider, type OpenStackOptions } from '../../src/providers/openstack/provider.js';

const env = process.env;

export const testbed = {
  clouds: env.MICHMAN_TEST_OS_CLOUDS ?? '',
  cloud: env.MICHMAN_TEST_OS_CLOUD ?? 'testbed',
  flavor: env.MICHMAN_TEST_OS_FLAVOR ?? 'm1.tiny',
  image: env.MICHMAN_TEST_OS_IMAGE ?? 'testbed-tiny',
  network: env.MICHMAN_TEST_OS_NETWORK ?? 'michman-net',
  pool: env.MICHMAN_TEST_OS_FLOATING_POOL ?? 'public',
  keypair: env.MICHMAN_TEST_OS_KEYPAIR ?? '',
};

/** The live suites and the benchmark run only when the testbed's clouds.yaml is named. */
export const haveTestbed = testbed.clouds !== '' && existsSync(testbed.clouds);

/** The testbed shares 2 cores with everything else: its APIs may take a minute to answer under load. */
export const CALL_TIMEOUT_S = 90;

export function liveSession(): Session {
  return new Session(async () => fromCloudsYaml(testbed.clouds, testbed.cloud), { ...DEFAULT_HTTP, timeoutMs: CALL_TIMEOUT_S * 1000 });
}

export function liveProvider(o: Partial<OpenStackOptions> = {}): OpenStackProvider {
  return new OpenStackProvider({
    session: liveSession(),
    network: testbed.network,
    floatingIpPool: testbed.pool,
    keyName: testbed.keypair || undefined,
    // Fake-driver servers run nothing: no SSH to wait for.
    reachability: 'active',
    ...o,
  });
}

export const CLI = resolve('dist/src/cli.js');

/** `michman worker` on the testbed with the given store, as a separate process that can be SIGKILLed. */
export class LiveWorker {
  readonly child: ChildProcess;
  id = '';
  stderr = '';
  readonly exited: Promise<unknown>;

  private constructor(o: { storage: string; databaseUrl: string; dataDir: string; leaseSeconds: number }) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run test:openstack builds it first`);
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(env)) if (!k.startsWith('MICHMAN_') && !k.startsWith('OS_')) e[k] = v;
    Object.assign(e, {
      MICHMAN_STORAGE: o.storage,
      MICHMAN_DATABASE_URL: o.databaseUrl,
      MICHMAN_DATA_DIR: o.dataDir,
      MICHMAN_PROVIDER: 'openstack',
      MICHMAN_OS_CLOUD: testbed.cloud,
      MICHMAN_OS_CLOUDS_FILE: testbed.clouds,
      MICHMAN_VIRTUAL_NETWORK: testbed.network,
      MICHMAN_FLOATING_IP_POOL: testbed.pool,
      ...(testbed.keypair ? { MICHMAN_OS_KEY_NAME: testbed.keypair } : {}),
      MICHMAN_OS_REACHABILITY: 'active',
      MICHMAN_OS_REQUEST_TIMEOUT_SECONDS: String(CALL_TIMEOUT_S),
      MICHMAN_JANITOR_INTERVAL_SECONDS: '0',
      MICHMAN_LEASE_SECONDS: String(o.leaseSeconds),
      MICHMAN_WORKERS: '2',
      MICHMAN_LOG_LEVEL: 'warn',
    });
    this.child = spawn(process.execPath, [CLI, 'worker'], { env: e, cwd: o.dataDir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => void (this.stderr += s));
    this.exited = new Promise((r) => this.child.once('exit', r));
  }

  static async start(o: { storage: string; databaseUrl: string; dataDir: string; leaseSeconds: number }): Promise<LiveWorker> {
    const w = new LiveWorker(o);
    for (let i = 0; i < 600; i++) {
      const m = /michman worker (\S+) started/.exec(w.stderr);
      if (m) {
        w.id = m[1]!;
        return w;
      }
      if (w.child.exitCode !== null) throw new Error(`worker exited:\n${w.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    w.child.kill('SIGKILL');
    throw new Error(`worker did not start:\n${w.stderr}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
