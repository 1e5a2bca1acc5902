// A real single-node OpenSearch, run by a test as a local process on 127.0.0.1 (free ports), from
// the pinned minimal distribution in the artifact cache (`michman artifacts fetch elastic
// --service-version 2.19.3`; tests download nothing) and Debian's Java 17. Its security plugin is
// not in that distribution: plain HTTP, no login.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './serveProcess.js';
import { lacks } from './requirements.js';

export const OPENSEARCH_VERSION = '2.19.3';
const NOBODY = 65534;
export const JAVA17_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';

export function opensearchZip(): string {
  const pins = JSON.parse(readFileSync('ansible/roles/elastic/vars/artifacts.json', 'utf8')) as { opensearch: Record<string, { path: string }> };
  const root = process.env.MICHMAN_NSPAWN_ARTIFACTS_DIR || '/var/tmp/michman-artifacts';
  return join(root, 'maven2', pins.opensearch[OPENSEARCH_VERSION]!.path);
}

/** True (skip) when the artifact or Java is missing; under CI=true that fails instead. */
export function lacksOpenSearch(): boolean {
  return (
    lacks(`the OpenSearch ${OPENSEARCH_VERSION} artifact (michman artifacts fetch elastic --service-version ${OPENSEARCH_VERSION})`, existsSync(opensearchZip())) ||
    lacks(`Java 17 (${JAVA17_HOME}, Debian package openjdk-17-jre-headless)`, existsSync(join(JAVA17_HOME, 'bin', 'java'))) ||
    lacks('/usr/bin/unzip', existsSync('/usr/bin/unzip'))
  );
}

export class LocalOpenSearch {
  output = '';
  private constructor(
    readonly dir: string,
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-20_000)));
    child.stderr!.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-20_000)));
  }

  static async start(timeoutMs = 180_000): Promise<LocalOpenSearch> {
    const dir = mkdtempSync(join(tmpdir(), 'michman-opensearch-'));
    const unzip = spawnSync('/usr/bin/unzip', ['-q', opensearchZip(), '-d', dir]);
    if (unzip.status !== 0) throw new Error(`unzip: ${unzip.stderr.toString()}`);
    const home = join(dir, `opensearch-${OPENSEARCH_VERSION}`);
    // OpenSearch refuses to run as root: as root, the test runs it as nobody, in a tree nobody owns.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const chown = spawnSync('/bin/chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
      if (chown.status !== 0) throw new Error(`chown: ${chown.stderr.toString()}`);
    }
    const [http, transport] = [await freePort(), await freePort()];
    const child = spawn(
      join(home, 'bin', 'opensearch'),
      ['-E', 'discovery.type=single-node', '-E', 'network.host=127.0.0.1', '-E', `http.port=${http}`, '-E', `transport.port=${transport}`, '-E', `path.data=${join(dir, 'data')}`, '-E', `path.logs=${join(dir, 'logs')}`, '-E', 'cluster.routing.allocation.disk.threshold_enabled=false'],
      { env: { PATH: '/usr/bin:/bin', OPENSEARCH_JAVA_HOME: JAVA17_HOME, OPENSEARCH_JAVA_OPTS: '-Xms256m -Xmx256m', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) },
    );
    const os = new LocalOpenSearch(dir, child, `http://127.0.0.1:${http}`);
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`opensearch exited with ${child.exitCode}:\n${os.output}`);
      }
      const r = await fetch(`${os.url}/_cluster/health`).catch(() => undefined);
      if (r?.ok && ['green', 'yellow'].includes(((await r.json()) as { status: string }).status)) return os;
      if (Date.now() > end) {
        await os.stop();
        throw new Error(`opensearch did not answer within ${timeoutMs} ms:\n${os.output}`);
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: any }> {
    const r = await fetch(`${this.url}${path}`, { method, headers: { 'content-type': contentType }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      try {
        process.kill(-this.child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        try {
          process.kill(-this.child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 20_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
