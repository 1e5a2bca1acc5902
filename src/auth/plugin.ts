// Authentication, authorization and audit as Fastify hooks, plus their routes: /auth (login),
// /logout, /tokens (API tokens) and /audit. Handlers never repeat these checks; they read
// req.identity for the owner of what they create and for what a caller may see.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { SessionRepo } from '../store/repos/sessions.js';
import { TokenRepo } from '../store/repos/tokens.js';
import { AuditRepo, type AuditEntry } from '../store/repos/audit.js';
import { Batcher } from '../store/batcher.js';
import { MichmanError, ErrorClass, notFound, validation } from '../domain/errors.js';
import { input } from '../api/body.js';
import { ok, created, noContent } from '../api/envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders } from '../api/routeKit.js';
import { Unauthenticated, forbidden, type Identity, type Via } from './identity.js';
import type { Role } from './policy.js';
import type { AuthSetup } from './setup.js';
import { sha256, randomToken, type Claims } from './oidc.js';
import { API_TOKEN_PREFIX, issueApiToken } from './tokens.js';

export const SESSION_COOKIE = 'session';
/** Binds a login in progress to the browser that started it. */
const LOGIN_COOKIE = 'michman_login';
const LOGIN_STATE_MS = 10 * 60_000;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const pathOf = (url: string): string => {
  const p = url.split('?')[0]!;
  return p.length > 1 ? p.replace(/\/+$/, '') || '/' : p;
};

/** Routes every caller reaches: what the service is, its documentation, and logging in and out. */
const isPublic = (path: string): boolean => path === '/version' || path === '/api' || path.startsWith('/api/') || path === '/auth' || path === '/logout';

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

const cookieFlags = (req: FastifyRequest) => `Path=/; HttpOnly; SameSite=Lax${req.protocol === 'https' ? '; Secure' : ''}`;

/** ok() for /auth, whose URL may hold the login's code and state: the Message names the path only. */
const okAuth = (req: FastifyRequest, reply: FastifyReply, data: unknown) =>
  reply.code(200).send({ Type: 1, Status: 200, Title: 'Request successful', Detail: { Message: `Request: ${req.method} ${pathOf(req.url)}`, Data: data } });

/** Original Data of /auth: {message, groups, user_id}. */
const loginData = (userId: string, groups: string[]) =>
  groups.length === 0
    ? { message: "Authentication success! You aren't member of any group, have readonly rights", groups: 'none', user_id: userId }
    : { message: 'Authentication success! You are a member of some groups', groups: groups.join(','), user_id: userId };

