// Row types of the identity and audit tables (migrations/003_auth.ts). They live here, next to the
// repositories that use them, and the repositories view the store's Kysely through them.
import type { Kysely } from 'kysely';
import type { Millis, MillisOrNull } from '../schema.js';
import type { RepoContext } from './base.js';

export interface SessionRow {
  id_hash: string;
  user_id: string;
  groups: string;
  via: string;
  created_at: Millis;
  last_seen_at: Millis;
  expires_at: Millis;
}
export interface ApiTokenRow {
  id: string;
  token_hash: string;
  user_id: string;
  name: string;
  groups: string;
  created_at: Millis;
  expires_at: MillisOrNull;
  revoked_at: MillisOrNull;
  last_used_at: MillisOrNull;
}
export interface LoginStateRow {
  state_hash: string;
  code_verifier: string;
  nonce: string;
  created_at: Millis;
}
export interface AuditRow {
  id: string;
  at: Millis;
  user_id: string;
  via: string;
  method: string;
  path: string;
  route: string;
  status: number;
  outcome: string;
  ip: string;
}
export interface AuthDB {
  sessions: SessionRow;
  api_tokens: ApiTokenRow;
  login_states: LoginStateRow;
  audit_log: AuditRow;
}

export const authDb = (ctx: RepoContext): Kysely<AuthDB> => ctx.db as unknown as Kysely<AuthDB>;

export const parseGroups = (json: string): string[] => {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
};
