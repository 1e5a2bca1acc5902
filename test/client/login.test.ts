// `michman login` against a real server with authentication on (the keystone model, against a
// Keystone-v3-protocol fake on 127.0.0.1): the pasted token is read from stdin, traded for a Michman
// API token, kept 0600 in $XDG_CONFIG_HOME/michman, used by later commands, and revoked by logout.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { statSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, run, configHome, type TestServer } from './server.js';
import { Policy } from '../../src/auth/policy.js';
import { KeystoneClient } from '../../src/auth/keystone.js';
import { loadConfig } from '../../src/config/load.js';

const KEYSTONE_TOKEN = 'gAAAAAB-keystone-token-of-alice';

async function fakeKeystone(): Promise<{ addr: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const ok = req.url === '/v3/auth/tokens' && req.headers['x-auth-token'] === KEYSTONE_TOKEN && req.headers['x-subject-token'] === KEYSTONE_TOKEN;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        ok
          ? {
              token: {
                methods: ['password'],
                user: { id: 'alice-id', name: 'alice', domain: { id: 'default', name: 'Default' } },
                project: { id: 'p1', name: 'research', domain: { id: 'default', name: 'Default' } },
                roles: [{ id: 'r1', name: 'admins' }],
                expires_at: new Date(Date.now() + 3_600_000).toISOString(),
                issued_at: new Date().toISOString(),
              },
            }
          : { error: { code: 401, message: 'The request you have made requires authentication.' } },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    addr: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('michman login / logout', { timeout: 120_000 }, () => {
  let keystone: Awaited<ReturnType<typeof fakeKeystone>>;
  let server: TestServer;
  let open: TestServer;
  let home: ReturnType<typeof configHome>;
  let other: ReturnType<typeof configHome>;

  beforeAll(async () => {
    home = configHome();
    other = configHome();
    keystone = await fakeKeystone();
    server = await startServer({
      auth: { model: 'keystone', adminGroup: 'admins', policy: await Policy.load(), sessionIdleMs: 3_600_000, sessionLifetimeMs: 8 * 3_600_000, keystone: new KeystoneClient({ addr: keystone.addr, cacheMs: 0 }) },
    });
    open = await startServer();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await open?.close();
    await keystone?.close();
    home?.cleanup();
    other?.cleanup();
  });

  it('trades a pasted Keystone token (stdin) for an API token kept 0600, which later commands use; logout revokes it', async () => {
    const login = await run(['login', '--url', server.url], { env: { XDG_CONFIG_HOME: home.dir }, input: `${KEYSTONE_TOKEN}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain(`logged in to ${server.url} as alice-id`);
    expect(login.stdout + login.stderr).not.toContain(KEYSTONE_TOKEN);

    const dir = join(home.dir, 'michman');
    const file = join(dir, 'credentials.json');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.current).toBe(server.url);
    const token = saved.servers[server.url].token as string;
    expect(token.startsWith('mm_')).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain(KEYSTONE_TOKEN);

    // No --url, no MICHMAN_URL: the server and token of the login.
    const list = await run(['project', 'list', '-o', 'json'], { env: { XDG_CONFIG_HOME: home.dir } });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);

    // Someone without the login is refused, with the server's message.
    const anon = await run(['project', 'list', '--url', server.url], { env: { XDG_CONFIG_HOME: other.dir } });
    expect(anon.code).toBe(1);
    expect(anon.stderr).toMatch(/authentication required/i);

    // MICHMAN_API_TOKEN works without a login.
    const viaEnv = await run(['project', 'list', '--url', server.url], { env: { XDG_CONFIG_HOME: other.dir, MICHMAN_API_TOKEN: token } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);

    const logout = await run(['logout'], { env: { XDG_CONFIG_HOME: home.dir } });
    expect(logout.code, logout.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).servers[server.url]).toBeUndefined();
    const revoked = await run(['project', 'list', '--url', server.url], { env: { XDG_CONFIG_HOME: other.dir, MICHMAN_API_TOKEN: token } });
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toContain('invalid, revoked or expired API token');
  }, 120_000);

  it('refuses a bad token with exit 1 and keeps nothing', async () => {
    const r = await run(['login', '--url', server.url], { env: { XDG_CONFIG_HOME: other.dir }, input: 'not-a-valid-token\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid or expired Keystone token');
    expect(existsSync(join(other.dir, 'michman', 'credentials.json'))).toBe(false);
  });

  it('an empty stdin is a usage error', async () => {
    const r = await run(['login', '--url', server.url], { env: { XDG_CONFIG_HOME: other.dir }, input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no token given');
  });

  it('a server with authentication off needs no login, and becomes the default server', async () => {
    const r = await run(['login', '--url', open.url], { env: { XDG_CONFIG_HOME: other.dir } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('authentication off: no login needed');
    const list = await run(['image', 'list'], { env: { XDG_CONFIG_HOME: other.dir } });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('no images\n');
  }, 120_000);

  it('the help of login says why the token is not an argument', async () => {
    const r = await run(['login', '--help']);
    expect(r.stdout).toContain('visible in the process list');
  });

  it("the server's own configuration passes over the client's variables", () => {
    expect(() => loadConfig({ env: { MICHMAN_URL: 'http://x:1', MICHMAN_API_TOKEN: 'mm_x' }, cwd: home.dir })).not.toThrow();
  });
});