export function registerAuth(app: FastifyInstance, store: Store, setup: AuthSetup | undefined): void {
  const ctx = { db: store.db, kit: store.kit };
  const audit = new AuditRepo(ctx);
  // Audit rows of concurrent requests share a commit and an INSERT instead of paying one each.
  const auditWriter = new Batcher<Omit<AuditEntry, 'id'>>(
    store,
    async (tx, entries) => {
      await new AuditRepo({ db: tx.db, kit: tx.kit }).insertMany(entries);
      return entries.map(() => undefined);
    },
    { lanes: 1 },
  );
  const sessions = new SessionRepo(ctx);
  const tokens = new TokenRepo(ctx);
  const now = () => (setup?.now ?? Date.now)();

  app.decorateRequest('identity', undefined);

  // Audit: every mutating request (and every login/logout), whatever its outcome, before the answer
  // leaves, so a client that reads /audit right after sees its own request there.
  app.addHook('onSend', async (req, reply, payload) => {
    const path = pathOf(req.url);
    if (!MUTATING.has(req.method) && path !== '/auth' && path !== '/logout') return payload;
    if (path === '/auth' && reply.statusCode === 302) return payload; // a login that only started
    try {
      const entry: Omit<AuditEntry, 'id'> = {
        at: now(),
        userId: req.identity?.userId ?? 'anonymous',
        via: req.identity?.via ?? (setup ? 'none' : 'auth-off'),
        method: req.method,
        path: path.slice(0, 2000),
        route: req.routeOptions.url ?? '',
        status: reply.statusCode,
        outcome: reply.statusCode < 400 ? 'success' : 'failure',
        ip: req.ip ?? '',
      };
      await auditWriter.submit(undefined, entry);
    } catch (err) {
      req.log.error({ err }, 'audit record not written');
    }
    return payload;
  });

  const AuditEntrySchema = Type.Object({
    ID: Type.String(),
    Time: Type.String(),
    User: Type.String(),
    Via: Type.String(),
    Method: Type.String(),
    Path: Type.String(),
    Route: Type.String(),
    Status: Type.Integer(),
    Outcome: Type.String(),
    IP: Type.String(),
  });
  const AuditQuery = Type.Object({ ...PageQuery.properties, user: Type.Optional(Type.String({ maxLength: 255, description: 'Only this user’s requests.' })) });
  app.get('/audit', route({ tag: 'audit', summary: 'Audit log of mutating requests, newest first (admins only)', querystring: AuditQuery, data: Type.Array(AuditEntrySchema) }), async (req, reply) => {
    const user = (req.query as { user?: string }).user;
    const page = await audit.list(pageRequest(req), user === undefined ? {} : { userId: user });
    const items = page.items.map((e) => ({
      ID: e.id,
      Time: new Date(e.at).toISOString(),
      User: e.userId,
      Via: e.via,
      Method: e.method,
      Path: e.path,
      Route: e.route,
      Status: e.status,
      Outcome: e.outcome,
      IP: e.ip,
    }));
    return ok(req, reply, pageHeaders(req, reply, { items, next: page.next }));
  });

  if (!setup) return;
  const admin = (groups: string[]) => groups.includes(setup.adminGroup);
  const identityOf = (c: Claims, via: Via): Identity => ({ userId: c.userId, groups: c.groups, via, admin: admin(c.groups) });

  async function fromApiToken(token: string): Promise<Identity> {
    const t = await tokens.byHash(sha256(token));
    const at = now();
    if (!t || t.revokedAt !== null || (t.expiresAt !== null && t.expiresAt <= at)) throw new Unauthenticated('invalid, revoked or expired API token');
    if (t.lastUsedAt === null || at - t.lastUsedAt > 60_000) await tokens.markUsed(t.id, at);
    return { userId: t.userId, groups: t.groups, via: 'api-token', admin: admin(t.groups) };
  }

  async function fromSession(raw: string, reply: FastifyReply): Promise<Identity> {
    const idHash = sha256(raw);
    const s = await sessions.find(idHash);
    const at = now();
    if (!s || at >= s.expiresAt || at - s.lastSeenAt >= setup!.sessionIdleMs) {
      if (s) await sessions.delete(idHash);
      reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieFlags(reply.request)}`);
      throw new Unauthenticated('session expired or unknown; log in again at /auth');
    }
    // One write a minute at most, not one per request; idle timeouts are minutes anyway.
    if (at - s.lastSeenAt > Math.min(60_000, setup!.sessionIdleMs / 10)) await sessions.touch(idHash, at);
    return { userId: s.userId, groups: s.groups, via: 'session', admin: admin(s.groups), sessionIdHash: idHash };
  }

  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<Identity | undefined> {
    const authz = req.headers.authorization;
    if (typeof authz === 'string' && authz !== '') {
      const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(authz);
      if (!m) throw new Unauthenticated('the Authorization header must be "Bearer <token>"');
      const token = m[1]!;
      if (token.startsWith(API_TOKEN_PREFIX)) return fromApiToken(token);
      if (setup!.oidc) return identityOf(await setup!.oidc.verify(token), 'oauth2');
      if (setup!.keystone) return identityOf(await setup!.keystone.validate(token), 'keystone');
      throw new Unauthenticated('bearer tokens other than API tokens need the oauth2 model');
    }
    const xat = req.headers['x-auth-token'];
    if (typeof xat === 'string' && xat !== '') {
      if (!setup!.keystone) throw new Unauthenticated('X-Auth-Token is only accepted with the keystone model');
      // The original's pair: X-Subject-Token is the user's token, X-Auth-Token the one validating it.
      const subject = req.headers['x-subject-token'];
      return identityOf(await setup!.keystone.validate(typeof subject === 'string' && subject !== '' ? subject : xat, xat), 'keystone');
    }
    const raw = cookieOf(req, SESSION_COOKIE);
    if (raw) return fromSession(raw, reply);
    return undefined;
  }

  /** The project a path is about, for the project_member role; undefined when none or unknown. */
  async function projectGroupOf(path: string): Promise<string | undefined> {
    const seg = path.split('/');
    let ref: string | undefined;
    let byId = false;
    if (seg[1] === 'projects' && seg[2]) ref = seg[2];
    else if (seg[1] === 'logs' && seg[2] === 'projects' && seg[3]) ref = seg[3];
    else if (seg[1] === 'operations' && seg[2]) {
      const op = await store.operations.get(decode(seg[2]));
      if (!op) return undefined;
      ref = op.projectId;
      byId = true;
    }
    if (ref === undefined) return undefined;
    const project = await store.projects.find(byId ? ref : decode(ref));
    return project?.GroupID;
  }

  if (setup.model !== 'none') {
    app.addHook('onRequest', async (req, reply) => {
      const path = pathOf(req.url);
      const open = isPublic(path);
      let identity: Identity | undefined;
      try {
        identity = await authenticate(req, reply);
      } catch (err) {
        // A stale cookie or token must not lock anyone out of logging in again or reading /version.
        if (!(open && err instanceof Unauthenticated)) throw err;
      }
      if (!identity) {
        if (open) return;
        throw new Unauthenticated();
      }
      req.identity = identity;
      if (open) return;
      const act = req.method === 'HEAD' ? 'GET' : req.method;
      const roles: Role[] = identity.admin ? ['admin', 'user'] : ['user'];
      if (setup.policy.allows(roles, path, act)) return;
      // Membership costs a read, so it is looked up only when the cheaper roles are not enough.
      // Unknown and foreign projects look the same here (403): names do not leak.
      const group = await projectGroupOf(path);
      if (group !== undefined && group !== '' && identity.groups.includes(group) && setup.policy.allows(['project_member'], path, act)) return;
      throw forbidden();
    });
  }

  async function startSession(req: FastifyRequest, reply: FastifyReply, c: Claims, via: Via): Promise<void> {
    const raw = randomToken(32);
    const at = now();
    // A new value at every login (anti-fixation); the previous session, if any, ends.
    const old = cookieOf(req, SESSION_COOKIE);
    if (old) await sessions.delete(sha256(old));
    await sessions.insert({ idHash: sha256(raw), userId: c.userId, groups: c.groups, via, createdAt: at, lastSeenAt: at, expiresAt: at + setup!.sessionLifetimeMs });
    reply.header('set-cookie', `${SESSION_COOKIE}=${raw}; Max-Age=${Math.floor(setup!.sessionLifetimeMs / 1000)}; ${cookieFlags(req)}`);
    req.identity = identityOf(c, via);
  }

  const AuthQuery = Type.Object({
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 512 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
  });
  const LoginData = Type.Object({ message: Type.String(), groups: Type.String(), user_id: Type.String() });
  app.get('/auth', route({ tag: 'auth', summary: 'Log in: starts the provider login (oauth2), completes it (?code&state), or opens a session for X-Auth-Token (keystone)', querystring: AuthQuery, data: LoginData }), async (req, reply) => {
    if (setup.model === 'none') {
      return okAuth(req, reply, { message: 'Authentication is off (authorization_model: none): /auth grants nothing and every caller may do everything', groups: 'none', user_id: '' });
    }
    const q = req.query as Static<typeof AuthQuery>;
    if (setup.model === 'keystone') {
      if (req.identity?.via === 'keystone') {
        await startSession(req, reply, { userId: req.identity.userId, groups: req.identity.groups }, 'keystone');
        return okAuth(req, reply, loginData(req.identity.userId, req.identity.groups));
      }
      if (req.identity) return okAuth(req, reply, loginData(req.identity.userId, req.identity.groups));
      throw new MichmanError(ErrorClass.Authorization, "X-Auth-Token from headers required, can't be nil");
    }
    const oidc = setup.oidc!;
    if (q.error !== undefined) throw new Unauthenticated(`login refused by the identity provider: ${q.error.replace(/[^\w .-]/g, '').slice(0, 64)}`);
    const redirectUri = setup.redirectUri ?? `${req.protocol}://${req.host}/auth`;
    if (q.code !== undefined) {
      let verifier: string | undefined;
      let nonce: string | undefined;
      if (q.state !== undefined) {
        // The state must come back to the browser that started the login (no login CSRF: nobody
        // can send a victim a link that logs them in as someone else).
        if (cookieOf(req, LOGIN_COOKIE) !== q.state) throw validation('this login was not started by this browser; start again at /auth');
        reply.header('set-cookie', `${LOGIN_COOKIE}=; Max-Age=0; ${cookieFlags(req).replace('Path=/', 'Path=/auth')}`);
        const st = await sessions.takeLoginState(sha256(q.state));
        if (!st || now() - st.createdAt > LOGIN_STATE_MS) throw validation('unknown, used or expired login state; start again at /auth');
        verifier = st.codeVerifier;
        nonce = st.nonce;
      }
      // Without state: the original's flow, where the client got the code elsewhere.
      const claims = await oidc.exchange({ code: q.code, verifier, nonce, redirectUri });
      await startSession(req, reply, claims, 'session');
      return okAuth(req, reply, loginData(claims.userId, claims.groups));
    }
    if (req.identity) return okAuth(req, reply, loginData(req.identity.userId, req.identity.groups));
    const state = randomToken(24);
    const verifier = randomToken(48);
    const nonce = randomToken(16);
    const at = now();
    await sessions.purge(at, at - LOGIN_STATE_MS);
    await sessions.saveLoginState(sha256(state), verifier, nonce, at);
    reply.header('set-cookie', `${LOGIN_COOKIE}=${state}; Max-Age=${LOGIN_STATE_MS / 1000}; ${cookieFlags(req).replace('Path=/', 'Path=/auth')}`);
    return (reply as FastifyReply).code(302).header('location', await oidc.authorizeUrl({ state, verifier, nonce, redirectUri })).send();
  });

  const logout = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = cookieOf(req, SESSION_COOKIE);
    if (raw) await sessions.delete(sha256(raw));
    reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieFlags(req)}`);
    return ok(req, reply, { message: raw ? 'Logged out' : 'No session' });
  };
  const LogoutData = Type.Object({ message: Type.String() });
  app.post('/logout', route({ tag: 'auth', summary: 'End the session', data: LogoutData }), logout);
  app.get('/logout', route({ tag: 'auth', summary: 'End the session', data: LogoutData }), logout);

  // API tokens: each user manages their own; admins may revoke anyone's.
  const TokenSchema = Type.Object({
    ID: Type.String(),
    Name: Type.String(),
    Token: Type.Optional(Type.String({ description: 'Shown once, at creation' })),
    Groups: Type.Array(Type.String()),
    CreatedAt: Type.String(),
    ExpiresAt: Type.Union([Type.String(), Type.Null()]),
    RevokedAt: Type.Union([Type.String(), Type.Null()]),
    LastUsedAt: Type.Union([Type.String(), Type.Null()]),
  });
  const NewToken = Type.Object({
    Name: Type.String({ minLength: 1, maxLength: 255 }),
    ExpiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  });
  const iso = (v: number | null) => (v === null ? null : new Date(v).toISOString());
  const view = (t: { id: string; name: string; groups: string[]; createdAt: number; expiresAt: number | null; revokedAt: number | null; lastUsedAt: number | null }) => ({
    ID: t.id,
    Name: t.name,
    Groups: t.groups,
    CreatedAt: new Date(t.createdAt).toISOString(),
    ExpiresAt: iso(t.expiresAt),
    RevokedAt: iso(t.revokedAt),
    LastUsedAt: iso(t.lastUsedAt),
  });
  const caller = (req: FastifyRequest): Identity => {
    if (!req.identity) throw validation('API tokens need authentication: set use_auth with the oauth2 or keystone model');
    return req.identity;
  };

  app.post('/tokens', route({ tag: 'auth', summary: 'Create an API token (the token is shown once)', body: NewToken, data: TokenSchema, status: 201 }), async (req, reply) => {
    const who = caller(req);
    const body = input<Static<typeof NewToken>>(req);
    const { token, record: t } = await issueApiToken(tokens, { userId: who.userId, groups: who.groups, name: body.Name, expiresInDays: body.ExpiresInDays, now: now() });
    reply.header('cache-control', 'no-store');
    return created(req, reply, { ...view(t), Token: token });
  });

  app.get('/tokens', route({ tag: 'auth', summary: 'List your API tokens', data: Type.Array(TokenSchema) }), async (req, reply) =>
    ok(req, reply, (await tokens.listByUser(caller(req).userId)).map(view)),
  );

  app.delete('/tokens/:tokenId', route({ tag: 'auth', summary: 'Revoke an API token', params: param('tokenId'), status: 204 }), async (req, reply) => {
    const who = caller(req);
    const { tokenId } = req.params as { tokenId: string };
    const t = await tokens.get(tokenId);
    // Someone else's token looks like a missing one.
    if (!t || (t.userId !== who.userId && !who.admin)) throw notFound('token', tokenId);
    await tokens.revoke(t.id, now());
    return noContent(reply);
  });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new MichmanError(ErrorClass.InputIncorrect, 'malformed percent-encoding in the path');
  }
}
