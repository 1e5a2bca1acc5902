// Login sessions and the PKCE states of logins in progress. Rows are keyed by the SHA-256 of the
// random value the client holds, so the table alone lets nobody in.
import type { RepoContext } from './base.js';
import { authDb, parseGroups } from './authTables.js';

export interface Session {
  idHash: string;
  userId: string;
  groups: string[];
  via: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export class SessionRepo {
  constructor(private readonly ctx: RepoContext) {}

  async insert(s: Session): Promise<void> {
    await authDb(this.ctx)
      .insertInto('sessions')
      .values({
        id_hash: s.idHash,
        user_id: s.userId,
        groups: JSON.stringify(s.groups),
        via: s.via,
        created_at: s.createdAt,
        last_seen_at: s.lastSeenAt,
        expires_at: s.expiresAt,
      })
      .execute();
  }

  async find(idHash: string): Promise<Session | undefined> {
    const r = await authDb(this.ctx).selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return (
      r && {
        idHash: r.id_hash,
        userId: r.user_id,
        groups: parseGroups(r.groups),
        via: r.via,
        createdAt: Number(r.created_at),
        lastSeenAt: Number(r.last_seen_at),
        expiresAt: Number(r.expires_at),
      }
    );
  }

  async touch(idHash: string, at: number): Promise<void> {
    await authDb(this.ctx).updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  async delete(idHash: string): Promise<void> {
    await authDb(this.ctx).deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** Forgets sessions past their lifetime, and login states older than `statesBefore`. */
  async purge(now: number, statesBefore: number): Promise<void> {
    await authDb(this.ctx).deleteFrom('sessions').where('expires_at', '<', now).execute();
    await authDb(this.ctx).deleteFrom('login_states').where('created_at', '<', statesBefore).execute();
  }

  async saveLoginState(stateHash: string, codeVerifier: string, nonce: string, at: number): Promise<void> {
    await authDb(this.ctx).insertInto('login_states').values({ state_hash: stateHash, code_verifier: codeVerifier, nonce, created_at: at }).execute();
  }

  /** Returns and deletes the state: each one completes at most one login. */
  async takeLoginState(stateHash: string): Promise<{ codeVerifier: string; nonce: string; createdAt: number } | undefined> {
    const db = authDb(this.ctx);
    const r = await db.selectFrom('login_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
    if (!r) return undefined;
    const del = await db.deleteFrom('login_states').where('state_hash', '=', stateHash).executeTakeFirst();
    if (Number(del.numDeletedRows) !== 1) return undefined; // another request took it first
    return { codeVerifier: r.code_verifier, nonce: r.nonce, createdAt: Number(r.created_at) };
  }
}
