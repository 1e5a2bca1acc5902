// Any OAuth2/OIDC provider (Ory Hydra, Keycloak, oidc-provider, ...): discovery, bearer-token
// checks by introspection or by JWT signature against the provider's JWKS, and the browser login
// (authorization code with PKCE). Plain fetch + jose: no client library state to share.
import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { MichmanError, ErrorClass } from '../domain/errors.js';
import { Unauthenticated, parseGroupsClaim } from './identity.js';

export interface OidcOptions {
  issuer: string;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  tokenCheck: 'introspection' | 'jwt';
  /** Introspection endpoint overriding discovery's (Hydra's admin API: <hydra_admin>/oauth2/introspect). */
  introspectionUrl?: string;
  audience?: string;
  scopes: string;
  groupsClaim: string;
  userClaim: string;
  /** How long a checked token is trusted before it is checked again. */
  cacheMs: number;
  timeoutMs?: number;
  now?: () => number;
}

interface Metadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  userinfo_endpoint?: string;
  introspection_endpoint?: string;
  jwks_uri?: string;
}

export interface Claims {
  userId: string;
  groups: string[];
}

// 503: the caller's request may well be fine; the identity provider could not say.
const providerError = (what: string) => new MichmanError(ErrorClass.Unavailable, `identity provider: ${what}`);

/** A failure to reach a server (refused, reset, DNS), as opposed to a malformed token. */
function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_|UND_ERR)/.test(code)) return true;
    if (e instanceof TypeError && /fetch failed/i.test(e.message)) return true;
  }
  return false;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');
