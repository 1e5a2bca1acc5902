// What `provider: openstack` installs services with: Ansible over SSH with the operator's key from
// the secret store, or, when nodes are not reachable over SSH, nothing — and then services are
// refused at POST instead of a cluster reported ACTIVE without them.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { machinery } from '../../src/app.js';
import { StoredSshKey } from '../../src/deploy/ansible/storedKey.js';
import { FileSecretStore } from '../../src/secrets/file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'michman-osdeploy-'));
  writeFileSync(
    join(dir, 'clouds.yaml'),
    'clouds:\n  t:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: R\n',
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (extra: Record<string, unknown>) =>
  loadConfig({ env: {}, cwd: dir, overrides: { provider: 'openstack', data_dir: dir, os_cloud: 't', os_clouds_file: join(dir, 'clouds.yaml'), virtual_network: 'net', ...extra } });

describe('openstack deployer', () => {
  it('with os_reachability active, refuses services at POST and accepts a cluster without any', async () => {
    const { deployer } = machinery(config({ os_reachability: 'active' }));
    expect(await deployer.check([{ type: 'redis', version: '7' }])).toEqual([expect.stringContaining("service 'redis' cannot be installed: os_reachability is active")]);
    expect(await deployer.check([])).toEqual([]);
  });

  it('with SSH, deploys with Ansible and refuses services that have no role', async () => {
    const { deployer } = machinery(config({}));
    expect(deployer.name).toBe('ansible');
    const problems = await deployer.check([{ type: 'greenplum', version: '6.27.1' }]);
    expect(problems.some((p) => p.includes("service 'greenplum' has no Ansible role"))).toBe(true);
  });

  it("writes the key pair's private key from the secret store once, 0600, and names what is missing", async () => {
    const store = new FileSecretStore(join(dir, 'secrets.json'));
    const file = join(dir, 'secrets', 'ssh_key');
    await expect(new StoredSshKey(file, store, 'secret/ssh').ensure()).rejects.toThrow(/secret\/ssh/);
    await expect(new StoredSshKey(file).ensure()).rejects.toThrow(/set ssh_key/);
    await store.put('secret/ssh', { key_bgt: '-----BEGIN OPENSSH PRIVATE KEY-----\nplanted\n-----END OPENSSH PRIVATE KEY-----' });
    expect(await new StoredSshKey(file, store, 'secret/ssh').ensure()).toEqual({ privateKeyFile: file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('planted');
  });
});
