// The spark role's archive route (ansible/roles/spark/tasks/archive_one.yml) run for real against
// localhost, with the archive and its .sha512 served on loopback: a matching archive (its sum in
// gpg --print-md's layout) is unpacked into place; a mismatch fails naming the file and both sums
// and leaves nothing (no download, no staging directory, no install); an archive that passes the
// check but does not unpack leaves nothing either.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { lacksProgram } from '../helpers/requirements.js';

const PLAYBOOK = '/usr/bin/ansible-playbook';
const NAME = 'spark-9.9.9-bin-hadoop3';
const FILE = `${NAME}.tgz`;

describe.skipIf(lacksProgram(PLAYBOOK))('spark role: official archive checked against its .sha512', () => {
  let dir: string;
  let server: Server;
  let port = 0;
  let archive: Buffer;
  let sha512: string;
  // What the server answers for the archive and for its .sha512.
  const served = { archive: Buffer.alloc(0), sums: '' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-spark-archive-'));
    mkdirSync(join(dir, 'src', NAME), { recursive: true });
    writeFileSync(join(dir, 'src', NAME, 'RELEASE'), 'Spark 9.9.9 (test)\n');
    execFileSync('tar', ['-czf', join(dir, FILE), '-C', join(dir, 'src'), NAME]);
    archive = readFileSync(join(dir, FILE));
    sha512 = createHash('sha512').update(archive).digest('hex');
    server = createServer((req, res) => {
      const body = req.url === `/${FILE}` ? served.archive : req.url === `/${FILE}.sha512` ? Buffer.from(served.sums) : undefined;
      res.writeHead(body ? 200 : 404, { 'content-length': body?.length ?? 0 });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'play.yml'),
      [
        '- name: Archive route',
        '  hosts: localhost',
        '  gather_facts: false',
        '  tasks:',
        '    - name: Install one archive',
        `      ansible.builtin.include_tasks: ${join(PACKAGE_ROOT, 'ansible', 'roles', 'spark', 'tasks', 'archive_one.yml')}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** One run (asynchronous: the server answers from this process); its exit code and output. */
  const install = (home: string, downloads: string) => {
    mkdirSync(downloads, { recursive: true });
    const vars = { spark_download_dir: downloads, spark_archive: { name: NAME, url: `http://127.0.0.1:${port}/${FILE}`, home, marker: 'RELEASE' } };
    return new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        PLAYBOOK,
        ['-i', 'localhost,', '-c', 'local', '-e', JSON.stringify(vars), 'play.yml'],
        { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1', no_proxy: '127.0.0.1', NO_PROXY: '127.0.0.1' } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  };
  /** gpg --print-md SHA512's layout: upper case, groups of 8, wrapped. */
  const gpgLayout = (hex: string) => {
    const groups = hex.toUpperCase().match(/.{8}/g)!;
    return `${FILE}: ${groups.slice(0, 8).join(' ')}\n${' '.repeat(FILE.length + 2)}${groups.slice(8).join(' ')}\n`;
  };
  const leftovers = (home: string, downloads: string) => [...(existsSync(home) ? [home] : []), ...(existsSync(`${home}.staging`) ? [`${home}.staging`] : []), ...readdirSync(downloads)];

  it('unpacks a matching archive into place and keeps no download', async () => {
    served.archive = archive;
    served.sums = gpgLayout(sha512);
    const home = join(dir, 'ok', 'spark');
    const downloads = join(dir, 'ok', 'dl');
    const r = await install(home, downloads);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(join(home, 'RELEASE'), 'utf8')).toContain('Spark 9.9.9');
    expect(existsSync(`${home}.staging`)).toBe(false);
    expect(readdirSync(downloads)).toEqual([]);
  }, 150_000);

  it('fails on a mismatch naming the file and both sums, and leaves nothing', async () => {
    const pinned = createHash('sha512').update('not the archive').digest('hex');
    served.archive = archive;
    served.sums = `${pinned}  ${FILE}\n`;
    const home = join(dir, 'bad', 'spark');
    const downloads = join(dir, 'bad', 'dl');
    const r = await install(home, downloads);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`The checksum for ${join(downloads, FILE)} did not match ${pinned}; it was ${sha512}.`);
    expect(leftovers(home, downloads)).toEqual([]);
  }, 150_000);

  it('fails on a .sha512 without a SHA-512, naming it', async () => {
    served.archive = archive;
    served.sums = 'no sum here\n';
    const home = join(dir, 'none', 'spark');
    const downloads = join(dir, 'none', 'dl');
    const r = await install(home, downloads);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`${FILE}.sha512 holds no SHA-512 for ${FILE}`);
    expect(leftovers(home, downloads)).toEqual([]);
  }, 150_000);

  it('leaves no half-unpacked directory when a checked archive does not unpack', async () => {
    const broken = Buffer.concat([archive.subarray(0, Math.floor(archive.length / 2))]);
    served.archive = broken;
    served.sums = `${createHash('sha512').update(broken).digest('hex')}  ${FILE}\n`;
    const home = join(dir, 'broken', 'spark');
    const downloads = join(dir, 'broken', 'dl');
    const r = await install(home, downloads);
    expect(r.code).not.toBe(0);
    expect(existsSync(home)).toBe(false);
    expect(existsSync(`${home}.staging`)).toBe(false);
  }, 150_000);
});
