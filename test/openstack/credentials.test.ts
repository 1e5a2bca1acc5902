// Credentials: clouds.yaml (password and application credential, named cloud, standard search via
// OS_CLIENT_CONFIG_FILE), the OS_* variables of every os_version, and errors that name the field.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromCloudsYaml, fromEnv, resolveCredentials, CredentialsError } from '../../src/providers/openstack/credentials.js';

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'michman-clouds-'));
  file = join(dir, 'clouds.yaml');
  writeFileSync(
    file,
    `clouds:
  testbed:
    auth:
      auth_url: http://127.0.0.1:5000
      username: admin
      password: adminpass
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:5000/v3/
      application_credential_id: abc
      application_credential_secret: xyz
  broken:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: admin
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clouds.yaml', () => {
  it('reads a password cloud, adds /v3 to the auth URL and keeps region and interface', () => {
    expect(fromCloudsYaml(file, 'testbed')).toMatchObject({
      authUrl: 'http://127.0.0.1:5000/v3',
      method: 'password',
      username: 'admin',
      projectName: 'admin',
      regionName: 'RegionOne',
      interface: 'internal',
    });
  });
  it('reads an application credential cloud', () => {
    expect(fromCloudsYaml(file, 'appcred')).toMatchObject({ authUrl: 'http://127.0.0.1:5000/v3', method: 'application_credential', applicationCredentialId: 'abc', interface: 'public' });
  });
  it('names the missing field, the cloud and the file, never a secret', () => {
    expect(() => fromCloudsYaml(file, 'broken')).toThrow(/broken: password is missing/);
    expect(() => fromCloudsYaml(file, 'nope')).toThrow(/no cloud named nope \(have: testbed, appcred, broken\)/);
    expect(() => fromCloudsYaml(join(dir, 'absent.yaml'), 'x')).toThrow(CredentialsError);
  });
  it('os_cloud or OS_CLOUD with the standard search path (OS_CLIENT_CONFIG_FILE first)', async () => {
    const src = resolveCredentials({}, { OS_CLOUD: 'testbed', OS_CLIENT_CONFIG_FILE: file });
    expect((await src()).username).toBe('admin');
    const explicit = resolveCredentials({ osCloud: 'appcred', cloudsFile: file }, {});
    expect((await explicit()).method).toBe('application_credential');
  });
});

describe('OS_* environment', () => {
  it('ussuri names', () => {
    expect(
      fromEnv({ OS_AUTH_URL: 'http://k:5000/v3', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_PROJECT_ID: 'pid', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_ID: 'default', OS_REGION_NAME: 'R', OS_INTERFACE: 'public' }),
    ).toMatchObject({ projectId: 'pid', projectDomainId: 'default', regionName: 'R' });
  });
  it('liberty names (tenant)', () => {
    expect(fromEnv({ OS_AUTH_URL: 'http://k:5000/v2.0', OS_USERNAME: 'u', OS_PASSWORD: 'p', OS_TENANT_NAME: 't', OS_TENANT_ID: 'tid' })).toMatchObject({
      authUrl: 'http://k:5000/v3',
      projectName: 't',
      projectId: 'tid',
    });
  });
  it('application credentials and clear errors', () => {
    expect(fromEnv({ OS_AUTH_URL: 'http://k/v3', OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: 'i', OS_APPLICATION_CREDENTIAL_SECRET: 's' }).method).toBe('application_credential');
    expect(() => fromEnv({})).toThrow(/OS_\* environment: auth_url is missing/);
    expect(() => fromEnv({ OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'hunter2' })).toThrow(/project_name/);
    try {
      fromEnv({ OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'hunter2' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});
