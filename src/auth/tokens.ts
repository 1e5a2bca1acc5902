// API tokens: `mm_` + 256 random bits; only the SHA-256 is stored, the token is shown once.
import type { Store } from '../store/store.js';
import { TokenRepo, type ApiToken } from '../store/repos/tokens.js';
import { newId } from '../store/ids.js';
import { sha256, randomToken } from './oidc.js';

/** Tokens carry a prefix, so they are told apart from an identity provider's tokens without asking it. */
export const API_TOKEN_PREFIX = 'mm_';

export const tokenRepo = (store: Store) => new TokenRepo({ db: store.db, kit: store.kit });

export async function issueApiToken(
  repo: TokenRepo,
  o: { userId: string; groups: string[]; name: string; expiresInDays?: number; now?: number },
): Promise<{ token: string; record: ApiToken }> {
  const token = `${API_TOKEN_PREFIX}${randomToken(32)}`;
  const at = o.now ?? Date.now();
  const record: ApiToken = {
    id: newId(),
    tokenHash: sha256(token),
    userId: o.userId,
    name: o.name,
    groups: o.groups,
    createdAt: at,
    expiresAt: o.expiresInDays === undefined ? null : at + o.expiresInDays * 86_400_000,
    revokedAt: null,
    lastUsedAt: null,
  };
  await repo.insert(record);
  return { token, record };
}
