// Secrets in this process's memory: the default of an API built without a secret store (tests, the
// benchmarks). Nothing survives the process; `michman serve` always opens the configured store.
import { type SecretStore, type SecretData, checkPath, keyOf } from './types.js';

export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory';
  private readonly data = new Map<string, SecretData>();

  async get(path: string): Promise<SecretData | undefined> {
    const v = this.data.get(checkPath(path));
    return v && { ...v };
  }

  getKey(path: string, key: string): Promise<string> {
    return keyOf(this, path, key);
  }

  async put(path: string, values: SecretData): Promise<void> {
    this.data.set(checkPath(path), { ...values });
  }

  async delete(path: string): Promise<void> {
    this.data.delete(checkPath(path));
  }
}
