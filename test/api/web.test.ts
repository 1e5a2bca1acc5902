// The web console's files as Michman serves them: at / and /assets/ only (no API path shadowed),
// public even when authentication is on, index.html revalidated and hashed assets cached for a
// year, with a Content-Security-Policy that lets the page load nothing from elsewhere; and
// GET /auth/session, which tells the page how to log in.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import { Policy } from '../../src/auth/policy.js';
import { OidcClient } from '../../src/auth/oidc.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

const sqlite = backends().find((b) => b.name === 'sqlite')!;

describe('the web console files and /auth/session', () => {
  let dir: string;
  let opened: OpenedStore;
  let app: FastifyInstance;
  let bare: FastifyInstance;
  const INDEX = '<!doctype html><title>Michman</title><script type="module" src="/assets/index-Ab12.js"></script>';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-webdir-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(dir, 'assets', 'index-Ab12.js'), 'console.log(1)');
    opened = await sqlite.open();
    // oauth2 with a provider nobody calls: every route but the public ones wants a login.
    const oidc = new OidcClient({ issuer: 'http://127.0.0.1:9', tokenCheck: 'jwt', scopes: 'openid', groupsClaim: 'groups', userClaim: 'sub', cacheMs: 0 });
    app = await buildServer({
      store: opened.store,
      logger: false,
      webDir: dir,
      auth: { model: 'oauth2', adminGroup: 'admin', policy: await Policy.load(), sessionIdleMs: 60_000, sessionLifetimeMs: 60_000, oidc },
    });
    bare = await buildServer({ store: opened.store, logger: false, webDir: join(dir, 'not-built') });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await opened?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / to anyone, revalidated every time, with a same-origin-only CSP', async () => {
    for (const url of ['/', '/index.html']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.statusCode).toBe(304);
      expect(again.body).toBe('');
    }
  });

  it('caches hashed assets for a year and answers unknown ones with a 404 envelope', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-Ab12.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await app.inject({ method: 'GET', url: '/assets/nothing.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().Detail.Message).toContain('route not found');
    expect((await app.inject({ method: 'GET', url: '/favicon.svg' })).headers['content-type']).toBe('image/svg+xml');
  });

  it('shadows no API path: those still want a login and answer JSON', async () => {
    for (const url of ['/projects', '/configs', '/images', '/projects/x/clusters']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().Detail.Message, url).toContain('authentication required');
    }
    expect((await app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(200);
    // Other paths are not the console's: no index.html for them.
    expect((await app.inject({ method: 'GET', url: '/clusters' })).statusCode).toBe(401);
  });

  it('GET /auth/session says how to log in and that nobody is', async () => {
    const res = await app.inject({ method: 'GET', url: '/auth/session' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json().Detail.Data).toEqual({ Auth: 'oauth2', User: null, Groups: [], Admin: false, Via: null });
    // A stale session cookie does not turn the question into an error.
    const stale = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: 'session=gone' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.json().Detail.Data.User).toBeNull();
    const off = await bare.inject({ method: 'GET', url: '/auth/session' });
    expect(off.json().Detail.Data).toEqual({ Auth: 'off', User: null, Groups: [], Admin: true, Via: null });
  });

  it('says so at / when the console is not built, and the API works all the same', async () => {
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('npm run build');
    expect((await bare.inject({ method: 'GET', url: '/projects' })).statusCode).toBe(200);
  });
});
