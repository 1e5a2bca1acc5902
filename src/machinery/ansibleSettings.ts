// What of the configuration reaches the Ansible roles, for every provider that deploys with Ansible:
// the original's pass-through keys under the original's variable names (buildExtraVars writes them,
// "" / false when unset, as the original's launcher did), and our own keys under their config names.
import type { MichmanConfig } from '../config/schema.js';
import type { ExtraVarsSettings } from '../domain/extraVars.js';

const PASSED = [
  'os_key_name',
  'virtual_network',
  'floating_ip_pool',
  'use_package_mirror',
  'use_pip_mirror',
  'apt_mirror_address',
  'pip_mirror_address',
  'pip_trusted_host',
  'yum_mirror_address',
  'docker_insecure_registry',
  'docker_selfsigned_registry',
  'docker_gitlab_registry',
  'docker_insecure_registry_ip',
  'docker_selfsigned_registry_ip',
  'docker_selfsigned_registry_port',
  'docker_selfsigned_registry_url',
  'docker_cert_path',
] as const satisfies ReadonlyArray<keyof ExtraVarsSettings & keyof MichmanConfig>;

/** Keys of ours passed to the roles as they are named in the config. */
const OURS = ['artifact_mirror', 'apt_security_mirror_address'] as const satisfies ReadonlyArray<keyof MichmanConfig>;

export type AnsibleConfig = Partial<Pick<MichmanConfig, (typeof PASSED)[number] | (typeof OURS)[number]>>;

/** The original's settings for buildExtraVars (ExtraVarsInput.settings). */
export function ansibleSettings(config: AnsibleConfig): ExtraVarsSettings {
  const out: Record<string, unknown> = {};
  for (const k of PASSED) {
    const v = config[k];
    if (v !== undefined) out[k] = typeof v === 'string' ? v.trim() : v;
  }
  return out as ExtraVarsSettings;
}

/** Our own variables (absent when unset, so the roles' defaults apply). */
export function ourAnsibleVars(config: AnsibleConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of OURS) {
    const v = config[k]?.trim();
    if (v) out[k] = v;
  }
  return out;
}
