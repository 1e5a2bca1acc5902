// Secrets from environment variables: key `k` of path `a/b` is MICHMAN_SECRET_A_B__K (upper case,
// every character other than a letter or digit becomes '_', two underscores before the key).
// The environment cannot be written, so put and delete go to the fallback store (the file store),
// and reads look in the environment first, then in the fallback.
import { type SecretStore, type SecretData, checkPath, keyOf } from './types.js';

export const ENV_SECRET_PREFIX = 'MICHMAN_SECRET_';

const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
export const envName = (path: string, key: string) => `${ENV_SECRET_PREFIX}${part(checkPath(path))}__${part(key)}`;

export class EnvSecretStore implements SecretStore {
  readonly kind = 'env';

  constructor(
    private readonly fallback: SecretStore,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  async get(path: string): Promise<SecretData | undefined> {
    const prefix = `${ENV_SECRET_PREFIX}${part(checkPath(path))}__`;
    const fromEnv: SecretData = {};
    for (const [name, value] of Object.entries(this.env)) {
      // Environment names lose the original case, so each key comes back upper and lower case
      // (OS_PASSWORD, client_secret); getKey needs neither guess.
      if (!name.startsWith(prefix) || value === undefined || name.length === prefix.length) continue;
      const key = name.slice(prefix.length);
      fromEnv[key] = value;
      fromEnv[key.toLowerCase()] = value;
    }
    const stored = await this.fallback.get(path);
    if (stored === undefined && Object.keys(fromEnv).length === 0) return undefined;
    return { ...stored, ...fromEnv };
  }

  async getKey(path: string, key: string): Promise<string> {
    const v = this.env[envName(path, key)];
    if (v !== undefined && v !== '') return v;
    return keyOf(this.fallback, path, key);
  }

  put(path: string, values: SecretData): Promise<void> {
    return this.fallback.put(path, values);
  }

  delete(path: string): Promise<void> {
    return this.fallback.delete(path);
  }
}
