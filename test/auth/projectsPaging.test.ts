// GET /projects for a non-admin pages over the projects the caller may see: every page is full
// (but the last), and no cursor names a project of another group, so following `?limit=1` cursors
// lists exactly the caller's projects and leaks no other name.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { backends } from '../helpers/stores.js';
import { image, flavor, project } from '../helpers/api.js';
import { openAuthApi, type AuthApi, type Creds } from './helpers/authApi.js';
import { TokenRepo } from '../../src/store/repos/tokens.js';
import { issueApiToken } from '../../src/auth/tokens.js';

for (const backend of backends()) {
  describe(`GET /projects pages over what the caller sees [${backend.name}]`, () => {
    let api: AuthApi;
    let close: () => Promise<void>;
    const creds: Record<'admin' | 'alice' | 'nobody', Creds> = { admin: {}, alice: {}, nobody: {} };
    beforeAll(async () => {
      // API tokens carry their groups; the keystone model is only there to turn auth on.
      const o = await openAuthApi(backend, { model: 'keystone', keystoneAddr: 'http://127.0.0.1:9/v3', adminGroup: 'admins' });
      api = o.api;
      close = o.close;
      const tokens = new TokenRepo({ db: o.opened.store.db, kit: o.opened.store.kit });
      const issue = async (userId: string, groups: string[]) => ({ bearer: (await issueApiToken(tokens, { userId, groups, name: 't' })).token });
      creds.admin = await issue('root', ['admins']);
      creds.alice = await issue('alice', ['team-a']);
      creds.nobody = await issue('nobody', []);
      expect((await api.call('POST', '/images', creds.admin, image())).status).toBe(201);
      expect((await api.call('POST', '/flavors', creds.admin, flavor())).status).toBe(201);
      // Alice's projects are interleaved, by name, with other groups' ones.
      for (const [name, group] of [['a1', 'team-a'], ['b1', 'team-b'], ['b2', 'team-b'], ['c1', 'team-c'], ['a2', 'team-a'], ['d1', 'team-d'], ['e1', 'team-e'], ['a3', 'team-a'], ['z9', 'team-z']] as const) {
        const r = await api.call('POST', '/projects', creds.admin, { ...project(name), GroupID: group });
        expect(r.status, r.raw).toBe(201);
      }
    });
    afterAll(async () => {
      await close?.();
    });

    async function walk(c: Creds, limit: number): Promise<{ names: string[]; pages: string[][]; cursors: string[] }> {
      const pages: string[][] = [];
      const cursors: string[] = [];
      let url: string | undefined = `/projects?limit=${limit}`;
      while (url && pages.length < 50) {
        const r = await api.call('GET', url, c);
        expect(r.status, r.raw).toBe(200);
        pages.push(r.data.map((p: { Name: string }) => p.Name));
        const next = r.headers['x-next-cursor'] as string | undefined;
        if (next !== undefined) cursors.push(next);
        url = next === undefined ? undefined : `/projects?limit=${limit}&after=${encodeURIComponent(next)}`;
      }
      return { names: pages.flat(), pages, cursors };
    }

    it('a member: full pages of their own projects; cursors name only those', async () => {
      for (const limit of [1, 2]) {
        const w = await walk(creds.alice, limit);
        expect(w.names).toEqual(['a1', 'a2', 'a3']);
        for (const p of w.pages.slice(0, -1)) expect(p).toHaveLength(limit);
        for (const c of w.cursors) expect(['a1', 'a2', 'a3']).toContain(Buffer.from(c, 'base64url').toString('utf8'));
      }
    });

    it('a user of no group gets one empty page and no cursor', async () => {
      const w = await walk(creds.nobody, 1);
      expect(w.pages).toEqual([[]]);
      expect(w.cursors).toEqual([]);
    });

    it('an admin pages over every project', async () => {
      expect((await walk(creds.admin, 4)).names).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'd1', 'e1', 'z9']);
    });
  });
}
