// Keystone v3 as the identity source: a user's token (X-Auth-Token) is validated with
// GET /v3/auth/tokens. Michman groups are the token's role names in its scoped project, the
// project's name, `<project>:<role>` pairs, and the user's federation groups when the token has
// them; so a Michman project with GroupID = a Keystone project name belongs to that project's
// members, and admin_group may name a Keystone role (admin).
import { MichmanError, ErrorClass } from '../domain/errors.js';
import { Unauthenticated } from './identity.js';
import { sha256, type Claims } from './oidc.js';

export interface KeystoneOptions {
  /** Base URL, with or without /v3. */
  addr: string;
  cacheMs: number;
  timeoutMs?: number;
  now?: () => number;
}

interface Named {
  id?: string;
  name?: string;
}

interface TokenBody {
  token?: {
    expires_at?: string;
    user?: Named & { 'OS-FEDERATION'?: { groups?: Named[] } };
    project?: Named;
    roles?: Named[];
  };
}

export class KeystoneClient {
  private readonly base: string;
  private readonly cache = new Map<string, { claims: Claims; until: number }>();

  constructor(private readonly o: KeystoneOptions) {
    this.base = o.addr.replace(/\/+$/, '').replace(/\/v3$/, '');
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /**
   * Validates a user's token (the subject); 401 when Keystone does not know it or it expired. The
   * token validates itself unless another one is given (the original's X-Auth-Token + X-Subject-Token).
   */
  async validate(token: string, authToken = token): Promise<Claims> {
    const key = sha256(`${authToken} ${token}`);
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.claims;
    if (hit) this.cache.delete(key);
    let res: Response;
    try {
      // A token may validate itself (Keystone's default policy), so Michman needs no service account.
      res = await fetch(`${this.base}/v3/auth/tokens`, {
        headers: { 'X-Auth-Token': authToken, 'X-Subject-Token': token, Accept: 'application/json' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
    } catch {
      throw new MichmanError(ErrorClass.Unavailable, `identity provider: Keystone at ${this.base} is unreachable; try again later`);
    }
    const text = await res.text().catch(() => {
      throw new MichmanError(ErrorClass.Unavailable, `identity provider: Keystone at ${this.base} closed the connection; try again later`);
    });
    if (res.status === 401 || res.status === 403 || res.status === 404) throw new Unauthenticated('invalid or expired Keystone token');
    if (res.status !== 200) throw new MichmanError(ErrorClass.Unavailable, `identity provider: Keystone at ${this.base} answered ${res.status}; try again later`);
    let body: TokenBody;
    try {
      body = JSON.parse(text) as TokenBody;
    } catch {
      throw new MichmanError(ErrorClass.Unavailable, 'identity provider: Keystone token body is not JSON');
    }
    const t = body.token;
    const userId = t?.user?.id;
    if (!t || typeof userId !== 'string' || userId === '') throw new Unauthenticated('Keystone token names no user');
    const expires = t.expires_at ? Date.parse(t.expires_at) : NaN;
    if (!Number.isNaN(expires) && expires <= now) throw new Unauthenticated('invalid or expired Keystone token');
    const claims: Claims = { userId, groups: groupsOf(t) };
    if (this.o.cacheMs > 0) {
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, { claims, until: Math.min(now + this.o.cacheMs, Number.isNaN(expires) ? Infinity : expires) });
    }
    return claims;
  }
}

function groupsOf(t: NonNullable<TokenBody['token']>): string[] {
  const out = new Set<string>();
  const roles = (t.roles ?? []).map((r) => r.name).filter((n): n is string => typeof n === 'string' && n !== '');
  const project = t.project?.name;
  for (const r of roles) out.add(r);
  if (project) {
    out.add(project);
    for (const r of roles) out.add(`${project}:${r}`);
  }
  for (const g of t.user?.['OS-FEDERATION']?.groups ?? []) if (g.name) out.add(g.name);
  return [...out];
}
