// The session cookie and the pieces of a request the auth hooks and routes read.
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'session';
/** Binds a login in progress to the browser that started it. */
export const LOGIN_COOKIE = 'michman_login';
export const LOGIN_STATE_MS = 10 * 60_000;

export const pathOf = (url: string): string => {
  const p = url.split('?')[0]!;
  return p.length > 1 ? p.replace(/\/+$/, '') || '/' : p;
};

export function cookieOf(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export const cookieFlags = (req: FastifyRequest) => `Path=/; HttpOnly; SameSite=Lax${req.protocol === 'https' ? '; Secure' : ''}`;
