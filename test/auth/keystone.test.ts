// The keystone model: X-Auth-Token validated with GET /v3/auth/tokens against a Keystone-v3-protocol
// fake on 127.0.0.1; roles and the scoped project become groups; /auth opens a session. A live test
// against a real Keystone runs when MICHMAN_TEST_KEYSTONE_URL (+ _USER, _PASSWORD, _PROJECT) is set.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { backends } from '../helpers/stores.js';
import { image, flavor, project } from '../helpers/api.js';
import { openAuthApi, type AuthApi } from './helpers/authApi.js';
import { lacks } from '../helpers/requirements.js';

interface FakeToken {
  user: { id: string; name: string };
  project: { id: string; name: string };
  roles: string[];
  expiresAt: string;
}

async function startFakeKeystone(tokens: Record<string, FakeToken>): Promise<{ addr: string; calls: number; close(): Promise<void> }> {
  const state = { calls: 0 };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers['x-auth-token'];
    const subject = req.headers['x-subject-token'];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname !== '/v3/auth/tokens' || req.method !== 'GET') return send(404, { error: { code: 404, message: 'not found' } });
    state.calls++;
    if (typeof auth !== 'string' || !tokens[auth]) return send(401, { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
    const t = typeof subject === 'string' ? tokens[subject] : undefined;
    if (!t) return send(404, { error: { code: 404, message: 'Could not find token', title: 'Not Found' } });
    send(200, {
      token: {
        methods: ['password'],
        user: { ...t.user, domain: { id: 'default', name: 'Default' }, password_expires_at: null },
        project: { ...t.project, domain: { id: 'default', name: 'Default' } },
        roles: t.roles.map((name, i) => ({ id: `role-${i}`, name })),
        expires_at: t.expiresAt,
        issued_at: new Date().toISOString(),
        audit_ids: ['x'],
      },
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    addr: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3`,
    get calls() {
      return state.calls;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const future = () => new Date(Date.now() + 3_600_000).toISOString();
const sqlite = backends().find((b) => b.name === 'sqlite')!;

describe('keystone model (Keystone v3 protocol fake)', () => {
  let ks: Awaited<ReturnType<typeof startFakeKeystone>>;
  let api: AuthApi;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ks = await startFakeKeystone({
      'tok-alice': { user: { id: 'u-alice', name: 'alice' }, project: { id: 'p1', name: 'team-a' }, roles: ['member', 'reader'], expiresAt: future() },
      'tok-bob': { user: { id: 'u-bob', name: 'bob' }, project: { id: 'p2', name: 'team-b' }, roles: ['member'], expiresAt: future() },
      'tok-admin': { user: { id: 'u-admin', name: 'admin' }, project: { id: 'p0', name: 'admin' }, roles: ['admin'], expiresAt: future() },
      'tok-old': { user: { id: 'u-old', name: 'old' }, project: { id: 'p1', name: 'team-a' }, roles: ['member'], expiresAt: new Date(Date.now() - 1000).toISOString() },
    });
    const o = await openAuthApi(sqlite, { model: 'keystone', keystoneAddr: ks.addr, adminGroup: 'admin' });
    api = o.api;
    close = o.close;
    const admin = { xAuthToken: 'tok-admin' };
    expect((await api.call('POST', '/images', admin, image())).status).toBe(201);
    expect((await api.call('POST', '/flavors', admin, flavor())).status).toBe(201);
    // A Michman project whose GroupID is the Keystone project's name belongs to its members.
    expect((await api.call('POST', '/projects', { xAuthToken: 'tok-alice' }, { ...project('proj-a'), GroupID: 'team-a' })).status).toBe(201);
  });
  afterAll(async () => {
    await close?.();
    await ks?.close();
  });

  it('maps roles and the scoped project to groups', async () => {
    const r = await api.call('GET', '/auth', { xAuthToken: 'tok-alice' });
    expect(r.status).toBe(200);
    expect(r.data).toEqual({ message: 'Authentication success! You are a member of some groups', groups: 'member,reader,team-a,team-a:member,team-a:reader', user_id: 'u-alice' });
  });

  it('lets the project members in and keeps others out', async () => {
    expect((await api.call('GET', '/projects/proj-a', { xAuthToken: 'tok-alice' })).status).toBe(200);
    expect((await api.call('GET', '/projects/proj-a', { xAuthToken: 'tok-bob' })).status).toBe(403);
    expect((await api.call('GET', '/projects/proj-a', { xAuthToken: 'tok-admin' })).status).toBe(200);
    // The token also works as a bearer token.
    expect((await api.call('GET', '/projects/proj-a', { bearer: 'tok-alice' })).status).toBe(200);
    const c = await api.call('POST', '/projects/proj-a/clusters', { xAuthToken: 'tok-alice' }, { DisplayName: 'c1', Services: [] });
    expect(c.status).toBe(201);
    expect(c.data.OwnerID).toBe('u-alice');
  });

  it("accepts the original's X-Auth-Token + X-Subject-Token pair: the subject is the user", async () => {
    const r = await api.call('GET', '/auth', {}, undefined, { 'x-auth-token': 'tok-admin', 'x-subject-token': 'tok-bob' });
    expect(r.status).toBe(200);
    expect(r.data.user_id).toBe('u-bob');
    expect((await api.call('GET', '/images', {}, undefined, { 'x-auth-token': 'forged', 'x-subject-token': 'tok-bob' })).status).toBe(401);
    expect((await api.call('GET', '/images', {}, undefined, { 'x-auth-token': 'tok-bob', 'x-subject-token': 'forged' })).status).toBe(401);
  });

  it('refuses unknown and expired tokens with 401', async () => {
    expect((await api.call('GET', '/images', { xAuthToken: 'forged' })).status).toBe(401);
    expect((await api.call('GET', '/images', { xAuthToken: 'tok-old' })).status).toBe(401);
    expect((await api.call('GET', '/images')).status).toBe(401);
  });

  it('opens a database session at /auth, as the original did', async () => {
    const none = await api.call('GET', '/auth');
    expect(none.status).toBe(403);
    expect(none.message).toBe("X-Auth-Token from headers required, can't be nil");
    const r = await api.call('GET', '/auth', { xAuthToken: 'tok-bob' });
    const cookie = String(r.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^session=/);
    const before = ks.calls;
    expect((await api.call('GET', '/images', { cookie })).status).toBe(200);
    expect(ks.calls).toBe(before); // the session needs no Keystone round trip
    expect((await api.call('POST', '/logout', { cookie })).status).toBe(200);
    expect((await api.call('GET', '/images', { cookie })).status).toBe(401);
  });

  it('gives Keystone users API tokens for scripts', async () => {
    const t = await api.call('POST', '/tokens', { xAuthToken: 'tok-alice' }, { Name: 'script', ExpiresInDays: 30 });
    expect(t.status).toBe(201);
    expect(t.data.Token).toMatch(/^mm_/);
    expect((await api.call('GET', '/projects/proj-a', { bearer: t.data.Token })).status).toBe(200);
    expect((await api.call('GET', '/tokens', { bearer: t.data.Token })).data[0]).not.toHaveProperty('Token');
  });
});

const live = process.env.MICHMAN_TEST_KEYSTONE_URL;
describe.skipIf(lacks('a live Keystone (MICHMAN_TEST_KEYSTONE_URL, from scripts/openstack-testbed.sh up)', live !== undefined && live !== ''))('keystone model against a real Keystone (MICHMAN_TEST_KEYSTONE_URL)', () => {
  it('validates a real token and maps its project', async () => {
    const base = live!.replace(/\/+$/, '').replace(/\/v3$/, '');
    const res = await fetch(`${base}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: process.env.MICHMAN_TEST_KEYSTONE_USER ?? 'admin', domain: { id: 'default' }, password: process.env.MICHMAN_TEST_KEYSTONE_PASSWORD ?? '' } } },
          scope: { project: { name: process.env.MICHMAN_TEST_KEYSTONE_PROJECT ?? 'admin', domain: { id: 'default' } } },
        },
      }),
    });
    expect(res.status).toBe(201);
    const token = res.headers.get('x-subject-token')!;
    await res.body?.cancel();
    const o = await openAuthApi(sqlite, { model: 'keystone', keystoneAddr: live! });
    try {
      const r = await o.api.call('GET', '/auth', { xAuthToken: token });
      expect(r.status, r.raw).toBe(200);
      expect(r.data.groups.split(',')).toContain(process.env.MICHMAN_TEST_KEYSTONE_PROJECT ?? 'admin');
      expect((await o.api.call('GET', '/images', { xAuthToken: `${token}x` })).status).toBe(401);
    } finally {
      await o.close();
    }
  });
});
