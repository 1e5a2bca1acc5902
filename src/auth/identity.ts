// Who is calling. Set on the request by the authentication hook (auth/plugin.ts); absent when
// authentication is off (use_auth false, or the `none` model).
import { MichmanError, ErrorClass } from '../domain/errors.js';

export type Via = 'session' | 'api-token' | 'oauth2' | 'keystone';

export interface Identity {
  userId: string;
  groups: string[];
  via: Via;
  admin: boolean;
  /** The session this request came with (for /logout). */
  sessionIdHash?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

/** Groups from a claim: a comma-separated string (Hydra, the original) or an array; trimmed, no empties. */
export function parseGroupsClaim(v: unknown): string[] {
  const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return [...new Set(list.map((g) => g.trim()).filter((g) => g !== ''))];
}

/** 401: the envelope of class 900 with the status HTTP wants for "who are you?". */
export class Unauthenticated extends MichmanError {
  constructor(message = 'authentication required: send Authorization: Bearer <token>, X-Auth-Token or a session cookie') {
    super(ErrorClass.Authorization, message);
  }
  override get status(): number {
    return 401;
  }
  override get title(): string {
    return 'Unauthorized';
  }
}

export const forbidden = (message = 'unauthorized to access the resource') => new MichmanError(ErrorClass.Authorization, message);

/** Owner of what a request creates: the authenticated user; never a request header. */
export const ownerOf = (identity: Identity | undefined): string => identity?.userId ?? 'unauthorized';

/**
 * Projects a caller sees: all when authentication is off or for admins; otherwise the projects of
 * the caller's groups.
 */
export const seesProject = (identity: Identity | undefined, groupId: string): boolean =>
  identity === undefined || identity.admin || (groupId !== '' && identity.groups.includes(groupId));

/** The filter of a project list: undefined = every project (auth off, admins), else the caller's groups. */
export const visibleGroups = (identity: Identity | undefined): { groups: readonly string[] } | undefined =>
  identity === undefined || identity.admin ? undefined : { groups: identity.groups };

/** A non-admin may give a project only one of their own groups (§12.3: any GroupID was accepted). */
export function checkGroupChoice(identity: Identity | undefined, groupId: string | undefined): void {
  if (identity === undefined || identity.admin) return;
  if (groupId === undefined || !identity.groups.includes(groupId)) {
    const mine = identity.groups.length ? identity.groups.join(', ') : 'none';
    throw forbidden(`GroupID must be one of your groups (${mine})`);
  }
}
