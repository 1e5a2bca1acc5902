// The artifact cache of the nspawn provider: nodes reach nothing but the host bridge, so files that
// do not come from Debian (Spark's jars from PyPI's pyspark sdist, HDFS jars from Maven Central) are
// downloaded once per host by Michman, checked against the checksums pinned in the repository, kept
// under one directory (default /var/tmp/michman-artifacts, shared by every data directory, like
// the node image) in the registries' own layouts (`pypi/<path below files.pythonhosted.org/packages>`,
// `maven2/<path below the Maven repository root>`), and served read-only over HTTP on the bridge
// address. Roles see it as an ordinary PyPI file host and Maven mirror, as an operator's artifact
// proxy (Nexus, Artifactory) would be; and they check every file again against the same pins.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Daemon } from '../../host/daemon.js';
import type { Artifact } from '../../domain/artifacts.js';

export type { Artifact } from '../../domain/artifacts.js';

export const ARTIFACT_CACHE_PORT = 3143;


function expected(a: Artifact): { algo: 'sha256' | 'sha1' | 'sha512'; hex: string } {
  if (a.sha512) return { algo: 'sha512', hex: a.sha512.toLowerCase() };
  if (a.sha256) return { algo: 'sha256', hex: a.sha256.toLowerCase() };
  if (a.sha1) return { algo: 'sha1', hex: a.sha1.toLowerCase() };
  throw new Error(`artifact ${a.path} has no pinned checksum`);
}

async function hashFile(path: string, algo: string): Promise<string> {
  const h = createHash(algo);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

function safeRelative(path: string): string {
  const n = normalize(path);
  if (n.startsWith('/') || n.startsWith('..') || n.includes('/../') || n.includes('\0')) throw new Error(`artifact path '${path}' leaves the cache`);
  return n;
}

/**
 * The static file server, run as `node -e SERVER -- <root> <address> <port> <state dir>`: GET and
 * HEAD of regular files under the root, nothing else; the state directory in its arguments is how
 * Michman recognises its own process.
 */
const SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const [root, address, port] = process.argv.slice(1);
http.createServer((req, res) => {
  const rel = decodeURIComponent((req.url || '/').split('?')[0]);
  const file = path.join(root, path.normalize(rel));
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !file.startsWith(root + path.sep) || file.split(path.sep).includes('.partial')) { res.writeHead(404); return res.end(); }
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  });
}).listen(Number(port), address, () => console.log('artifact cache serving ' + root + ' on ' + address + ':' + port));
`;

export class ArtifactCache {
  private readonly daemon: Daemon;

  constructor(
    /** Where the files are kept (shared between data directories). */
    readonly root: string,
    /** `<nspawn dir>/artifact-cache`: pid file and log of this provider's server. */
    readonly stateDir: string,
    readonly address: string,
    readonly port = ARTIFACT_CACHE_PORT,
  ) {
    this.daemon = new Daemon({
      name: 'the artifact cache',
      id: { programs: ['node'], marker: stateDir },
      pidFile: join(stateDir, 'server.pid'),
      address,
      port,
      logPath: join(stateDir, 'server.log'),
      startTimeoutMs: 10_000,
    });
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  /**
   * Makes every artifact present and verified in the cache: a file already there is trusted only
   * after its checksum matched once (a `.ok` stamp beside it, written after the check); a missing
   * one is downloaded to a `.partial` directory, checked, and renamed into place. A mismatch names
   * the file and both sums, and keeps nothing.
   */
  async fetch(items: readonly Artifact[], log: (line: string) => void, signal?: AbortSignal): Promise<void> {
    for (const a of items) {
      const rel = safeRelative(a.path);
      const want = expected(a);
      const target = join(this.root, rel);
      const stamp = `${target}.${want.algo}.ok`;
      if ((await readFile(stamp, 'utf8').catch(() => '')).trim() === want.hex && (await stat(target).catch(() => undefined))?.isFile()) continue;
      const partial = join(this.root, '.partial', `${rel.replace(/\//g, '_')}-${process.pid}`);
      await mkdir(dirname(partial), { recursive: true, mode: 0o755 });
      const t0 = performance.now();
      try {
        const res = await fetch(a.url, { signal: signal ?? null });
        if (!res.ok || !res.body) throw new Error(`GET ${a.url} answered ${res.status}`);
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(partial, { mode: 0o644 }));
        const got = await hashFile(partial, want.algo);
        if (got !== want.hex) throw new Error(`${rel}: ${want.algo} mismatch: pinned ${want.hex}, downloaded file has ${got} (from ${a.url})`);
        await mkdir(dirname(target), { recursive: true, mode: 0o755 });
        await rename(partial, target);
        await writeText(stamp, want.hex + '\n');
      } catch (e) {
        await rm(partial, { force: true });
        throw e;
      }
      log(`artifact cache: ${rel} downloaded and ${want.algo}-checked in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  running(): Promise<number | undefined> {
    return this.daemon.running();
  }

  /** Starts the server unless ours runs and listens, and waits until it accepts connections. */
  async ensure(signal?: AbortSignal): Promise<void> {
    if (await this.daemon.serving()) return;
    await this.daemon.stopRunning();
    await mkdir(this.stateDir, { recursive: true, mode: 0o755 });
    await mkdir(this.root, { recursive: true, mode: 0o755 });
    await this.daemon.start(
      {
        program: process.execPath,
        args: ['-e', SERVER, '--', this.root, this.address, String(this.port), this.stateDir],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        cwd: this.stateDir,
      },
      signal,
    );
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

async function writeText(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await new Promise<void>((resolve, reject) => {
    const s = createWriteStream(tmp, { mode: 0o644 });
    s.on('error', reject);
    s.end(text, () => resolve());
  });
  await rename(tmp, path);
}
