// Every route × every kind of caller with use_auth on (oauth2, JWT tokens from a real provider):
// anonymous, a plain user, a member of project A, a member of B, an admin, a revoked API token and
// an expired session. Each gets the status the default policy promises, and nothing of project A
// reaches B. On SQLite always; on MariaDB/PostgreSQL when their URLs are set.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { backends } from '../helpers/stores.js';
import { image, flavor, project } from '../helpers/api.js';
import { startIdp, RESOURCE, type Idp } from './helpers/idp.js';
import { openAuthApi, type AuthApi, type Creds } from './helpers/authApi.js';
import { SessionRepo } from '../../src/store/repos/sessions.js';
import { sha256 } from '../../src/auth/oidc.js';

const USERS = { plain: [] as string[], alice: ['team-a'], bob: 'team-b', root: ['admins'] };
const CALLERS = ['anonymous', 'plain', 'memberA', 'memberB', 'admin', 'revoked', 'expired'] as const;
type Caller = (typeof CALLERS)[number];

const kv = { Type: 'kv', Class: 'storage', AccessPort: 6379, DefaultVersion: '7', HealthCheck: [{ CheckType: 'TCP' }], Versions: [{ Version: '7' }] };
const tpl = (name: string) => ({ DisplayName: name, NSlaves: 1, Description: 'a template', Services: [{ Type: 'kv', Name: 'cache' }] });

/**
 * Who may: 'public' everyone; 'user' every authenticated caller; 'admin' admins only;
 * 'A' members of A and admins; 'createProject' any authenticated user (then the GroupID rule).
 */
type Rule = 'public' | 'user' | 'admin' | 'A';

let idp: Idp;
beforeAll(async () => {
  idp = await startIdp({ users: USERS, accessTokenFormat: 'jwt' });
});
afterAll(async () => {
  await idp?.close();
});

