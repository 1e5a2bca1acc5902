// Generated service secrets (passwords and tokens the user left empty): made once per cluster and
// service type, kept in the secret store (`michman/clusters/<id>/services/<type>`) or, without one,
// in `<secrets dir>/clusters/<id>/services.json` (0600), and handed to roles as extra-vars, so the
// health checks and the cluster's owner know them and a repeated deploy does not change them.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretStore } from '../../secrets/types.js';

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function generateSecret(): string {
  return randomBytes(18).toString('base64url');
}

export class ServiceSecrets {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly secretsDir: string,
    private readonly store?: SecretStore,
  ) {}

  private file(clusterId: string): string {
    if (!SAFE.test(clusterId) || clusterId.includes('..')) throw new Error(`cluster ID '${clusterId}' cannot name a secrets directory`);
    return join(this.secretsDir, 'clusters', clusterId, 'services.json');
  }

  private async readFileSecrets(clusterId: string): Promise<Record<string, Record<string, string>>> {
    try {
      return JSON.parse(await readFile(this.file(clusterId), 'utf8')) as Record<string, Record<string, string>>;
    } catch {
      return {};
    }
  }

  /** The stored secrets of a type, generating the missing ones of `names`. Serialized per process. */
  ensure(clusterId: string, type: string, names: string[]): Promise<Record<string, string>> {
    const p = this.chain.then(async () => {
      const have = await this.get(clusterId, type);
      const missing = names.filter((n) => !have[n]);
      if (missing.length === 0) return have;
      const next = { ...have, ...Object.fromEntries(missing.map((n) => [n, generateSecret()])) };
      await this.put(clusterId, type, next);
      return next;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  async get(clusterId: string, type: string): Promise<Record<string, string>> {
    if (this.store) return (await this.store.get(`michman/clusters/${clusterId}/services/${type}`)) ?? {};
    return (await this.readFileSecrets(clusterId))[type] ?? {};
  }

  private async put(clusterId: string, type: string, values: Record<string, string>): Promise<void> {
    if (this.store) return this.store.put(`michman/clusters/${clusterId}/services/${type}`, values);
    const all = await this.readFileSecrets(clusterId);
    all[type] = values;
    const f = this.file(clusterId);
    await mkdir(join(this.secretsDir, 'clusters', clusterId), { recursive: true, mode: 0o700 });
    await writeFile(`${f}.tmp`, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    await rename(`${f}.tmp`, f);
  }

  async remove(clusterId: string, type: string): Promise<void> {
    const p = this.chain.then(async () => {
      if (this.store) return this.store.delete(`michman/clusters/${clusterId}/services/${type}`);
      const all = await this.readFileSecrets(clusterId);
      if (!(type in all)) return;
      delete all[type];
      const f = this.file(clusterId);
      await writeFile(`${f}.tmp`, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
      await rename(`${f}.tmp`, f);
    });
    this.chain = p.catch(() => undefined);
    return p;
  }
}
