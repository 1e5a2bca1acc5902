// The secret store the configuration names (secrets_store): file (default), env or vault.
import { join } from 'node:path';
import type { MichmanConfig } from '../config/schema.js';
import { FileSecretStore } from './file.js';
import { EnvSecretStore } from './env.js';
import { VaultSecretStore } from './vault.js';
import type { SecretStore } from './types.js';

export type { SecretStore, SecretData } from './types.js';
export { SecretError } from './types.js';
export { FileSecretStore } from './file.js';
export { EnvSecretStore, envName } from './env.js';
export { VaultSecretStore } from './vault.js';
export { MemorySecretStore } from './memory.js';

type SecretsConfig = Pick<MichmanConfig, 'secrets_store' | 'secrets_file' | 'data_dir' | 'vault_addr' | 'token' | 'vault_kv_version'>;

export function openSecretStore(config: SecretsConfig, env: Record<string, string | undefined> = process.env): SecretStore {
  const file = new FileSecretStore(config.secrets_file ?? join(config.data_dir, 'secrets.json'));
  switch (config.secrets_store) {
    case 'env':
      return new EnvSecretStore(file, env);
    case 'vault':
      return new VaultSecretStore({
        addr: config.vault_addr ?? '',
        token: config.token ?? env.VAULT_TOKEN ?? '',
        kvVersion: config.vault_kv_version === 2 ? 2 : 1,
        namespace: env.VAULT_NAMESPACE,
      });
    default:
      return file;
  }
}
