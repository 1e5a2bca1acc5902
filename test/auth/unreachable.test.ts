// An identity provider that does not answer: every token check is a 503 naming the identity
// provider (the caller may retry later), never a 500 and never a 2xx.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { backends } from '../helpers/stores.js';
import { openAuthApi, type AuthApi } from './helpers/authApi.js';

const sqlite = backends().find((b) => b.name === 'sqlite')!;

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('an unreachable identity provider', () => {
  const apis: Array<{ close(): Promise<void> }> = [];
  let keystone: AuthApi;
  let oidcJwt: AuthApi;
  let oidcIntrospect: AuthApi;
  beforeAll(async () => {
    const port = await closedPort();
    const ks = await openAuthApi(sqlite, { model: 'keystone', keystoneAddr: `http://127.0.0.1:${port}/v3` });
    const jwt = await openAuthApi(sqlite, { model: 'oauth2', oidc: { issuer: `http://127.0.0.1:${port}`, tokenCheck: 'jwt', timeoutMs: 2000 } });
    const intro = await openAuthApi(sqlite, { model: 'oauth2', oidc: { issuer: `http://127.0.0.1:${port}`, tokenCheck: 'introspection', clientId: 'c', clientSecret: 's', timeoutMs: 2000 } });
    apis.push(ks, jwt, intro);
    keystone = ks.api;
    oidcJwt = jwt.api;
    oidcIntrospect = intro.api;
  });
  afterAll(async () => {
    for (const a of apis) await a.close();
  });

  it('Keystone: X-Auth-Token and bearer checks answer 503 naming Keystone', async () => {
    for (const r of [await keystone.call('GET', '/images', { xAuthToken: 'tok' }), await keystone.call('GET', '/projects', { bearer: 'tok' }), await keystone.call('GET', '/auth', { xAuthToken: 'tok' })]) {
      expect(r.status).toBe(503);
      expect(r.message).toMatch(/identity provider/);
      expect(r.message).toMatch(/Keystone/);
    }
  });

  it('OIDC (JWT and introspection): bearer checks answer 503 naming the identity provider', async () => {
    for (const api of [oidcJwt, oidcIntrospect]) {
      const r = await api.call('GET', '/images', { bearer: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' });
      expect(r.status).toBe(503);
      expect(r.message).toMatch(/identity provider/);
    }
  });
});
