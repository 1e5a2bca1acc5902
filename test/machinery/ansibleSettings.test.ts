// The configuration's package mirrors reach the roles as the original's extra-vars
// (use_package_mirror, apt_mirror_address, use_pip_mirror, pip_mirror_address, pip_trusted_host),
// with our apt_security_mirror_address beside them; unset, they are the original's zero values.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ansibleSettings, ourAnsibleVars } from '../../src/machinery/ansibleSettings.js';
import { runVars } from '../../src/deploy/ansible/vars.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'michman-ansible-settings-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const config = (overrides: Record<string, unknown>) => loadConfig({ env: {}, cwd: dir, overrides: { data_dir: dir, ...overrides } });

const vars = (overrides: Record<string, unknown>) => {
  const c = config(overrides);
  const v = runVars({ plan: undefined, clusterName: 'c1', action: 'create', knownTypes: ['redis'], keyFile: '/k', nodes: [], generated: {}, settings: ansibleSettings(c) });
  return { ...v, ...ourAnsibleVars(c) };
};

describe('mirror settings in the extra-vars', () => {
  it('passes the apt and pip mirrors under the original names', () => {
    const mirrors = {
      use_package_mirror: true,
      apt_mirror_address: 'http://10.0.0.1:3142/deb.debian.org/debian',
      apt_security_mirror_address: 'http://10.0.0.1:3142/security.debian.org/debian-security',
      use_pip_mirror: true,
      pip_mirror_address: 'http://10.0.0.1:8080/simple',
      pip_trusted_host: '10.0.0.1:8080',
    };
    expect(vars(mirrors)).toMatchObject({ ...mirrors, yum_mirror_address: '' });
  });

  it('unset, they are false and empty, and our own keys are absent (the roles remove the mirrors)', () => {
    const v = vars({});
    expect(v).toMatchObject({ use_package_mirror: false, apt_mirror_address: '', use_pip_mirror: false, pip_mirror_address: '', pip_trusted_host: '' });
    expect(v).not.toHaveProperty('apt_security_mirror_address');
    expect(v).not.toHaveProperty('artifact_mirror');
  });

  it('passes the OpenStack pass-through keys and artifact_mirror too', () => {
    const v = vars({ virtual_network: 'net1', os_key_name: 'k1', floating_ip_pool: 'public', artifact_mirror: 'https://mirror.example.org/apache' });
    expect(v).toMatchObject({ virtual_network: 'net1', os_key_name: 'k1', floating_ip_pool: 'public', artifact_mirror: 'https://mirror.example.org/apache' });
  });
});
