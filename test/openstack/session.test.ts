// Identity and the HTTP layer against the fake cloud: token cache, re-authentication on a revoked
// token and before expiry, application credentials, endpoint discovery, transient failures retried,
// timeouts, non-idempotent calls not repeated, no secret in any error.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { FakeOpenStack } from './fakeOpenstack.js';
import { authOf } from './helpers.js';
import { Session } from '../../src/providers/openstack/identity/session.js';
import { OpenStackError } from '../../src/providers/openstack/http.js';
import { findFlavor } from '../../src/providers/openstack/compute/flavors.js';
import { listServers } from '../../src/providers/openstack/compute/servers.js';

let fake: FakeOpenStack;
// Generous: the suite shares a 2-core machine with heavy neighbours; only the hang test needs a short one.
const http = { timeoutMs: 10_000, attempts: 3, backoffMs: 10 };

beforeAll(async () => {
  fake = await new FakeOpenStack().start();
});
afterAll(async () => fake.stop());
beforeEach(() => {
  fake.faults = [];
  fake.tokenLifetimeMs = 3600_000;
});

describe('identity', () => {
  it('authenticates once and reuses the token', async () => {
    const s = new Session(async () => authOf(fake), http);
    await findFlavor(s, 'm1.tiny');
    await findFlavor(s, 'm1.small');
    expect(s.authCount).toBe(1);
    expect(await s.endpoint('compute')).toBe(`${fake.url}/compute/v2.1`);
    expect(await s.endpoint('network')).toBe(`${fake.url}/network/v2.0`);
    expect(await s.endpoint('block-storage')).toMatch(/\/volume\/v3\/[0-9a-f]+$/);
  });

  it('a token revoked mid-operation is renewed and the call goes through', async () => {
    const s = new Session(async () => authOf(fake), http);
    await listServers(s, {});
    fake.revokeAllTokens();
    expect(await listServers(s, {})).toEqual([]);
    expect(s.authCount).toBe(2);
  });

  it('renews a token that is about to expire before using it', async () => {
    fake.tokenLifetimeMs = 1_000; // short tokens: renewed after half their life
    const from = fake.requests.length;
    const s = new Session(async () => authOf(fake), http);
    await listServers(s, {});
    await listServers(s, {});
    expect(s.authCount).toBe(1);
    await new Promise((r) => setTimeout(r, 600));
    await listServers(s, {});
    expect(s.authCount).toBe(2);
    expect(fake.requests.slice(from).filter((r) => r.status === 401)).toHaveLength(0);
  });

  it('application credentials', async () => {
    const s = new Session(async () => authOf(fake, 'application_credential'), http);
    expect((await findFlavor(s, '1'))?.name).toBe('m1.tiny');
  });

  it('wrong password: a clear 401 without the password', async () => {
    const s = new Session(async () => ({ ...authOf(fake), password: 'not-the-password-x9' }), http);
    const err = (await listServers(s, {}).catch((e: unknown) => e)) as OpenStackError;
    expect(err).toBeInstanceOf(OpenStackError);
    expect(err.message).toMatch(/identity POST .*auth\/tokens: HTTP 401/);
    expect(err.message).not.toContain('not-the-password-x9');
  });

  it('an unknown region is named', async () => {
    const s = new Session(async () => ({ ...authOf(fake), regionName: 'Mars' }), http);
    await expect(listServers(s, {})).rejects.toThrow(/no compute endpoint \(region Mars, interface public\)/);
  });
});

describe('http', () => {
  it('5xx and connection resets on a GET are retried', async () => {
    const s = new Session(async () => authOf(fake), http);
    fake.faults = [
      { method: 'GET', path: /^\/compute\/servers\/detail/, status: 503, times: 1 },
      { method: 'GET', path: /^\/compute\/servers\/detail/, status: 0, times: 1 },
    ];
    expect(await listServers(s, {})).toEqual([]);
    expect(fake.faults.every((f) => f.times === 0)).toBe(true);
  });

  it('gives up after the attempts with the service, path and message', async () => {
    const s = new Session(async () => authOf(fake), http);
    fake.faults = [{ method: 'GET', path: /^\/compute\/servers\/detail/, status: 500, times: 5, message: 'database is on fire' }];
    await expect(listServers(s, {})).rejects.toThrow(/compute GET \/compute\/v2\.1\/servers\/detail: HTTP 500: database is on fire/);
  });

  it('a call that hangs times out, and is retried', async () => {
    const s = new Session(async () => authOf(fake), { ...http });
    await listServers(s, {}); // authenticated with the generous timeout
    (s.http as { timeoutMs: number }).timeoutMs = 1_000;
    fake.faults = [{ method: 'GET', path: /^\/compute\/servers\/detail/, delayMs: 3_000, times: 1 }];
    expect(await listServers(s, {})).toEqual([]);
    fake.faults = [{ method: 'GET', path: /^\/compute\/servers\/detail/, delayMs: 3_000, times: 3 }];
    await expect(listServers(s, {})).rejects.toThrow(/no answer within 1 s/);
  });

  it('a POST that failed with 500 is not repeated (it may have happened)', async () => {
    const s = new Session(async () => authOf(fake), http);
    fake.faults = [{ method: 'POST', path: /^\/network\/security-groups$/, status: 500, times: 1 }];
    const before = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/security-groups')).length;
    await expect(s.request('network', 'POST', '/security-groups', { security_group: { name: 'x' } })).rejects.toThrow(/HTTP 500/);
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/security-groups')).length - before).toBe(1);
    expect(fake.sgs.size).toBe(0);
  });
});