export const pkceChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export class OidcClient {
  private meta?: Promise<Metadata>;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;
  // Key: SHA-256 of the token, so the cache holds no token.
  private readonly cache = new Map<string, { claims: Claims; until: number }>();

  constructor(readonly o: OidcOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private async fetchJson(url: string, init: RequestInit, what: string): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
    } catch {
      throw providerError(`${what} at ${new URL(url).origin} is unreachable`);
    }
    const text = await res.text().catch(() => {
      throw providerError(`${what} at ${new URL(url).origin} closed the connection`);
    });
    let json: Record<string, unknown> | undefined;
    try {
      const v: unknown = text ? JSON.parse(text) : undefined;
      json = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  }

  metadata(): Promise<Metadata> {
    if (!this.meta) {
      const issuer = this.o.issuer.replace(/\/+$/, '');
      this.meta = this.fetchJson(`${issuer}/.well-known/openid-configuration`, {}, 'discovery').then(({ status, json }) => {
        if (status !== 200 || !json || typeof json.issuer !== 'string') throw providerError(`discovery at ${issuer} answered ${status}`);
        return json as unknown as Metadata;
      });
      // A provider that was down at start-up is asked again on the next request.
      this.meta.catch(() => (this.meta = undefined));
    }
    return this.meta;
  }

  private clientAuth(): Record<string, string> {
    if (!this.o.clientId) return {};
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    return { Authorization: `Basic ${Buffer.from(`${enc(this.o.clientId)}:${enc(this.o.clientSecret ?? '')}`).toString('base64')}` };
  }

  claimsOf(payload: Record<string, unknown>): Claims {
    const user = payload[this.o.userClaim] ?? payload.sub ?? payload.client_id;
    if (typeof user !== 'string' || user === '') throw new Unauthenticated('token names no user (no sub or client_id)');
    return { userId: user, groups: parseGroupsClaim(payload[this.o.groupsClaim]) };
  }

  /** Checks a bearer access token; 401 when the provider does not vouch for it. */
  async verify(token: string): Promise<Claims> {
    const key = sha256(token);
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.claims;
    if (hit) this.cache.delete(key);
    const { claims, exp } = this.o.tokenCheck === 'jwt' ? await this.verifyJwt(token) : await this.introspect(token);
    if (this.o.cacheMs > 0) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, { claims, until: Math.min(now + this.o.cacheMs, exp !== undefined ? exp * 1000 : Infinity) });
    }
    return claims;
  }

  private async verifyJwt(token: string): Promise<{ claims: Claims; exp?: number }> {
    const meta = await this.metadata();
    if (!meta.jwks_uri) throw providerError('discovery names no jwks_uri; use token_check: introspection');
    this.jwks ??= createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: this.o.timeoutMs ?? 10_000 });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: meta.issuer, ...(this.o.audience ? { audience: this.o.audience } : {}) }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout) throw providerError('JWKS request timed out');
      if (isNetworkError(err)) throw providerError(`JWKS at ${new URL(meta.jwks_uri).origin} is unreachable`);
      if (err instanceof joseErrors.JOSEError) throw new Unauthenticated('invalid or expired bearer token');
      // jose parses before it verifies: anything else malformed is a bad token too.
      throw new Unauthenticated('invalid bearer token');
    }
    return { claims: this.claimsOf(payload), exp: typeof payload.exp === 'number' ? payload.exp : undefined };
  }

  private async introspect(token: string): Promise<{ claims: Claims; exp?: number }> {
    const url = this.o.introspectionUrl ?? (await this.metadata()).introspection_endpoint;
    if (!url) throw providerError('no introspection endpoint (set hydra_admin, or use token_check: jwt)');
    const { status, json } = await this.fetchJson(
      url,
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...this.clientAuth() }, body: new URLSearchParams({ token }).toString() },
      'introspection',
    );
    // RFC 7662 says active:false for a token it does not know; some providers refuse a JWT (or
    // anything not theirs) with 400 unsupported_token_type instead. Either way: not a token of ours.
    if (status === 400 && typeof json?.error === 'string' && ['unsupported_token_type', 'invalid_token', 'invalid_request'].includes(json.error)) {
      throw new Unauthenticated('invalid, expired or revoked bearer token');
    }
    if (status !== 200 || !json) throw providerError(`introspection answered ${status}`);
    if (json.active !== true) throw new Unauthenticated('invalid, expired or revoked bearer token');
    if (json.token_type === 'refresh_token' || json.token_use === 'refresh_token') throw new Unauthenticated('a refresh token is not an access token');
    if (this.o.audience) {
      const aud = json.aud;
      const list = Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : [];
      if (!list.includes(this.o.audience)) throw new Unauthenticated('bearer token is not meant for this service (aud)');
    }
    // Hydra puts custom claims under ext.
    const ext = json.ext !== null && typeof json.ext === 'object' ? (json.ext as Record<string, unknown>) : {};
    return { claims: this.claimsOf({ ...ext, ...json }), exp: typeof json.exp === 'number' ? json.exp : undefined };
  }

  /** The provider's login page for a new login: state, PKCE challenge and nonce are the caller's. */
  async authorizeUrl(p: { state: string; verifier: string; nonce: string; redirectUri: string }): Promise<string> {
    const meta = await this.metadata();
    if (!meta.authorization_endpoint) throw providerError('discovery names no authorization_endpoint');
    if (!this.o.clientId) throw providerError('no client_id: set oidc_client_id or client_id in the hydra_key secret');
    const u = new URL(meta.authorization_endpoint);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', this.o.clientId);
    u.searchParams.set('redirect_uri', p.redirectUri);
    u.searchParams.set('scope', this.o.scopes);
    u.searchParams.set('state', p.state);
    u.searchParams.set('nonce', p.nonce);
    u.searchParams.set('code_challenge', pkceChallenge(p.verifier));
    u.searchParams.set('code_challenge_method', 'S256');
    return u.toString();
  }

  /** Completes a login: code → tokens → the user's claims (ID token and userinfo). */
  async exchange(p: { code: string; verifier?: string; nonce?: string; redirectUri: string }): Promise<Claims> {
    const meta = await this.metadata();
    if (!meta.token_endpoint) throw providerError('discovery names no token_endpoint');
    const form = new URLSearchParams({ grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri });
    if (p.verifier) form.set('code_verifier', p.verifier);
    const { status, json } = await this.fetchJson(
      meta.token_endpoint,
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...this.clientAuth() }, body: form.toString() },
      'token endpoint',
    );
    // A refused code is the caller's problem (used, expired, wrong verifier), not a server error.
    if (status === 400 || status === 401) throw new Unauthenticated(`the identity provider refused the authorization code (${typeof json?.error === 'string' ? json.error.slice(0, 64) : status})`);
    if (status !== 200 || !json) throw providerError(`token request answered ${status}`);
    const accessToken = json.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') throw new Unauthenticated('access token required, can\'t be empty');

    let claims: Record<string, unknown> = {};
    if (typeof json.id_token === 'string') {
      if (!meta.jwks_uri) throw providerError('discovery names no jwks_uri to check the ID token');
      this.jwks ??= createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: this.o.timeoutMs ?? 10_000 });
      try {
        const { payload } = await jwtVerify(json.id_token, this.jwks, { issuer: meta.issuer, audience: this.o.clientId });
        if (p.nonce !== undefined && payload.nonce !== p.nonce) throw new Unauthenticated('ID token nonce does not match the login');
        claims = payload;
      } catch (err) {
        if (err instanceof MichmanError) throw err;
        throw new Unauthenticated('invalid ID token');
      }
    }
    if (meta.userinfo_endpoint) {
      const ui = await this.fetchJson(meta.userinfo_endpoint, { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' } }, 'userinfo');
      if (ui.status !== 200 || !ui.json) throw providerError(`userinfo answered ${ui.status}`);
      if (claims.sub !== undefined && ui.json.sub !== claims.sub) throw new Unauthenticated('userinfo is about another user than the ID token');
      claims = { ...claims, ...ui.json };
    }
    return this.claimsOf(claims);
  }
}
