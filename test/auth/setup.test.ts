// Start-up and the rules that need no provider: createAuth from the configuration and the secret
// store, the policy files (built-in and custom, in the original's format), the none model, the
// warning for an open API beyond loopback, session lifetime and idle timeout, API token expiry.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from '../helpers/stores.js';
import { loadConfig } from '../../src/config/load.js';
import { createAuth } from '../../src/auth/setup.js';
import { startAuth, isLoopback } from '../../src/auth/start.js';
import { Policy } from '../../src/auth/policy.js';
import { parseGroupsClaim } from '../../src/auth/identity.js';
import { redactQuery } from '../../src/auth/redact.js';
import { FileSecretStore } from '../../src/secrets/index.js';
import { SessionRepo } from '../../src/store/repos/sessions.js';
import { sha256 } from '../../src/auth/oidc.js';
import { openAuthApi, type AuthApi } from './helpers/authApi.js';

const sqlite = backends().find((b) => b.name === 'sqlite')!;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'michman-auth-setup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createAuth', () => {
  it('is off without use_auth, and reads the OAuth2 client from the secret store', async () => {
    const secrets = new FileSecretStore(join(dir, 's1.json'));
    expect(await createAuth(loadConfig({ cwd: dir, env: {} }), secrets)).toBeUndefined();
    await secrets.put('secret/hydra', { client_id: 'michman', client_secret: 'cs', redirect_uri: 'http://m/auth' });
    const cfg = loadConfig({ cwd: dir, env: { MICHMAN_USE_AUTH: 'true', MICHMAN_AUTHORIZATION_MODEL: 'oauth2', MICHMAN_HYDRA_CLIENT: 'http://127.0.0.1:4444', MICHMAN_HYDRA_KEY: 'secret/hydra', MICHMAN_ADMIN_GROUP: 'ops' } });
    const setup = await createAuth(cfg, secrets);
    expect(setup).toMatchObject({ model: 'oauth2', adminGroup: 'ops', redirectUri: 'http://m/auth', sessionIdleMs: 60 * 60_000, sessionLifetimeMs: 480 * 60_000 });
    expect(setup!.oidc!.o).toMatchObject({ issuer: 'http://127.0.0.1:4444', clientId: 'michman', clientSecret: 'cs', tokenCheck: 'introspection' });
  });

  it('refuses a hydra_key that is not in the store, naming the key and not a value', async () => {
    const secrets = new FileSecretStore(join(dir, 's2.json'));
    const cfg = loadConfig({ cwd: dir, env: { MICHMAN_USE_AUTH: 'true', MICHMAN_AUTHORIZATION_MODEL: 'oauth2', MICHMAN_OIDC_ISSUER: 'http://127.0.0.1:4444', MICHMAN_HYDRA_KEY: 'secret/none' } });
    await expect(createAuth(cfg, secrets)).rejects.toThrow("hydra_key: secret 'secret/none' not found in the file secret store");
  });

  it('refuses policy files that do not exist', async () => {
    const cfg = loadConfig({ cwd: dir, env: { MICHMAN_USE_AUTH: 'true', MICHMAN_POLICY_PATH: join(dir, 'missing.csv') } });
    await expect(createAuth(cfg, new FileSecretStore(join(dir, 's3.json')))).rejects.toThrow(/policy_path: file .*missing.csv does not exist/);
  });

  it('warns when the API is open beyond loopback', async () => {
    const warnings: string[] = [];
    const log = { warn: (_o: unknown, m: string) => warnings.push(m), info: () => undefined } as never;
    const secrets = new FileSecretStore(join(dir, 's4.json'));
    await startAuth(loadConfig({ cwd: dir, env: { MICHMAN_LISTEN: '0.0.0.0:8081' } }), log, secrets);
    await startAuth(loadConfig({ cwd: dir, env: { MICHMAN_LISTEN: '0.0.0.0:8081', MICHMAN_USE_AUTH: 'true' } }), log, secrets);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/without authentication/);
    await startAuth(loadConfig({ cwd: dir, env: { MICHMAN_LISTEN: '127.0.0.1:8081', MICHMAN_USE_AUTH: 'true' } }), log, secrets);
    await startAuth(loadConfig({ cwd: dir, env: { MICHMAN_LISTEN: '0.0.0.0:8081', MICHMAN_USE_AUTH: 'true', MICHMAN_AUTHORIZATION_MODEL: 'keystone', MICHMAN_KEYSTONE_ADDR: 'http://127.0.0.1:5000' } }), log, secrets);
    expect(warnings).toHaveLength(2);
    expect(['127.0.0.1', 'localhost', '::1', '127.3.4.5'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org'].some(isLoopback)).toBe(false);
  });
});

