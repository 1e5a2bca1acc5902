// The SSH key Ansible reaches cloud nodes with. On OpenStack the servers get the operator's key
// pair (os_key_name, or a per-cluster pair made from os_ssh_public_key_file); its private half is
// the original's Vault secret at `ssh_key` (field key_bgt), written once to a 0600 file as the
// original wrote ansible/files/ssh_key. An operator may also place that file by hand.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore } from '../../secrets/types.js';
import type { ClusterKeySource } from './deployer.js';

export class StoredSshKey implements ClusterKeySource {
  constructor(
    private readonly file: string,
    private readonly store?: SecretStore,
    private readonly path?: string,
  ) {}

  async ensure(): Promise<{ privateKeyFile: string }> {
    if (existsSync(this.file)) return { privateKeyFile: this.file };
    if (!this.store || !this.path) {
      throw new Error(`no SSH private key for the cloud's key pair: set ssh_key (a secret path with the field key_bgt) or place the key at ${this.file}`);
    }
    // getKey names the store, path and field when it is missing, never the value.
    const key = await this.store.getKey(this.path, 'key_bgt');
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await writeFile(this.file, key.endsWith('\n') ? key : `${key}\n`, { mode: 0o600 });
    return { privateKeyFile: this.file };
  }
}