for (const backend of backends()) {
  describe(`authorization matrix [${backend.name}]`, () => {
    let api: AuthApi;
    let close: () => Promise<void>;
    const creds = {} as Record<Caller, Creds>;
    const fx = { projectA: '', projectB: '', clusterA: '', clusterB: '', opA: '', opB: '', tplA: '', tplB: '', tplGlobal: '', tokenB: '' };

    beforeAll(async () => {
      const o = await openAuthApi(backend, { model: 'oauth2', oidc: { issuer: idp.issuer, tokenCheck: 'jwt', audience: RESOURCE } });
      api = o.api;
      close = o.close;
      creds.anonymous = {};
      creds.plain = { bearer: await idp.token('plain') };
      creds.memberA = { bearer: await idp.token('alice') };
      creds.memberB = { bearer: await idp.token('bob') };
      creds.admin = { bearer: await idp.token('root') };

      const as = (c: Caller) => (m: string, url: string, body?: unknown) => api.call(m, url, creds[c], body);
      const admin = as('admin');
      expect((await admin('POST', '/images', image())).status).toBe(201);
      expect((await admin('POST', '/flavors', flavor())).status).toBe(201);
      expect((await admin('POST', '/configs', kv)).status).toBe(201);
      // Members create their own projects: GroupID must be one of their groups.
      const a = await as('memberA')('POST', '/projects', { ...project('proj-a'), GroupID: 'team-a' });
      expect(a.status, a.raw).toBe(201);
      fx.projectA = a.data.ID;
      const b = await as('memberB')('POST', '/projects', { ...project('proj-b'), GroupID: 'team-b' });
      expect(b.status, b.raw).toBe(201);
      fx.projectB = b.data.ID;
      const ca = await as('memberA')('POST', '/projects/proj-a/clusters', { DisplayName: 'ca', Services: [] });
      expect(ca.status, ca.raw).toBe(201);
      // The owner is the authenticated user, whatever a header says.
      const cb = await api.call('POST', '/projects/proj-b/clusters', { ...creds.memberB, }, { DisplayName: 'cb', Services: [] }, { user_id: 'mallory' });
      expect(cb.status).toBe(201);
      expect(ca.data.OwnerID).toBe('alice');
      expect(cb.data.OwnerID).toBe('bob');
      fx.clusterA = ca.data.ID;
      fx.clusterB = cb.data.ID;
      fx.opA = (await as('memberA')('GET', '/projects/proj-a/clusters/ca-proj-a/operations')).data[0].ID;
      fx.opB = (await as('memberB')('GET', '/projects/proj-b/clusters/cb-proj-b/operations')).data[0].ID;
      const ta = await as('memberA')('POST', '/projects/proj-a/templates', tpl('ta'));
      expect(ta.status, ta.raw).toBe(201);
      fx.tplA = ta.data.ID;
      fx.tplB = (await as('memberB')('POST', '/projects/proj-b/templates', tpl('tb'))).data.ID;
      fx.tplGlobal = (await admin('POST', '/templates', tpl('tg'))).data.ID;

      // A token alice revoked.
      const t = await as('memberA')('POST', '/tokens', { Name: 'ci' });
      expect(t.status, t.raw).toBe(201);
      expect((await as('memberA')('DELETE', `/tokens/${t.data.ID}`)).status).toBe(204);
      creds.revoked = { bearer: t.data.Token };
      // A token of bob's, for the token-management rows.
      fx.tokenB = (await as('memberB')('POST', '/tokens', { Name: 'bob-ci' })).data.ID;
      // An admin's session that has been idle for longer than the idle timeout.
      const raw = 'expired-session-value-0123456789abcdef0123';
      const old = Date.now() - 2 * api.setup.sessionIdleMs;
      await new SessionRepo({ db: api.store.db, kit: api.store.kit }).insert({ idHash: sha256(raw), userId: 'root', groups: ['admins'], via: 'session', createdAt: old, lastSeenAt: old, expiresAt: Date.now() + 3_600_000 });
      creds.expired = { cookie: `session=${raw}` };
    });
    afterAll(async () => {
      await close?.();
    });

    // [method, path, rule, body]; allowed mutating calls use bodies or states that fail after
    // authorization (400/404), so the fixtures survive the whole matrix.
    const routes = (): [string, string, Rule, unknown?][] => [
      ['GET', '/version', 'public'],
      ['GET', '/api/openapi.json', 'public'],
      ['GET', '/projects', 'user'],
      ['GET', '/configs', 'user'],
      ['GET', '/configs/kv', 'user'],
      ['GET', '/configs/kv/versions', 'user'],
      ['GET', '/configs/kv/versions/7', 'user'],
      ['GET', '/configs/kv/versions/7/configs', 'user'],
      ['GET', '/configs/kv/versions/7/dependencies', 'user'],
      ['GET', '/images', 'user'],
      ['GET', '/images/ubuntu', 'user'],
      ['GET', '/flavors', 'user'],
      ['GET', '/flavors/small', 'user'],
      ['GET', '/templates', 'user'],
      ['GET', `/templates/${fx.tplGlobal}`, 'user'],
      ['GET', '/tokens', 'user'],
      ['POST', '/configs', 'admin', {}],
      ['PUT', '/configs/kv', 'admin', { Type: 'other' }],
      ['DELETE', '/configs/missing-type', 'admin'],
      ['POST', '/configs/kv/versions', 'admin', {}],
      ['PUT', '/configs/kv/versions/7', 'admin', { Version: 'x' }],
      ['DELETE', '/configs/kv/versions/missing', 'admin'],
      ['POST', '/configs/kv/versions/7/configs', 'admin', {}],
      ['DELETE', '/configs/kv/versions/7/configs/missing', 'admin'],
      ['POST', '/configs/kv/versions/7/dependencies', 'admin', {}],
      ['DELETE', '/configs/kv/versions/7/dependencies/missing', 'admin'],
      ['POST', '/images', 'admin', {}],
      ['PUT', '/images/ubuntu', 'admin', { ID: 'x' }],
      ['DELETE', '/images/missing', 'admin'],
      ['POST', '/flavors', 'admin', {}],
      ['PUT', '/flavors/small', 'admin', { ID: 'x' }],
      ['DELETE', '/flavors/missing', 'admin'],
      ['POST', '/templates', 'admin', {}],
      ['PUT', `/templates/${fx.tplGlobal}`, 'admin', { ID: 'x' }],
      ['DELETE', '/templates/00000000-0000-4000-8000-000000000000', 'admin'],
      ['GET', '/audit', 'admin'],
      ['GET', '/projects/proj-a', 'A'],
      ['GET', `/projects/${fx.projectA}`, 'A'],
      ['PUT', '/projects/proj-a', 'A', { ID: 'x' }],
      ['DELETE', '/projects/proj-a', 'A'], // 400: it has clusters
      ['GET', '/projects/proj-a/clusters', 'A'],
      ['POST', '/projects/proj-a/clusters', 'A', {}],
      ['GET', '/projects/proj-a/clusters/ca-proj-a', 'A'],
      ['GET', `/projects/proj-a/clusters/${fx.clusterA}`, 'A'],
      ['GET', '/projects/proj-a/clusters/ca-proj-a/status', 'A'],
      ['GET', '/projects/proj-a/clusters/ca-proj-a/credentials', 'A'],
      ['GET', `/projects/proj-a/clusters/${fx.clusterA}/credentials`, 'A'],
      ['PUT', '/projects/proj-a/clusters/ca-proj-a', 'A', { ID: 'x' }],
      ['DELETE', '/projects/proj-a/clusters/missing', 'A'],
      ['GET', '/projects/proj-a/clusters/ca-proj-a/operations', 'A'],
      ['GET', '/projects/proj-a/clusters/ca-proj-a/events', 'A'],
      ['GET', '/logs/projects/proj-a/clusters/ca-proj-a', 'A'],
      ['GET', `/operations/${fx.opA}`, 'A'],
      ['POST', `/operations/${fx.opA}/retry`, 'A'], // 400: it is queued, not failed
      ['GET', '/projects/proj-a/templates', 'A'],
      ['POST', '/projects/proj-a/templates', 'A', {}],
      ['GET', `/projects/proj-a/templates/${fx.tplA}`, 'A'],
      ['PUT', `/projects/proj-a/templates/${fx.tplA}`, 'A', { ID: 'x' }],
      ['DELETE', '/projects/proj-a/templates/00000000-0000-4000-8000-000000000000', 'A'],
    ];

    const allowed = (rule: Rule, c: Caller): boolean | 'unauthenticated' => {
      if (rule === 'public') return true;
      if (c === 'anonymous' || c === 'revoked' || c === 'expired') return 'unauthenticated';
      if (rule === 'user') return true;
      if (rule === 'admin') return c === 'admin';
      return c === 'admin' || c === 'memberA';
    };

    it('answers every route for every caller as the policy says', async () => {
      const failures: string[] = [];
      for (const [method, path, rule, body] of routes()) {
        for (const c of CALLERS) {
          const r = await api.call(method, path, creds[c], body);
          const want = allowed(rule, c);
          const ok = want === 'unauthenticated' ? r.status === 401 : want ? r.status !== 401 && r.status !== 403 && r.status < 500 : r.status === 403;
          if (!ok) failures.push(`${c} ${method} ${path}: ${r.status} (want ${want === 'unauthenticated' ? 401 : want ? 'allowed' : 403}) ${r.message ?? ''}`);
          if (r.status === 401) expect(r.body).toMatchObject({ Type: 900, Status: 401, Title: 'Unauthorized' });
          if (r.status === 403) expect(r.body).toMatchObject({ Type: 900, Status: 403, Title: 'Forbidden', Detail: { Message: 'unauthorized to access the resource', Data: 'No data' } });
          // Whatever B gets, it carries nothing of A.
          if (c === 'memberB' || c === 'plain') {
            for (const secret of [fx.projectA, fx.clusterA, fx.opA, fx.tplA]) expect(r.raw, `${c} ${method} ${path}`).not.toContain(secret);
          }
        }
      }
      expect(failures).toEqual([]);
    });

    it('gives exact answers where the route decides', async () => {
      expect((await api.call('GET', '/projects/proj-a/clusters/ca-proj-a', creds.memberA)).data.ID).toBe(fx.clusterA);
      expect((await api.call('GET', '/projects/proj-a/clusters/ca-proj-a', creds.admin)).status).toBe(200);
      expect((await api.call('GET', '/projects/proj-a/clusters/ca-proj-a/credentials', creds.memberA)).data).toEqual([]);
      expect((await api.call('GET', '/projects/proj-a/clusters/ca-proj-a/credentials', creds.memberB)).status).toBe(403);
      expect((await api.call('GET', `/operations/${fx.opA}`, creds.memberA)).data.ClusterID).toBe(fx.clusterA);
      expect((await api.call('DELETE', '/projects/proj-a', creds.memberA)).status).toBe(400);
      expect((await api.call('GET', '/audit', creds.admin)).status).toBe(200);
    });

    it('lists only the projects of the caller’s groups', async () => {
      const names = async (c: Caller) => (await api.call('GET', '/projects', creds[c])).data.map((p: { Name: string }) => p.Name).sort();
      expect(await names('memberA')).toEqual(['proj-a']);
      expect(await names('memberB')).toEqual(['proj-b']);
      expect(await names('plain')).toEqual([]);
      expect(await names('admin')).toEqual(['proj-a', 'proj-b']);
    });

    it('answers 403 for unknown and foreign projects alike, and 404 only after authorization', async () => {
      for (const path of ['/projects/no-such', '/projects/no-such/clusters', '/logs/projects/no-such/clusters/x', '/operations/no-such', '/projects/proj-b', `/operations/${fx.opB}`]) {
        expect((await api.call('GET', path, creds.memberA)).status, path).toBe(403);
      }
      expect((await api.call('GET', '/projects/no-such', creds.admin)).status).toBe(404);
      expect((await api.call('GET', '/operations/no-such', creds.admin)).status).toBe(404);
      // A's member cannot reach B's cluster through A's path either.
      expect((await api.call('GET', `/projects/proj-a/clusters/${fx.clusterB}`, creds.memberA)).status).toBe(404);
      expect((await api.call('GET', `/projects/proj-a/templates/${fx.tplB}`, creds.memberA)).status).toBe(404);
    });

    it('keeps GroupID to the caller’s own groups unless admin', async () => {
      const plain = await api.call('POST', '/projects', creds.plain, { ...project('proj-p'), GroupID: 'team-a' });
      expect(plain.status).toBe(403);
      expect(plain.message).toBe('GroupID must be one of your groups (none)');
      expect((await api.call('POST', '/projects', creds.memberB, { ...project('proj-x'), GroupID: 'team-a' })).status).toBe(403);
      expect((await api.call('PUT', '/projects/proj-a', creds.memberA, { GroupID: 'team-b' })).status).toBe(403);
      const adm = await api.call('POST', '/projects', creds.admin, { ...project('proj-c'), GroupID: 'anyone' });
      expect(adm.status).toBe(201);
      expect((await api.call('DELETE', '/projects/proj-c', creds.admin)).status).toBe(204);
    });

    it('lets users manage only their own API tokens', async () => {
      // Bob's token is invisible and irrevocable to alice; bob revokes it himself.
      const list = await api.call('GET', '/tokens', creds.memberA);
      expect(list.raw).not.toContain(fx.tokenB);
      expect((await api.call('DELETE', `/tokens/${fx.tokenB}`, creds.memberA)).status).toBe(404);
      expect((await api.call('DELETE', `/tokens/${fx.tokenB}`, creds.memberB)).status).toBe(204);
    });

    it('records every mutating request in the audit log, with who and the result', async () => {
      const page = await api.call('GET', '/audit?limit=500', creds.admin);
      expect(page.status).toBe(200);
      const entries = page.data as { User: string; Method: string; Path: string; Status: number; Outcome: string }[];
      expect(entries.some((e) => e.User === 'alice' && e.Method === 'POST' && e.Path === '/projects/proj-a/clusters' && e.Status === 201 && e.Outcome === 'success')).toBe(true);
      expect(entries.some((e) => e.User === 'anonymous' && e.Method === 'POST' && e.Path === '/images' && e.Status === 401 && e.Outcome === 'failure')).toBe(true);
      expect(entries.some((e) => e.User === 'plain' && e.Path === '/images' && e.Status === 403)).toBe(true);
      // Reads are not audited, but for the one that reveals passwords, allowed or refused.
      expect(entries.every((e) => e.Method !== 'GET' || e.Path === '/auth' || e.Path === '/logout' || e.Path.endsWith('/credentials'))).toBe(true);
      expect(entries.some((e) => e.User === 'alice' && e.Method === 'GET' && e.Path === '/projects/proj-a/clusters/ca-proj-a/credentials' && e.Status === 200)).toBe(true);
      expect(entries.some((e) => e.Method === 'GET' && e.Path === '/projects/proj-a/clusters/ca-proj-a/credentials' && e.Status === 403 && e.Outcome === 'failure')).toBe(true);
      // Pages walk back in time without overlap.
      const first = await api.call('GET', '/audit?limit=2', creds.admin);
      expect(first.data).toHaveLength(2);
      const next = await api.call('GET', `/audit?limit=2&after=${first.headers['x-next-cursor']}`, creds.admin);
      expect(next.data[0].ID < first.data[1].ID).toBe(true);
      expect((await api.call('GET', '/audit?limit=0', creds.admin)).status).toBe(400);
    });
  });
}
