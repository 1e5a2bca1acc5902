// A real OAuth2/OIDC provider (oidc-provider) on 127.0.0.1 with an ephemeral port, for the auth
// suites: authorization code with PKCE (dev login/consent pages driven over HTTP), client
// credentials (one client per test user, so each gets its own token), introspection, and JWT or
// opaque access tokens. Every user's groups come back in tokens, introspection and userinfo.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const WEB_CLIENT = { id: 'michman', secret: 'web-client-secret-0123456789', redirectUri: 'http://michman.test/auth' };
export const RESOURCE = 'urn:michman';

export interface Idp {
  issuer: string;
  /** A client-credentials access token for `user` (a client of the same name). */
  token(user: string): Promise<string>;
  /** Revokes a token `user` (its client) was given. */
  revoke(user: string, token: string): Promise<void>;
  close(): Promise<void>;
}

export interface IdpOptions {
  /** user → groups; a group list may also be a comma-separated string (Hydra style). */
  users: Record<string, string[] | string>;
  accessTokenFormat: 'jwt' | 'opaque';
  /** Where the web client may be sent back (default WEB_CLIENT.redirectUri); a real server's /auth for browser tests. */
  redirectUri?: string;
}

export async function startIdp(o: IdpOptions): Promise<Idp> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const groupsOf = (id: string | undefined) => (id !== undefined ? o.users[id] : undefined) ?? [];

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: WEB_CLIENT.id,
        client_secret: WEB_CLIENT.secret,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [o.redirectUri ?? WEB_CLIENT.redirectUri],
      },
      ...Object.keys(o.users).map((u) => ({
        client_id: u,
        client_secret: `secret-of-${u}-0123456789`,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'api',
      })),
    ],
    cookies: { keys: ['test-cookie-key-0123456789'] },
    scopes: ['openid', 'groups', 'api'],
    claims: { openid: ['sub'], groups: ['groups'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, groups: groupsOf(id) }) }),
    extraTokenClaims: (_ctx, token) => {
      const t = token as { accountId?: string; clientId?: string };
      return { groups: groupsOf(t.accountId ?? t.clientId) };
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // The web client's tokens stay for userinfo; the users' client-credentials tokens are for Michman.
        defaultResource: (_ctx, client) => (client.clientId === WEB_CLIENT.id ? undefined : RESOURCE),
        getResourceServerInfo: () => ({ scope: 'api', audience: RESOURCE, accessTokenFormat: o.accessTokenFormat, jwt: { sign: { alg: 'RS256' } } }),
        useGrantedResource: () => true,
      },
    },
  } as never);
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());

  return {
    issuer,
    async token(user) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${user}:secret-of-${user}-0123456789`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource: RESOURCE }).toString(),
      });
      const body = (await res.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token) throw new Error(`no token for ${user}: ${res.status} ${body.error_description ?? ''}`);
      return body.access_token;
    },
    async revoke(user, token) {
      const res = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${user}:secret-of-${user}-0123456789`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }).toString(),
      });
      if (res.status !== 200) throw new Error(`revocation failed: ${res.status}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Plays the browser: follows the provider's redirects from an authorization URL, logs in as
 * `user` and consents on the dev pages, and returns the final redirect to the client (code, state).
 */
export async function browserLogin(authorizeUrl: string, user: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  };
  let url = new URL(authorizeUrl);
  const origin = url.origin;
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin !== origin) return url; // back at the client
    let res = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader() } });
    keep(res);
    if (res.status === 200 && url.pathname.startsWith('/interaction/')) {
      const html = await res.text();
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      if (!prompt) throw new Error(`no prompt on ${url.pathname}`);
      const form = new URLSearchParams({ prompt, login: user, password: 'any' });
      res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      keep(res);
    }
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`login stopped at ${url.pathname} with ${res.status}: ${(await res.text()).slice(0, 300)}`);
    await res.body?.cancel();
    url = new URL(loc, url);
  }
  throw new Error('too many redirects');
}
