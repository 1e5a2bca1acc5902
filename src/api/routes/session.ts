// GET /auth/session: who the caller is and how this server lets people log in, for the web
// console (and any client) to pick its login page. Public: it tells a stranger only the auth model.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ok } from '../envelope.js';
import { route } from '../routeKit.js';
import type { AuthSetup } from '../../auth/setup.js';
import { SESSION_PATH } from '../../auth/publicPaths.js';


const SessionData = Type.Object({
  Auth: Type.Union([Type.Literal('off'), Type.Literal('none'), Type.Literal('oauth2'), Type.Literal('keystone')], {
    description: 'off: use_auth false; none: authorization_model none (open); oauth2: log in at /auth (a redirect) or with a bearer token; keystone: X-Auth-Token at /auth',
  }),
  User: Type.Union([Type.String(), Type.Null()], { description: 'The caller, or null when not logged in (or when auth is off)' }),
  Groups: Type.Array(Type.String()),
  Admin: Type.Boolean(),
  Via: Type.Union([Type.String(), Type.Null()], { description: 'session, api-token, oauth2 or keystone' }),
});

export function sessionRoutes(app: FastifyInstance, setup: AuthSetup | undefined): void {
  app.get(SESSION_PATH, route({ tag: 'auth', summary: 'Who is calling, and how to log in here', data: SessionData }), async (req, reply) => {
    const id = req.identity;
    reply.header('cache-control', 'no-store');
    return ok(req, reply, {
      Auth: setup ? setup.model : 'off',
      User: id?.userId ?? null,
      Groups: id?.groups ?? [],
      // Nobody is checked when auth is off or open: everyone may do everything.
      Admin: id ? id.admin : !setup || setup.model === 'none',
      Via: id?.via ?? null,
    });
  });
}
