// Authentication, authorization and audit as Fastify hooks. Handlers never repeat these checks;
// they read req.identity for the owner of what they create and for what a caller may see. The
// routes of logging in, tokens and the audit log are api/routes/auth.ts's; they get what they need
// (repositories, startSession) from the AuthRuntime this returns, so auth/ imports nothing of api/.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { SessionRepo } from '../store/repos/sessions.js';
import { TokenRepo } from '../store/repos/tokens.js';
import { AUDIT_ROWS_PER_STATEMENT, AuditRepo, type AuditEntry } from '../store/repos/audit.js';
import { Batcher } from '../store/batcher.js';
import { MichmanError, ErrorClass } from '../domain/errors.js';
import { Unauthenticated, forbidden, type Identity, type Via } from './identity.js';
import type { Role } from './policy.js';
import type { AuthSetup } from './setup.js';
import { sha256, randomToken, type Claims } from './oidc.js';
import { API_TOKEN_PREFIX } from './tokens.js';
import { SESSION_COOKIE, cookieOf, cookieFlags, pathOf } from './cookies.js';
import { isWebPath, SESSION_PATH } from './publicPaths.js';

export { SESSION_COOKIE } from './cookies.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Probes and metrics (api/routes/ops.ts): no login, and nothing to authenticate. */
const isProbe = (path: string): boolean => path === '/healthz' || path === '/readyz' || path === '/metrics';

/** Routes every caller reaches: what the service is, its documentation, and logging in and out. */
// The web console's files are public too: the page itself asks /auth/session who you are.
const isPublic = (path: string): boolean =>
  path === '/version' || isProbe(path) || path === '/api' || path.startsWith('/api/') || path === '/auth' || path === '/logout' || path === SESSION_PATH || isWebPath(path);

/** What the auth routes (api/routes/auth.ts) need of the hooks' state. */
export interface AuthRuntime {
  /** Absent: use_auth is off. */
  setup: AuthSetup | undefined;
  audit: AuditRepo;
  sessions: SessionRepo;
  tokens: TokenRepo;
  now(): number;
  /** Opens a session for `c` (a new cookie value at every login) and sets req.identity. */
  startSession(req: FastifyRequest, reply: FastifyReply, c: Claims, via: Via): Promise<void>;
}

export function registerAuth(app: FastifyInstance, store: Store, setup: AuthSetup | undefined): AuthRuntime {
  const ctx = { db: store.db, kit: store.kit };
  const audit = new AuditRepo(ctx);
  // Audit rows of concurrent requests share one INSERT (its own commit: no BEGIN/COMMIT around it)
  // instead of paying one each.
  const auditWriter = new Batcher<Omit<AuditEntry, 'id'>>(
    store,
    async (db, entries) => {
      await new AuditRepo({ db: db.db, kit: db.kit }).insertMany(entries);
      return entries.map(() => undefined);
    },
    { lanes: 1, singleStatement: true, maxBatch: AUDIT_ROWS_PER_STATEMENT },
  );
  const sessions = new SessionRepo(ctx);
  const tokens = new TokenRepo(ctx);
  const now = () => (setup?.now ?? Date.now)();

  app.decorateRequest('identity', undefined);

  // Audit: every mutating request (and every login/logout), whatever its outcome, before the answer
  // leaves, so a client that reads /audit right after sees its own request there.
  app.addHook('onSend', async (req, reply, payload) => {
    const path = pathOf(req.url);
    // Routes that reveal secrets (route config `audit`) are audited although they only read.
    const audited = (req.routeOptions.config as { audit?: boolean } | undefined)?.audit === true;
    if (!MUTATING.has(req.method) && path !== '/auth' && path !== '/logout' && !audited) return payload;
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

  const runtime: AuthRuntime = { setup, audit, sessions, tokens, now, startSession };
  if (!setup) return runtime;
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
      // A bearer on /metrics is the metrics_token, not a login: no identity provider is asked.
      if (isProbe(path)) return;
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
  return runtime;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new MichmanError(ErrorClass.InputIncorrect, 'malformed percent-encoding in the path');
  }
}
