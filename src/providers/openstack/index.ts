// The OpenStack provider built from Michman's config: credentials (clouds.yaml or OS_*; a
// CredentialSource from the secrets store can be passed instead), the original's keys
// (virtual_network, floating_ip_pool with "None" = no floating IPs, os_key_name) and ours.
import { readFileSync } from 'node:fs';
import type { MichmanConfig } from '../../config/schema.js';
import { resolveCredentials, type CredentialSource } from './credentials.js';
import { Session } from './identity/session.js';
import { DEFAULT_HTTP } from './http.js';
import { OpenStackProvider } from './provider.js';

export { OpenStackProvider, type OpenStackOptions } from './provider.js';
export { Session } from './identity/session.js';
export { resolveCredentials, fromCloudsYaml, fromEnv, CredentialsError, type AuthConfig, type CredentialSource } from './credentials.js';
export { OpenStackError } from './http.js';

/** The original wrote the string "None" for "no floating IPs". */
export const floatingPool = (v: string | undefined): string | undefined => (!v || v === 'None' ? undefined : v);

export function openstackFromConfig(config: MichmanConfig, o: { credentials?: CredentialSource; env?: NodeJS.ProcessEnv } = {}): OpenStackProvider {
  if (!config.virtual_network) throw new Error("provider openstack needs 'virtual_network' (the tenant network name or ID)");
  // Vault (os_key) arrives with the secrets store; until then clouds.yaml or OS_* variables.
  const credentials = o.credentials ?? resolveCredentials({ osCloud: config.os_cloud, cloudsFile: config.os_clouds_file }, o.env);
  const session = new Session(credentials, { ...DEFAULT_HTTP, timeoutMs: config.os_request_timeout_seconds * 1000 });
  let sshPublicKey: string | undefined;
  if (config.os_ssh_public_key_file) {
    try {
      sshPublicKey = readFileSync(config.os_ssh_public_key_file, 'utf8').trim();
    } catch (err) {
      throw new Error(`os_ssh_public_key_file ${config.os_ssh_public_key_file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  return new OpenStackProvider({
    session,
    network: config.virtual_network,
    floatingIpPool: floatingPool(config.floating_ip_pool),
    keyName: config.os_key_name || undefined,
    sshPublicKey,
    onFailure: config.os_on_failure,
    reachability: config.os_reachability,
    serverGroupPolicy: config.os_server_group === 'none' ? undefined : config.os_server_group,
    storageVolumeGb: config.os_storage_volume_gb,
    ingressCidr: config.os_ingress_cidr,
  });
}
