// The secret stores: a 0600 file in the data directory, environment variables over it, and Vault
// (KV v1 and v2, token auth) through a Vault-protocol fake. Errors name the store, path and key,
// never a value or a token.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSecretStore, EnvSecretStore, VaultSecretStore, SecretError, envName, openSecretStore } from '../../src/secrets/index.js';
import { startFakeVault, type FakeVault } from './helpers/fakeVault.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'michman-secrets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLANTED = 'planted-secret-value-7f3a9c';

describe('file secret store', () => {
  it('puts, gets and deletes, in a file only its owner can read', async () => {
    const file = join(dir, 'a', 'secrets.json');
    const s = new FileSecretStore(file);
    expect(await s.get('secret/openstack')).toBeUndefined();
    await s.put('secret/openstack', { OS_PASSWORD: PLANTED, OS_USERNAME: 'admin' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await s.get('secret/openstack')).toEqual({ OS_PASSWORD: PLANTED, OS_USERNAME: 'admin' });
    expect(await s.getKey('secret/openstack', 'OS_PASSWORD')).toBe(PLANTED);
    await s.put('clusters/c1/ssh', { key_bgt: 'PRIVATE' });
    await s.delete('secret/openstack');
    expect(await s.get('secret/openstack')).toBeUndefined();
    expect(await s.getKey('clusters/c1/ssh', 'key_bgt')).toBe('PRIVATE');
  });

  it('keeps every one of many concurrent writes', async () => {
    const s = new FileSecretStore(join(dir, 'many.json'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.put(`clusters/c${i}/ssh`, { key_bgt: `k${i}` })));
    for (let i = 0; i < 20; i++) expect(await s.getKey(`clusters/c${i}/ssh`, 'key_bgt')).toBe(`k${i}`);
  });

  it('refuses a file others can read, and names paths and keys (not values) in errors', async () => {
    const file = join(dir, 'open.json');
    writeFileSync(file, JSON.stringify({ 'secret/db': { password: PLANTED } }));
    chmodSync(file, 0o644);
    const s = new FileSecretStore(file);
    await expect(s.get('secret/db')).rejects.toThrow(/readable by other users.*chmod 600/);
    chmodSync(file, 0o600);
    const err = await s.getKey('secret/db', 'user').catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SecretError);
    expect(err.message).toBe("secret 'secret/db' in the file secret store has no key 'user'");
    writeFileSync(file, `{"secret/db": {"password": "${PLANTED}"`, { mode: 0o600 });
    const bad = await s.get('secret/db').catch((e: unknown) => e as Error);
    expect(bad.message).toMatch(/not a JSON object/);
    expect(bad.message).not.toContain(PLANTED);
  });

  it('refuses paths that could escape their place', async () => {
    const s = new FileSecretStore(join(dir, 'p.json'));
    for (const p of ['', '../x', 'a/../b', 'a//b', 'a b', 'a/./b']) await expect(s.get(p), p).rejects.toThrow(/invalid secret path/);
  });
});

describe('env secret store', () => {
  it('reads MICHMAN_SECRET_<PATH>__<KEY> first and writes to its file', async () => {
    const file = new FileSecretStore(join(dir, 'env-fallback.json'));
    await file.put('secret/openstack', { OS_USERNAME: 'from-file', OS_REGION_NAME: 'RegionOne' });
    expect(envName('secret/openstack', 'OS_PASSWORD')).toBe('MICHMAN_SECRET_SECRET_OPENSTACK__OS_PASSWORD');
    const env = { MICHMAN_SECRET_SECRET_OPENSTACK__OS_PASSWORD: PLANTED, MICHMAN_SECRET_SECRET_OPENSTACK__OS_USERNAME: 'from-env' };
    const s = new EnvSecretStore(file, env);
    expect(await s.getKey('secret/openstack', 'OS_PASSWORD')).toBe(PLANTED);
    expect(await s.getKey('secret/openstack', 'OS_USERNAME')).toBe('from-env');
    expect(await s.getKey('secret/openstack', 'OS_REGION_NAME')).toBe('RegionOne');
    expect(await s.get('secret/openstack')).toMatchObject({ OS_PASSWORD: PLANTED, OS_USERNAME: 'from-env', OS_REGION_NAME: 'RegionOne' });
    await s.put('clusters/c1/ssh', { key_bgt: 'PRIVATE' });
    expect(await file.getKey('clusters/c1/ssh', 'key_bgt')).toBe('PRIVATE');
    await expect(s.getKey('secret/none', 'x')).rejects.toThrow("secret 'secret/none' not found in the file secret store");
  });

  it('is what secrets_store selects', () => {
    const base = { data_dir: dir, secrets_file: undefined, vault_addr: undefined, token: undefined, vault_kv_version: 1 };
    expect(openSecretStore({ ...base, secrets_store: 'file' }).kind).toBe('file');
    expect(openSecretStore({ ...base, secrets_store: 'env' }).kind).toBe('env');
    expect(openSecretStore({ ...base, secrets_store: 'vault', vault_addr: 'http://127.0.0.1:1', token: 't' }).kind).toBe('vault');
    expect(() => openSecretStore({ ...base, secrets_store: 'vault', vault_addr: 'http://127.0.0.1:1' }, {})).toThrow(/Vault token is required/);
  });
});

