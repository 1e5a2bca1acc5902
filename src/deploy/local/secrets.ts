// Secrets of local services: a password parameter left empty is generated once and kept in the
// service directory (secrets.json, mode 0600, owned by Michman's user), identical on every node of
// the service. Servers get hashes wherever their protocol allows (PostgreSQL SCRAM verifiers, MariaDB
// native-password hashes, ClickHouse SHA-256), so the plain text lives in that one file.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeOwned } from './files.js';

export const SECRETS_FILE = 'secrets.json';

export function generateSecret(): string {
  // 24 URL-safe characters (144 bits): no quoting trouble in any config syntax.
  return randomBytes(18).toString('base64url');
}

export async function readSecrets(path: string): Promise<Record<string, string>> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return {};
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
    return out;
  } catch {
    return {};
  }
}

export async function writeSecrets(path: string, secrets: Record<string, string>): Promise<void> {
  await writeOwned(path, JSON.stringify(secrets, null, 2) + '\n', undefined, 0o600);
}

/**
 * The secrets a deployment uses: a configured (non-empty) value wins, then the stored one, then a
 * new random one. `params` maps secret name → config parameter ('' = never configurable).
 */
export function settleSecrets(
  params: Record<string, string>,
  config: Record<string, string>,
  stored: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, param] of Object.entries(params)) {
    const configured = param ? config[param] : undefined;
    out[key] = configured ? configured : (stored[key] ?? generateSecret());
  }
  return out;
}

/** Replaces every secret in `text` (log excerpts for error messages) with ***. */
export function redact(text: string, secrets: Record<string, string>): string {
  let t = text;
  for (const s of Object.values(secrets)) if (s.length >= 3) t = t.split(s).join('***');
  return t;
}

/** PostgreSQL's stored SCRAM-SHA-256 verifier for a password (RFC 5802/7677, 4096 iterations). */
export function scramSha256Verifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** MariaDB/MySQL mysql_native_password hash: '*' + hex(SHA1(SHA1(password))). */
export function mysqlNativeHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return '*' + createHash('sha1').update(inner).digest('hex').toUpperCase();
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