describe('policy', () => {
  it('built-in: the intended matrix, with the original keyMatch semantics', async () => {
    const p = await Policy.load();
    expect(p.allows(['admin'], '/anything/at/all', 'DELETE')).toBe(true);
    expect(p.allows(['user'], '/configs/spark/versions', 'GET')).toBe(true);
    expect(p.allows(['user'], '/configs/spark/versions', 'POST')).toBe(false);
    expect(p.allows(['user'], '/projects', 'POST')).toBe(true);
    expect(p.allows(['user'], '/projects/a', 'GET')).toBe(false);
    expect(p.allows(['project_member'], '/projects/a/clusters/c', 'DELETE')).toBe(true);
    expect(p.allows(['project_member'], '/logs/projects/a/clusters/c', 'GET')).toBe(true);
    expect(p.allows(['user'], '/audit', 'GET')).toBe(false);
  });

  it('custom files in the original format replace it', async () => {
    writeFileSync(join(dir, 'model.conf'), '[request_definition]\nr = sub, obj, act\n\n[policy_definition]\np = sub, obj, act\n\n[policy_effect]\ne = some(where (p.eft == allow))\n\n[matchers]\nm = r.sub == p.sub && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*")\n');
    writeFileSync(join(dir, 'policy.csv'), 'p, user, /images, GET\np, admin, /configs/*, *\n');
    const p = await Policy.load({ modelPath: join(dir, 'model.conf'), policyPath: join(dir, 'policy.csv') });
    expect(p.allows(['user'], '/images', 'GET')).toBe(true);
    expect(p.allows(['user'], '/flavors', 'GET')).toBe(false);
    expect(p.allows(['admin'], '/configs/x', 'PUT')).toBe(true);
    expect(p.allows(['admin'], '/images', 'POST')).toBe(false);
  });
});

describe('small rules', () => {
  it('groups: comma-separated (trimmed, §12.3.4) or an array', () => {
    expect(parseGroupsClaim('a, b,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseGroupsClaim(['a', 'a', 7, ' b '])).toEqual(['a', 'b']);
    expect(parseGroupsClaim(undefined)).toEqual([]);
  });
  it('masks credentials in logged URLs', () => {
    expect(redactQuery('/auth?code=abc&state=def&x=1')).toBe('/auth?code=***&state=***&x=1');
    expect(redactQuery('/images')).toBe('/images');
  });
});

describe('none model', () => {
  let api: AuthApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const o = await openAuthApi(sqlite, { model: 'none' });
    api = o.api;
    close = o.close;
  });
  afterAll(async () => close?.());

  it('is open, and /auth grants nothing', async () => {
    expect((await api.call('POST', '/images', {}, { Name: 'ubuntu', AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' })).status).toBe(201);
    const r = await api.call('GET', '/auth');
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ groups: 'none', user_id: '' });
    expect(r.headers['set-cookie']).toBeUndefined();
    expect((await api.call('POST', '/tokens', {}, { Name: 'x' })).status).toBe(400);
  });
});

describe('session and token lifetimes (clock under test control)', () => {
  let api: AuthApi;
  let close: () => Promise<void>;
  let clock = 1_800_000_000_000;
  beforeAll(async () => {
    const o = await openAuthApi(sqlite, { model: 'keystone', keystoneAddr: 'http://127.0.0.1:1', sessionIdleMs: 10 * 60_000, sessionLifetimeMs: 60 * 60_000, now: () => clock });
    api = o.api;
    close = o.close;
  });
  afterAll(async () => close?.());

  const session = async (name: string) => {
    await new SessionRepo({ db: api.store.db, kit: api.store.kit }).insert({ idHash: sha256(name), userId: 'u1', groups: ['g'], via: 'session', createdAt: clock, lastSeenAt: clock, expiresAt: clock + api.setup.sessionLifetimeMs });
    return { cookie: `session=${name}` };
  };

  it('ends a session after the idle timeout, and an active one at its lifetime', async () => {
    const idle = await session('idle-session-0123456789');
    const busy = await session('busy-session-0123456789');
    for (let i = 0; i < 6; i++) {
      clock += 9 * 60_000; // within the idle timeout each time
      expect((await api.call('GET', '/images', busy)).status, `minute ${(i + 1) * 9}`).toBe(200);
    }
    expect((await api.call('GET', '/images', idle)).status).toBe(401); // idle for 54 minutes
    clock += 9 * 60_000; // 63 minutes: past the lifetime, however busy
    expect((await api.call('GET', '/images', busy)).status).toBe(401);
  });

  it('refuses an API token after its expiry', async () => {
    const c = await session('token-maker-0123456789');
    const t = await api.call('POST', '/tokens', c, { Name: 'short', ExpiresInDays: 1 });
    expect(t.status).toBe(201);
    const bearer = { bearer: t.data.Token as string };
    expect((await api.call('GET', '/images', bearer)).status).toBe(200);
    clock += 86_400_000;
    expect((await api.call('GET', '/images', bearer)).status).toBe(401);
    expect((await api.call('POST', '/tokens', c, { Name: '' })).status).toBe(401); // the session expired meanwhile
  });

  it('names the field of a bad token request', async () => {
    const c = await session('validator-0123456789');
    const r = await api.call('POST', '/tokens', c, { Name: 'x', ExpiresInDays: 0 });
    expect(r.status).toBe(400);
    expect(r.message).toContain('ExpiresInDays');
  });
});

describe('hydra_admin', () => {
  it('is the original base URL, or the endpoint itself (Hydra 2)', async () => {
    const { introspectionUrl } = await import('../../src/auth/setup.js');
    expect(introspectionUrl('http://hydra:4445/')).toBe('http://hydra:4445/oauth2/introspect');
    expect(introspectionUrl('http://hydra:4445/admin/oauth2/introspect')).toBe('http://hydra:4445/admin/oauth2/introspect');
    expect(introspectionUrl(undefined)).toBeUndefined();
  });
});
