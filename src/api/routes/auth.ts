// Logging in and out (/auth, /logout), API tokens (/tokens) and the audit log (/audit). The hooks
// that authenticate, authorise and audit every request are auth/plugin.ts's; these routes use the
// state it returns.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MichmanError, ErrorClass, notFound, validation } from '../../domain/errors.js';
import { input } from '../body.js';
import { ok, created, noContent } from '../envelope.js';
import { route, param, PageQuery, pageRequest, pageHeaders } from '../routeKit.js';
import type { AuthRuntime } from '../../auth/plugin.js';
import { Unauthenticated, type Identity } from '../../auth/identity.js';
import { sha256, randomToken } from '../../auth/oidc.js';
import { issueApiToken } from '../../auth/tokens.js';
import { isBrowserNavigation } from '../../auth/publicPaths.js';
import { SESSION_COOKIE, LOGIN_COOKIE, LOGIN_STATE_MS, cookieOf, cookieFlags, pathOf } from '../../auth/cookies.js';

/** ok() for /auth, whose URL may hold the login's code and state: the Message names the path only. */
const okAuth = (req: FastifyRequest, reply: FastifyReply, data: unknown) =>
  reply.code(200).send({ Type: 1, Status: 200, Title: 'Request successful', Detail: { Message: `Request: ${req.method} ${pathOf(req.url)}`, Data: data } });

/** Original Data of /auth: {message, groups, user_id}. */
const loginData = (userId: string, groups: string[]) =>
  groups.length === 0
    ? { message: "Authentication success! You aren't member of any group, have readonly rights", groups: 'none', user_id: userId }
    : { message: 'Authentication success! You are a member of some groups', groups: groups.join(','), user_id: userId };

export function authRoutes(app: FastifyInstance, rt: AuthRuntime): void {
  const { audit, sessions, tokens, now, startSession, setup } = rt;
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

  const AuthQuery = Type.Object({
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 512 })),
    error: Type.Optional(Type.String({ maxLength: 512 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
    // Open: identity providers add their own parameters to the callback (scope, iss, session_state, ...).
  }, { additionalProperties: true });
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
      // A person in a browser goes back to the web console, now logged in; scripts get the JSON.
      if (isBrowserNavigation(req.headers)) return reply.redirect('/', 303);
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