describe('vault secret store (Vault-protocol fake)', () => {
  let vault: FakeVault;
  beforeAll(async () => {
    vault = await startFakeVault();
  });
  afterAll(async () => {
    await vault?.close();
  });

  it('KV v1: the original layout, flat fields at the configured path', async () => {
    const s = new VaultSecretStore({ addr: vault.addr, token: vault.token, kvVersion: 1 });
    vault.v1.set('openstack', { OS_AUTH_URL: 'http://keystone:5000/v3', OS_PASSWORD: PLANTED });
    expect(await s.getKey('secret/openstack', 'OS_PASSWORD')).toBe(PLANTED);
    await s.put('secret/hydra', { client_id: 'michman', client_secret: 'cs', redirect_uri: 'http://m/auth' });
    expect(vault.v1.get('hydra')).toEqual({ client_id: 'michman', client_secret: 'cs', redirect_uri: 'http://m/auth' });
    expect(await s.get('secret/hydra')).toEqual({ client_id: 'michman', client_secret: 'cs', redirect_uri: 'http://m/auth' });
    await s.delete('secret/hydra');
    expect(await s.get('secret/hydra')).toBeUndefined();
    await expect(s.getKey('secret/openstack', 'OS_USERNAME')).rejects.toThrow("secret 'secret/openstack' in the vault secret store has no key 'OS_USERNAME'");
    expect(vault.seen.every((r) => r.token === vault.token)).toBe(true);
  });

  it('KV v2: mount/data/path, nested data, latest version; delete removes every version', async () => {
    const s = new VaultSecretStore({ addr: vault.addr, token: vault.token, kvVersion: 2 });
    await s.put('kv/michman/ssh', { key_bgt: 'first' });
    await s.put('kv/michman/ssh', { key_bgt: 'second' });
    expect(vault.v2.get('michman/ssh')?.versions).toHaveLength(2);
    expect(await s.getKey('kv/michman/ssh', 'key_bgt')).toBe('second');
    expect(vault.seen.some((r) => r.path === '/v1/kv/data/michman/ssh')).toBe(true);
    await s.delete('kv/michman/ssh');
    expect(vault.seen.at(-1)).toMatchObject({ method: 'DELETE', path: '/v1/kv/metadata/michman/ssh' });
    expect(await s.get('kv/michman/ssh')).toBeUndefined();
    await expect(s.get('kvonly')).rejects.toThrow(/needs a mount and a name/);
  });

  it('a bad token: 403 becomes an error that names the path and not the token', async () => {
    const bad = 'hvs.wrong-token-SHOULD-NOT-LEAK';
    for (const kvVersion of [1, 2] as const) {
      const s = new VaultSecretStore({ addr: vault.addr, token: bad, kvVersion });
      const err = await s.get(kvVersion === 1 ? 'secret/openstack' : 'kv/michman/x').catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(SecretError);
      expect(err.message).toMatch(/vault refused the token for GET .* \(403 permission denied\)/);
      expect(err.message).not.toContain(bad);
      await expect(s.put('secret/x', { a: 'b' })).rejects.toThrow(/403/);
    }
  });

  it('an unreachable Vault is a clear error', async () => {
    const s = new VaultSecretStore({ addr: 'http://127.0.0.1:1', token: vault.token, kvVersion: 1, timeoutMs: 2000 });
    await expect(s.get('secret/x')).rejects.toThrow(/vault at http:\/\/127.0.0.1:1 is unreachable/);
    expect(() => new VaultSecretStore({ addr: 'not a url', token: 't', kvVersion: 1 })).toThrow(/vault_addr/);
  });
});

describe('database credentials from the secret store (mysql_key)', () => {
  it('builds the URL from the original fields, escaping the password', async () => {
    const { databaseUrlFromSecrets } = await import('../../src/secrets/database.js');
    const { loadConfig } = await import('../../src/config/load.js');
    const s = new FileSecretStore(join(dir, 'db.json'));
    await s.put('secret/mysql', { address: '127.0.0.1:3306', user: 'michman', password: 'p@ss/word:1', database: 'michman' });
    expect(await databaseUrlFromSecrets('mysql', 'secret/mysql', s)).toBe('mysql://michman:p%40ss%2Fword%3A1@127.0.0.1:3306/michman');
    expect(await databaseUrlFromSecrets('postgres', 'secret/mysql', s)).toMatch(/^postgres:\/\//);
    await s.put('secret/bad', { address: 'x/y', user: 'u', database: 'd', password: PLANTED });
    const err = await databaseUrlFromSecrets('mysql', 'secret/bad', s).catch((e: unknown) => e as Error);
    expect(err.message).toMatch(/address/);
    expect(err.message).not.toContain(PLANTED);
    await expect(databaseUrlFromSecrets('mysql', 'secret/none', s)).rejects.toThrow("mysql_key: secret 'secret/none' not found");
    // The config accepts mysql_key instead of database_url; without either it still refuses.
    expect(loadConfig({ cwd: dir, env: { MICHMAN_STORAGE: 'mysql', MICHMAN_MYSQL_KEY: 'secret/mysql' } }).database_url).toBe('');
    expect(() => loadConfig({ cwd: dir, env: { MICHMAN_STORAGE: 'mysql' } })).toThrow(/database_url is required/);
  });
});
