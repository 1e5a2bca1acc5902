// An API with authentication on, for the auth suites: the real server on a fresh store, with an
// AuthSetup built from the same pieces createAuth uses, and a request helper that sends credentials.
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/api/server.js';
import type { Store } from '../../../src/store/store.js';
import { Policy } from '../../../src/auth/policy.js';
import { OidcClient, type OidcOptions } from '../../../src/auth/oidc.js';
import { KeystoneClient } from '../../../src/auth/keystone.js';
import type { AuthSetup, AuthModel } from '../../../src/auth/setup.js';
import type { Backend, OpenedStore } from '../../helpers/stores.js';
import type { Reply } from '../../helpers/api.js';

export interface Creds {
  bearer?: string;
  cookie?: string;
  xAuthToken?: string;
}

export class AuthApi {
  constructor(
    readonly app: FastifyInstance,
    readonly store: Store,
    readonly setup: AuthSetup,
  ) {}

  async call(method: string, url: string, creds: Creds = {}, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    if (creds.bearer) h.authorization = `Bearer ${creds.bearer}`;
    if (creds.cookie) h.cookie = creds.cookie;
    if (creds.xAuthToken) h['x-auth-token'] = creds.xAuthToken;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) h['content-type'] = 'application/json';
    const res = await this.app.inject({ method: method as 'GET', url, payload, headers: h });
    let parsed: any;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, headers: res.headers as Reply['headers'], body: parsed, data: parsed?.Detail?.Data, message: parsed?.Detail?.Message, raw: res.body };
  }
}

export interface AuthApiOptions {
  model: AuthModel;
  oidc?: Partial<OidcOptions> & { issuer: string };
  keystoneAddr?: string;
  adminGroup?: string;
  sessionIdleMs?: number;
  sessionLifetimeMs?: number;
  redirectUri?: string;
  now?: () => number;
}

export async function openAuthApi(backend: Backend, o: AuthApiOptions): Promise<{ api: AuthApi; opened: OpenedStore; close(): Promise<void> }> {
  const opened = await backend.open();
  const setup: AuthSetup = {
    model: o.model,
    adminGroup: o.adminGroup ?? 'admins',
    policy: await Policy.load(),
    sessionIdleMs: o.sessionIdleMs ?? 60 * 60_000,
    sessionLifetimeMs: o.sessionLifetimeMs ?? 8 * 60 * 60_000,
    redirectUri: o.redirectUri,
    now: o.now,
  };
  if (o.oidc) {
    setup.oidc = new OidcClient({
      tokenCheck: 'jwt',
      scopes: 'openid groups',
      groupsClaim: 'groups',
      userClaim: 'sub',
      cacheMs: 0,
      ...o.oidc,
    });
  }
  if (o.keystoneAddr) setup.keystone = new KeystoneClient({ addr: o.keystoneAddr, cacheMs: 0 });
  const app = await buildServer({ store: opened.store, logger: false, auth: setup });
  return {
    api: new AuthApi(app, opened.store, setup),
    opened,
    async close() {
      await app.close();
      await opened.cleanup();
    },
  };
}
