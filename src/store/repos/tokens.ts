// API tokens: only the SHA-256 of a token is stored; the token itself is shown once, at creation.
import type { Selectable } from 'kysely';
import type { RepoContext } from './base.js';
import { authDb, parseGroups, type ApiTokenRow } from './authTables.js';

export interface ApiToken {
  id: string;
  tokenHash: string;
  userId: string;
  name: string;
  groups: string[];
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toToken(r: Selectable<ApiTokenRow>): ApiToken {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    userId: r.user_id,
    name: r.name,
    groups: parseGroups(r.groups),
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    lastUsedAt: num(r.last_used_at),
  };
}

export class TokenRepo {
  constructor(private readonly ctx: RepoContext) {}

  async insert(t: ApiToken): Promise<void> {
    await authDb(this.ctx)
      .insertInto('api_tokens')
      .values({
        id: t.id,
        token_hash: t.tokenHash,
        user_id: t.userId,
        name: t.name,
        groups: JSON.stringify(t.groups),
        created_at: t.createdAt,
        expires_at: t.expiresAt,
        revoked_at: t.revokedAt,
        last_used_at: t.lastUsedAt,
      })
      .execute();
  }

  async byHash(tokenHash: string): Promise<ApiToken | undefined> {
    const r = await authDb(this.ctx).selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r && toToken(r);
  }

  async get(id: string): Promise<ApiToken | undefined> {
    const r = await authDb(this.ctx).selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toToken(r);
  }

  /** A user's tokens, newest first (revoked ones included, so the user sees what was revoked). */
  async listByUser(userId: string): Promise<ApiToken[]> {
    const rows = await authDb(this.ctx).selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').limit(1000).execute();
    return rows.map(toToken);
  }

  async revoke(id: string, at: number): Promise<void> {
    await authDb(this.ctx).updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  async markUsed(id: string, at: number): Promise<void> {
    await authDb(this.ctx).updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
