// Paths every caller reaches without logging in, besides the API's own (/version, /api, /auth,
// /logout): the web console's files and the route it asks who you are. Kept here, not in api/,
// so the auth hook (auth/plugin.ts) needs nothing of api/.

export const SESSION_PATH = '/auth/session';

/** The web console's files (served by api/web.ts): /, /index.html, /favicon.svg, /assets/*. */
export const isWebPath = (path: string): boolean => path === '/' || path === '/index.html' || path === '/favicon.svg' || path.startsWith('/assets/');

/**
 * A top-level page load of a browser (Sec-Fetch-Mode: navigate), as opposed to a script's fetch
 * or curl: the end of a browser login then goes back to the console instead of showing JSON.
 */
export const isBrowserNavigation = (headers: Record<string, string | string[] | undefined>): boolean => headers['sec-fetch-mode'] === 'navigate';
