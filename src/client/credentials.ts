// Where `michman login` keeps tokens: $XDG_CONFIG_HOME/michman/credentials.json (default
// ~/.config/michman), the directory 0700 and the file 0600, one token per server URL, and the URL
// last logged in to as the default server.
import { mkdirSync, readFileSync, writeFileSync, renameSync, chmodSync, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.js';

export interface ServerLogin {
  token: string;
  user?: string;
  /** The API token's ID when login created it (logout revokes it). */
  tokenId?: string;
  savedAt: string;
}

export interface Credentials {
  /** The server `michman login` was last used with: the default --url. */
  current?: string;
  servers: Record<string, ServerLogin>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // XDG: a relative path is invalid and must be ignored.
  const base = xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config');
  return join(base, 'michman');
}

export const credentialsFile = (env: NodeJS.ProcessEnv = process.env) => join(configDir(env), 'credentials.json');

/** A server URL as a key: no trailing slash. */
export const serverKey = (url: string) => url.replace(/\/+$/, '');

export function loadCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const file = credentialsFile(env);
  if (!existsSync(file)) return { servers: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message}); remove it and run michman login again`);
  }
  const c = parsed as Partial<Credentials>;
  return { current: typeof c.current === 'string' ? c.current : undefined, servers: c.servers && typeof c.servers === 'object' ? c.servers : {} };
}

export function saveCredentials(c: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing directory keeps its mode on mkdir; tighten ours (the tokens are in it).
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  const file = credentialsFile(env);
  // Written beside and renamed: never a half-written file, and 0600 from the first byte.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}
