// End to end as a user does it: `michman serve` as a process, curl-like HTTP calls, a cluster of real
// Redis and PostgreSQL on the local provider, its events streamed live, then deleted — and nothing
// left behind: ports closed, processes gone, data directories removed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import pg from 'pg';
import { lacks, lacksProgram } from '../helpers/requirements.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');
const noRedis = lacksProgram('/usr/bin/redis-server');
const noPostgres = lacks('PostgreSQL (/usr/lib/postgresql/<version>)', existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').length > 0);
const REDIS_PASSWORD = 'e2e-redis-pw-1';
const PG_PASSWORD = 'e2e-pg-pw-1';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** RESP over a socket: AUTH then PING; resolves with the replies. */
function redisPing(host: string, port: number, password?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let out = '';
    const t = setTimeout(() => (sock.destroy(), reject(new Error('redis timeout'))), 5_000);
    sock.on('data', (b) => {
      out += b.toString();
      if (out.includes('PONG') || out.includes('NOAUTH') || out.includes('WRONGPASS')) {
        clearTimeout(t);
        sock.end();
        resolve(out);
      }
    });
    sock.on('error', (e) => (clearTimeout(t), reject(e)));
    const cmds = password ? [['AUTH', password], ['PING']] : [['PING']];
    sock.write(cmds.map((c) => `*${c.length}\r\n` + c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')).join(''));
  });
}

const portOpen = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe.skipIf(noRedis || noPostgres)('a cluster of real Redis and PostgreSQL on the local provider', () => {
  let dir: string;
  let server: ChildProcess;
  let base: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm test`, which builds first');
    dir = mkdtempSync(join(tmpdir(), 'michman-e2e-'));
    // Services run as their own users (postgres refuses root), who must be able to reach the data.
    chmodSync(dir, 0o755);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')], {
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MICHMAN_') || k.startsWith('MICHMAN_TEST_'))), MICHMAN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    server.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
      server.stderr!.on('data', () => err.includes('listening on') && (clearTimeout(t), resolve()));
    });
  }, 30_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, streams events, answers at its URLs, and deletes leaving nothing behind', async () => {
    expect((await call('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'local' })).status).toBe(201);
    expect((await call('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 5 })).status).toBe(201);
    const project = { DisplayName: 'e2e', DefaultImage: 'debian', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' };
    expect((await call('POST', '/projects', project)).status).toBe(201);
    const created = await call('POST', '/projects/e2e/clusters', {
      DisplayName: 'data',
      Services: [
        { Type: 'redis', Config: { db_password: REDIS_PASSWORD } },
        { Type: 'postgresql', Config: { db_password: PG_PASSWORD } },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body.Detail.Data.EntityStatus).toBe('INITED');

    // Live events until the operation ends (the server closes the stream with an `end` event).
    const stream = await fetch(`${base}/projects/e2e/clusters/data-e2e/events`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(120_000) });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const text = await stream.text();
    expect(text).toContain('event: end');
    const events = text.split('\n\n').filter((b) => b.startsWith('id: ')).map((b) => JSON.parse(b.split('\ndata: ')[1]!));
    expect(events.map((e) => e.Phase), text).toEqual(expect.arrayContaining(['provision', 'deploy', 'health']));
    expect(text).not.toContain(REDIS_PASSWORD);
    expect(text).not.toContain(PG_PASSWORD);

    const c = (await call('GET', '/projects/e2e/clusters/data-e2e')).body.Detail.Data;
    expect(c.EntityStatus).toBe('ACTIVE');
    const url = (t: string) => c.Services.find((s: { Type: string }) => s.Type === t).URL as string;
    const [rHost, rPort] = url('redis').split(':') as [string, string];
    const [pHost, pPort] = url('postgresql').split(':') as [string, string];
    expect(rHost).toMatch(/^127\./);

    expect(await redisPing(rHost, Number(rPort))).toContain('NOAUTH');
    expect(await redisPing(rHost, Number(rPort), REDIS_PASSWORD)).toContain('PONG');
    const client = new pg.Client({ host: pHost, port: Number(pPort), user: 'pguser', password: PG_PASSWORD, database: 'postgres' });
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await client.end();

    const nodesDir = join(dir, 'data', 'nodes');
    expect(readdirSync(nodesDir).length).toBeGreaterThan(0);

    expect((await call('DELETE', '/projects/e2e/clusters/data-e2e')).status).toBe(200);
    const end = Date.now() + 60_000;
    while (Date.now() < end && (await call('GET', '/projects/e2e/clusters/data-e2e/status')).status !== 404) await new Promise((r) => setTimeout(r, 200));
    expect((await call('GET', '/projects/e2e/clusters/data-e2e/status')).status).toBe(404);

    expect(await portOpen(rHost, Number(rPort))).toBe(false);
    expect(await portOpen(pHost, Number(pPort))).toBe(false);
    const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    });
    expect(procs.filter((cmd) => cmd.includes(nodesDir) || cmd.includes(`${rHost}:${rPort}`))).toEqual([]);
    expect(existsSync(join(nodesDir, c.ID))).toBe(false);
  }, 180_000);
});
