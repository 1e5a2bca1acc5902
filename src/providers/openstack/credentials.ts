// Where OpenStack credentials come from: a named cloud in a standard clouds.yaml (os_cloud /
// os_clouds_file, or OS_CLOUD and the standard search paths), or the OS_* environment variables the
// original exported from Vault for each os_version (ussuri, stein, liberty names are all read).
// The seam for Vault is `CredentialSource`: anything that yields an `AuthConfig` on demand (the
// secrets store will provide one), so the provider never knows where secrets live.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export type AuthMethod = 'password' | 'application_credential';

export interface AuthConfig {
  authUrl: string;
  method: AuthMethod;
  username?: string;
  userId?: string;
  password?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  interface: 'public' | 'internal' | 'admin';
}

/** Yields credentials when the provider first authenticates (and again after a revoked token). */
export type CredentialSource = () => Promise<AuthConfig>;

export class CredentialsError extends Error {}

/** The standard clouds.yaml search order (openstacksdk's), after an explicit path. */
export function cloudsYamlPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.OS_CLIENT_CONFIG_FILE ? [env.OS_CLIENT_CONFIG_FILE] : []),
    resolve('clouds.yaml'),
    join(homedir(), '.config', 'openstack', 'clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ];
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

function normalise(a: Partial<AuthConfig>, where: string): AuthConfig {
  if (!a.authUrl) throw new CredentialsError(`${where}: auth_url is missing`);
  // Keystone v2.0 is gone from every supported cloud: a liberty-era /v2.0 URL means its /v3.
  let authUrl = a.authUrl.replace(/\/+$/, '').replace(/\/v2\.0$/, '');
  if (!/\/v3$/.test(authUrl)) authUrl += '/v3';
  const method: AuthMethod = a.method ?? (a.applicationCredentialSecret ? 'application_credential' : 'password');
  if (method === 'password') {
    if (!a.password) throw new CredentialsError(`${where}: password is missing`);
    if (!a.username && !a.userId) throw new CredentialsError(`${where}: username (or user_id) is missing`);
    if (!a.projectName && !a.projectId) throw new CredentialsError(`${where}: project_name (or project_id) is missing`);
  } else {
    if (!a.applicationCredentialSecret) throw new CredentialsError(`${where}: application_credential_secret is missing`);
    if (!a.applicationCredentialId && !(a.applicationCredentialName && (a.username || a.userId)))
      throw new CredentialsError(`${where}: application_credential_id (or application_credential_name with a user) is missing`);
  }
  const iface = (a.interface ?? 'public').replace(/URL$/, '') as AuthConfig['interface'];
  if (!['public', 'internal', 'admin'].includes(iface)) throw new CredentialsError(`${where}: interface must be public, internal or admin`);
  return { ...a, authUrl, method, interface: iface };
}

/** A named cloud of a clouds.yaml file. */
export function fromCloudsYaml(file: string, cloud: string): AuthConfig {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CredentialsError(`clouds.yaml ${file}: ${(err as NodeJS.ErrnoException).code ?? 'not valid YAML'}`);
  }
  const clouds = (doc as { clouds?: Record<string, unknown> } | null)?.clouds;
  const c = clouds?.[cloud] as Record<string, unknown> | undefined;
  if (!c) throw new CredentialsError(`clouds.yaml ${file}: no cloud named ${cloud} (have: ${Object.keys(clouds ?? {}).join(', ') || 'none'})`);
  const auth = (c.auth ?? {}) as Record<string, unknown>;
  const type = s(c.auth_type) ?? '';
  return normalise(
    {
      authUrl: s(auth.auth_url),
      method: /applicationcredential|application_credential/.test(type) ? 'application_credential' : undefined,
      username: s(auth.username),
      userId: s(auth.user_id),
      password: s(auth.password),
      userDomainName: s(auth.user_domain_name) ?? s(auth.domain_name),
      userDomainId: s(auth.user_domain_id) ?? s(auth.domain_id),
      projectName: s(auth.project_name) ?? s(auth.tenant_name),
      projectId: s(auth.project_id) ?? s(auth.tenant_id),
      projectDomainName: s(auth.project_domain_name) ?? s(auth.domain_name),
      projectDomainId: s(auth.project_domain_id) ?? s(auth.domain_id),
      applicationCredentialId: s(auth.application_credential_id),
      applicationCredentialName: s(auth.application_credential_name),
      applicationCredentialSecret: s(auth.application_credential_secret),
      regionName: s(c.region_name),
      interface: s(c.interface) as AuthConfig['interface'] | undefined,
    },
    `clouds.yaml ${file} cloud ${cloud}`,
  );
}

/** The OS_* variables (every name the original's ussuri, stein and liberty secrets used). */
export function fromEnv(env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const type = env.OS_AUTH_TYPE ?? '';
  return normalise(
    {
      authUrl: env.OS_AUTH_URL,
      method: /applicationcredential|application_credential/.test(type) ? 'application_credential' : undefined,
      username: env.OS_USERNAME,
      userId: env.OS_USER_ID,
      password: env.OS_PASSWORD,
      userDomainName: env.OS_USER_DOMAIN_NAME,
      userDomainId: env.OS_USER_DOMAIN_ID,
      projectName: env.OS_PROJECT_NAME ?? env.OS_TENANT_NAME,
      projectId: env.OS_PROJECT_ID ?? env.OS_TENANT_ID,
      projectDomainName: env.OS_PROJECT_DOMAIN_NAME,
      projectDomainId: env.OS_PROJECT_DOMAIN_ID,
      applicationCredentialId: env.OS_APPLICATION_CREDENTIAL_ID,
      applicationCredentialName: env.OS_APPLICATION_CREDENTIAL_NAME,
      applicationCredentialSecret: env.OS_APPLICATION_CREDENTIAL_SECRET,
      regionName: env.OS_REGION_NAME,
      interface: (env.OS_INTERFACE ?? env.OS_ENDPOINT_TYPE) as AuthConfig['interface'] | undefined,
    },
    'OS_* environment',
  );
}

/**
 * Picks the source the config asks for: os_cloud (or OS_CLOUD) names a cloud in os_clouds_file or
 * the first clouds.yaml found on the standard paths; with no cloud named, the OS_* variables.
 */
export function resolveCredentials(o: { osCloud?: string; cloudsFile?: string }, env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const cloud = o.osCloud ?? env.OS_CLOUD;
  if (cloud) {
    const file = o.cloudsFile ?? cloudsYamlPaths(env).find((p) => existsSync(p));
    if (!file) throw new CredentialsError(`os_cloud ${cloud}: no clouds.yaml found (looked in ${cloudsYamlPaths(env).join(', ')}); set os_clouds_file`);
    // Read once now so that a mistake shows at start-up, and again at each authentication so that a
    // rotated password in the file is picked up without a restart.
    fromCloudsYaml(file, cloud);
    return async () => fromCloudsYaml(file, cloud);
  }
  fromEnv(env);
  return async () => fromEnv(env);
}
