// `michman serve` as a user runs it, with use_auth: true and the oauth2 model against a real
// OAuth2/OIDC provider (introspection), the client secret in the file secret store. End to end:
// 401 without credentials, bearer tokens, the browser login with PKCE, a session, an API token,
// the audit log. Then a planted-secret grep over everything the process showed: its logs, its
// answers, the audit log and its command line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startIdp, browserLogin, WEB_CLIENT, RESOURCE, type Idp } from './helpers/idp.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('michman serve with use_auth (oauth2, introspection)', () => {
  let idp: Idp;
  let dir: string;
  let child: ChildProcess;
  let base: string;
  let output = '';
  const seen: string[] = []; // every answer's headers and body, except the one that shows a new token once
  const planted: Record<string, string> = {};

  async function call(method: string, path: string, o: { bearer?: string; cookie?: string; body?: unknown; keep?: boolean } = {}) {
    const headers: Record<string, string> = {};
    if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
    if (o.cookie) headers.cookie = o.cookie;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), redirect: 'manual' });
    const text = await res.text();
    if (o.keep !== false) seen.push(JSON.stringify([...res.headers].filter(([k]) => k !== 'set-cookie')), text);
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, data: json?.Detail?.Data, text };
  }

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm test`, which builds first');
    idp = await startIdp({ users: { alice: ['team-a'], root: ['admins'] }, accessTokenFormat: 'opaque' });
    dir = mkdtempSync(join(tmpdir(), 'michman-auth-serve-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    planted.clientSecret = WEB_CLIENT.secret;
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ 'secret/hydra': { client_id: WEB_CLIENT.id, client_secret: WEB_CLIENT.secret, redirect_uri: WEB_CLIENT.redirectUri } }), { mode: 0o600 });
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        `listen: 127.0.0.1:${port}`,
        `data_dir: ${dir}`,
        'provider: fake',
        'workers: 1',
        'log_level: trace',
        'use_auth: true',
        'authorization_model: oauth2',
        'admin_group: admins',
        `oidc_issuer: ${idp.issuer}`,
        'hydra_key: secret/hydra',
        'token_check: introspection',
        'token_cache_seconds: 0',
        'oidc_scopes: openid groups',
        `oidc_audience: ${RESOURCE}`,
        'secrets_store: file',
        `secrets_file: ${join(dir, 'secrets.json')}`,
      ].join('\n'),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MICHMAN_') || k.startsWith('MICHMAN_TEST_')));
    // The first admin's token, made by the CLI before any login.
    const made = spawnSync(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), 'token', 'create', '--user', 'boot-admin', '--groups', 'admins'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    if (made.status !== 0) throw new Error(`token create failed: ${made.stderr}`);
    planted.cliToken = made.stdout.trim();
    child = spawn(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    for (let i = 0; i < 300 && !output.includes('listening on'); i++) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!output.includes('listening on')) throw new Error(`michman serve did not start:\n${output}`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('works end to end and never shows a secret', async () => {
    // The CLI's token is an admin's.
    expect(planted.cliToken).toMatch(/^mm_/);
    expect((await call('GET', '/audit', { bearer: planted.cliToken })).status).toBe(200);

    // Public and closed routes.
    expect((await call('GET', '/version')).status).toBe(200);
    const anon = await call('GET', '/images');
    expect(anon.status).toBe(401);
    expect((await call('POST', '/projects', { body: { DisplayName: 'x' } })).status).toBe(401);

    // Bearer tokens, introspected at the provider.
    planted.alice = await idp.token('alice');
    planted.root = await idp.token('root');
    expect((await call('GET', '/images', { bearer: planted.alice })).status).toBe(200);
    expect((await call('POST', '/flavors', { bearer: planted.alice, body: { Name: 'f', VCPUs: 1, RAM: 1, Disk: 1 } })).status).toBe(403);
    expect((await call('POST', '/flavors', { bearer: planted.root, body: { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 10 } })).status).toBe(201);
    expect((await call('POST', '/images', { bearer: planted.root, body: { Name: 'ubuntu', AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' } })).status).toBe(201);

    // Browser login with PKCE, through the real server.
    // The redirect to the provider carries the new login's state: that is the protocol.
    const start = await call('GET', '/auth', { keep: false });
    expect(start.status).toBe(302);
    const back = await browserLogin(start.headers.get('location')!, 'alice');
    planted.code = back.searchParams.get('code')!;
    planted.state = back.searchParams.get('state')!;
    const loginCookie = start.headers.get('set-cookie')!.split(';')[0]!;
    const done = await call('GET', `/auth?code=${encodeURIComponent(planted.code)}&state=${encodeURIComponent(planted.state)}`, { cookie: loginCookie });
    expect(done.status, done.text).toBe(200);
    expect(done.data).toMatchObject({ user_id: 'alice', groups: 'team-a' });
    const cookie = done.headers.getSetCookie().find((c) => c.startsWith('session='))!.split(';')[0]!;
    planted.session = cookie.slice('session='.length);

    // The session works; it creates a project of its group and a cluster owned by alice.
    const p = await call('POST', '/projects', { cookie, body: { DisplayName: 'proj-a', GroupID: 'team-a', DefaultImage: 'ubuntu', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' } });
    expect(p.status, p.text).toBe(201);
    const c = await call('POST', '/projects/proj-a/clusters', { cookie, body: { DisplayName: 'c1', Services: [] } });
    expect(c.status, c.text).toBe(201);
    expect(c.data.OwnerID).toBe('alice');

    // An API token, shown once (that answer is the only one allowed to hold it).
    const t = await call('POST', '/tokens', { cookie, body: { Name: 'ci' }, keep: false });
    expect(t.status).toBe(201);
    planted.apiToken = t.data.Token;
    expect((await call('GET', '/projects/proj-a/clusters/c1-proj-a', { bearer: planted.apiToken })).data.OwnerID).toBe('alice');
    expect((await call('GET', '/projects/proj-a/clusters/c1-proj-a/events', { bearer: planted.apiToken })).status).toBe(200);
    expect((await call('GET', '/tokens', { bearer: planted.apiToken })).status).toBe(200);

    // Failures carry no secret either: a forged token, a used code, a wrong cookie.
    expect((await call('GET', '/images', { bearer: `${planted.alice}x` })).status).toBe(401);
    expect((await call('GET', `/auth?code=${encodeURIComponent(planted.code)}&state=${encodeURIComponent(planted.state)}`, { cookie: loginCookie })).status).toBe(400);
    expect((await call('GET', '/images', { cookie: `session=${planted.session}x` })).status).toBe(401);

    // Logout ends the session.
    expect((await call('POST', '/logout', { cookie })).status).toBe(200);
    expect((await call('GET', '/images', { cookie })).status).toBe(401);

    // The audit log has it all, and only for admins.
    expect((await call('GET', '/audit', { bearer: planted.alice })).status).toBe(403);
    const audit = await call('GET', '/audit', { bearer: planted.root });
    expect(audit.status).toBe(200);
    expect(audit.data.some((e: { User: string; Path: string; Status: number }) => e.User === 'alice' && e.Path === '/projects/proj-a/clusters' && e.Status === 201)).toBe(true);
    expect(audit.data.some((e: { User: string; Path: string }) => e.User === 'alice' && e.Path === '/auth')).toBe(true);

    // The grep: logs, answers (audit included), command line.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    expect(output).toContain('incoming request'); // the logs are really there, at trace level
    for (const [name, value] of Object.entries(planted)) {
      expect(value.length, name).toBeGreaterThan(8);
      expect(output.includes(value), `${name} in the logs`).toBe(false);
      expect(seen.some((s) => s.includes(value)), `${name} in an answer`).toBe(false);
      expect(cmdline.includes(value), `${name} in the command line`).toBe(false);
    }
  });
});
