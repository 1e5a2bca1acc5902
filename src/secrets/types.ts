// Where secrets come from. Every secret Michman uses (database and OpenStack credentials, OAuth2
// client secrets, per-cluster SSH keys) is read through a SecretStore chosen by `secrets_store`:
//
//   interface SecretStore {
//     get(path): Promise<Record<string,string> | undefined>   all keys of the secret at path, or undefined
//     getKey(path, key): Promise<string>                      one key; throws SecretError naming path and key
//     put(path, values): Promise<void>                        creates or replaces the whole secret
//     delete(path): Promise<void>                             removes it (absent is fine)
//   }
//
// A path is the original's Vault path (config keys os_key, ssh_key, mysql_key, hydra_key,
// registry_key), e.g. `secret/openstack`; keys are its field names (OS_PASSWORD, key_bgt, ...).
// Messages of SecretError name the store, the path and the key, never a value or a token.

export type SecretData = Record<string, string>;

export interface SecretStore {
  /** Short name for messages: file, env or vault. */
  readonly kind: string;
  get(path: string): Promise<SecretData | undefined>;
  getKey(path: string, key: string): Promise<string>;
  put(path: string, values: SecretData): Promise<void>;
  delete(path: string): Promise<void>;
}

export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/** Checks a path before it reaches a file key, an environment name or a Vault URL. */
export function checkPath(path: string): string {
  const p = path.replace(/^\/+|\/+$/g, '');
  if (p === '' || p.length > 512 || !/^[A-Za-z0-9_.\-/]+$/.test(p) || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new SecretError(`invalid secret path '${path}': use letters, digits, '_', '-', '.' and '/' separators`);
  }
  return p;
}

/** Shared getKey: one key of get(path), with an error naming what is missing. */
export async function keyOf(store: SecretStore, path: string, key: string): Promise<string> {
  const data = await store.get(path);
  if (data === undefined) throw new SecretError(`secret '${path}' not found in the ${store.kind} secret store`);
  const v = data[key];
  if (typeof v !== 'string' || v === '') throw new SecretError(`secret '${path}' in the ${store.kind} secret store has no key '${key}'`);
  return v;
}
