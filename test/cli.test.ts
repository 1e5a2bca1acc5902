// The `michman` command as a user runs it: a real process from the built dist/ (npm test builds first).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'cli.js');
// The original's 22 service-type files, copied unchanged from ISP RAS Michman's init/.
const ORIGINAL = join(import.meta.dirname, 'fixtures', 'original-catalog');

let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm test`, which builds first');
  dir = mkdtempSync(join(tmpdir(), 'michman-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Only MICHMAN_TEST_* of the caller's MICHMAN_* variables may pass: others would change the config.
const env = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MICHMAN_') || k.startsWith('MICHMAN_TEST_')));
const run = (args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: { ...env(), ...extraEnv }, encoding: 'utf8', timeout: 60_000 });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('michman CLI', () => {
  it('refuses an unknown configuration key, naming it, with a non-zero exit', () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'storage: sqlite\nstorgae_typo: 1\n');
    const r = run(['--config', cfg, 'migrate']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('storgae_typo');
  });

  it('refuses a wrong value, naming the key', () => {
    const r = run(['migrate'], { MICHMAN_STORAGE: 'couchbase' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/storage/);
  });

  /** `michman serve` with a config file of `text`, which must stop it before it listens. */
  const serveWith = (name: string, text: string) => {
    const cfg = join(dir, name);
    writeFileSync(cfg, text);
    return run(['--config', cfg, 'serve', '--listen', '127.0.0.1:1']);
  };

  it('serve refuses a key whose feature is missing, saying it is not supported yet, with a non-zero exit', () => {
    const r = serveWith('yum.yaml', 'yum_mirror_address: http://yum.example.org\n');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("'yum_mirror_address' is not supported yet");
  });

  it('serve exits 2 naming apt_mirror_address when use_package_mirror has no usable address', () => {
    const none = serveWith('apt-none.yaml', 'use_package_mirror: true\n');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("'apt_mirror_address' is required when use_package_mirror is true");
    const ftp = serveWith('apt-ftp.yaml', 'use_package_mirror: true\napt_mirror_address: ftp://mirror.example.org/debian\n');
    expect(ftp.status).toBe(2);
    expect(ftp.stderr).toMatch(/apt_mirror_address.*http:\/\/ or https:\/\/ URL/);
  });

  it('migrate creates the SQLite database in the data directory', () => {
    const r = run(['migrate'], { MICHMAN_DATA_DIR: join(dir, 'd1') });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'd1'))).toContain('michman.sqlite');
  });

  it('catalog import loads the original files in dependency order and reports the one it refuses', () => {
    const files = readdirSync(ORIGINAL).map((f) => join(ORIGINAL, f));
    const r = run(['catalog', 'import', ...files], { MICHMAN_DATA_DIR: join(dir, 'd2') });
    expect(r.status).toBe(1); // cuda.json is refused, as the original refused it
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('imported'))).toHaveLength(21);
    expect(lines.filter((l) => l.startsWith('FAILED'))).toEqual([expect.stringContaining('cuda.json')]);
    // Importing again changes nothing and says why.
    const again = run(['catalog', 'import', join(ORIGINAL, 'redis.json')], { MICHMAN_DATA_DIR: join(dir, 'd2') });
    expect(again.status).toBe(1);
    expect(again.stdout).toContain('already exists');
  });

  it('serve answers on the configured address with the built-in catalog loaded', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'd3')], {
      cwd: dir,
      env: { ...env(), MICHMAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
        child.stderr.on('data', () => {
          if (stderr.includes('listening on')) {
            clearTimeout(t);
            resolve();
          }
        });
      });
      const res = await fetch(`http://127.0.0.1:${port}/configs?view=summary`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      const types = ((await res.json()) as { Detail: { Data: Array<{ Type: string }> } }).Detail.Data.map((t) => t.Type);
      for (const t of ['spark', 'slurm', 'postgresql', 'redis', 'mariadb', 'jupyter', 'clickhouse']) expect(types).toContain(t);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
