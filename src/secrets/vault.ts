// Vault (or OpenBao) over its HTTP API with token auth. The original read its paths as KV v1
// (`GET /v1/<path>`, flat fields); with KV v2 the first path segment is the mount and the data
// lives under `<mount>/data/<rest>`, nested in `data.data`. Key names stay the original's.
import { type SecretStore, type SecretData, SecretError, checkPath, keyOf } from './types.js';

export interface VaultOptions {
  addr: string;
  token: string;
  kvVersion: 1 | 2;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  namespace?: string;
}

export class VaultSecretStore implements SecretStore {
  readonly kind = 'vault';
  private readonly base: string;

  constructor(private readonly o: VaultOptions) {
    let u: URL;
    try {
      u = new URL(o.addr);
    } catch {
      throw new SecretError(`vault_addr '${o.addr}' is not a URL such as http://127.0.0.1:8200`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SecretError(`vault_addr '${o.addr}' must be an http:// or https:// URL`);
    if (!o.token) throw new SecretError('a Vault token is required: set the token key or the VAULT_TOKEN environment variable');
    this.base = o.addr.replace(/\/+$/, '');
  }

  private url(path: string, part: 'data' | 'metadata'): string {
    const p = checkPath(path);
    if (this.o.kvVersion === 1) return `${this.base}/v1/${p}`;
    const [mount, ...rest] = p.split('/');
    if (rest.length === 0) throw new SecretError(`secret path '${path}' needs a mount and a name (e.g. secret/${p}) with KV v2`);
    return `${this.base}/v1/${mount}/${part}/${rest.join('/')}`;
  }

  private async call(method: string, url: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { 'X-Vault-Token': this.o.token };
    if (this.o.namespace) headers['X-Vault-Namespace'] = this.o.namespace;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new SecretError(`vault at ${this.base} is unreachable (${method} ${path}): ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 403) throw new SecretError(`vault refused the token for ${method} ${path} (403 permission denied)`);
    if (res.status === 404) return { status: 404, json: undefined };
    if (res.status >= 400) throw new SecretError(`vault answered ${res.status} for ${method} ${path}`);
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new SecretError(`vault answered ${method} ${path} with a body that is not JSON`);
    }
    return { status: res.status, json };
  }

  async get(path: string): Promise<SecretData | undefined> {
    const { status, json } = await this.call('GET', this.url(path, 'data'), path);
    if (status === 404) return undefined;
    const outer = (json as { data?: unknown } | undefined)?.data;
    const data = this.o.kvVersion === 2 ? (outer as { data?: unknown } | undefined)?.data : outer;
    if (data === null && this.o.kvVersion === 2) return undefined; // the latest version was deleted
    if (data === undefined || data === null || typeof data !== 'object') throw new SecretError(`vault secret '${path}' has no data (is vault_kv_version ${this.o.kvVersion} right?)`);
    const out: SecretData = {};
    for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
    return out;
  }

  getKey(path: string, key: string): Promise<string> {
    return keyOf(this, path, key);
  }

  async put(path: string, values: SecretData): Promise<void> {
    await this.call('POST', this.url(path, 'data'), path, this.o.kvVersion === 2 ? { data: values } : values);
  }

  async delete(path: string): Promise<void> {
    // KV v2: deleting the metadata removes every version, as "delete" means for the other stores.
    await this.call('DELETE', this.url(path, 'metadata'), path);
  }
}
