// The nspawn provider's artifact cache, on loopback: a file is kept only when its checksum matches
// the pin (a mismatch names the file and both sums and leaves nothing), a checked file is not
// downloaded again, and the server serves what is in the cache and nothing outside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactCache } from '../../src/providers/nspawn/artifactCache.js';
import { httpGet } from '../../src/deploy/local/net.js';

const BODY = 'the jar bytes\n';
const sha = (algo: string, s: string) => createHash(algo).update(s).digest('hex');

describe('artifact cache', () => {
  let upstream: Server;
  let base = '';
  let hits = 0;
  const dir = mkdtempSync(join(tmpdir(), 'michman-artifacts-'));
  const cache = new ArtifactCache(join(dir, 'files'), join(dir, 'state'), '127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      hits++;
      res.end(BODY);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await cache.stop();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a file whose checksum does not match, naming it and both sums, keeping nothing', async () => {
    const wrong = '0'.repeat(40);
    await expect(cache.fetch([{ path: 'maven2/a/b/x-1.jar', url: `${base}/x-1.jar`, sha1: wrong }], () => undefined)).rejects.toThrow(
      new RegExp(`maven2/a/b/x-1\\.jar: sha1 mismatch: pinned ${wrong}, downloaded file has ${sha('sha1', BODY)}`),
    );
    expect(existsSync(join(dir, 'files', 'maven2', 'a', 'b', 'x-1.jar'))).toBe(false);
    expect(readdirSync(join(dir, 'files', '.partial'))).toEqual([]);
  });

  it('keeps a matching file, and does not download it again', async () => {
    const item = { path: 'pypi/ab/cd/p-1.tar.gz', url: `${base}/p-1.tar.gz`, sha256: sha('sha256', BODY) };
    const lines: string[] = [];
    await cache.fetch([item], (l) => lines.push(l));
    expect(lines.join('\n')).toContain('pypi/ab/cd/p-1.tar.gz downloaded and sha256-checked');
    const before = hits;
    await cache.fetch([item], (l) => lines.push(l));
    expect(hits).toBe(before);
    await expect(cache.fetch([{ ...item, path: '../escape' }], () => undefined)).rejects.toThrow(/leaves the cache/);
  });

  it('serves the cache over HTTP, only files inside it, and stops', async () => {
    writeFileSync(join(dir, 'outside.txt'), 'secret');
    await cache.ensure();
    const ok = await httpGet(`${cache.url}/pypi/ab/cd/p-1.tar.gz`);
    expect(ok).toEqual({ status: 200, body: BODY });
    expect((await httpGet(`${cache.url}/../outside.txt`)).status).toBe(404);
    expect((await httpGet(`${cache.url}/%2e%2e/outside.txt`)).status).toBe(404);
    expect((await httpGet(`${cache.url}/nothing`)).status).toBe(404);
    const pid = await cache.running();
    expect(pid).toBeGreaterThan(0);
    await cache.ensure(); // already running: the same process
    expect(await cache.running()).toBe(pid);
    await cache.stop();
    expect(await cache.running()).toBeUndefined();
  });
});
