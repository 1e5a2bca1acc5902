// Which service types each deployer can put on machines, read from the same things the deployers
// act on: the local deployer's service modules and the Ansible roles in ansible/roles. README's
// table of services is generated from here (src/readme.ts), so no hand-kept list can drift.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_SERVICE_MODULES } from './local/deployer.js';

/** Roles that are not service types: every node's preparation and the cluster's monitoring. */
const NOT_SERVICES = new Set(['base', 'monitoring']);

/** Catalog types whose own name has an underscore: their role directory is the whole name, not `<type>_<part>`. */
const UNDERSCORED_TYPES = new Set(['nfs_server']);

/** Service types of role directories (`<type>` or `<type>_<part>`), as AnsibleDeployer.check reads them. */
export function typesOfRoles(roles: readonly string[]): string[] {
  return [...new Set(roles.map((r) => (UNDERSCORED_TYPES.has(r) ? r : r.split('_')[0]!)))].filter((t) => !NOT_SERVICES.has(t)).sort();
}

/** Whether a role directory serves `type` (exactly, or as one of its parts). */
export const roleServes = (role: string, type: string): boolean => role === type || role.startsWith(`${type}_`);

/** Service types with an Ansible role under `ansibleDir` (nspawn and OpenStack). */
export function ansibleServiceTypes(ansibleDir: string): string[] {
  const dir = join(ansibleDir, 'roles');
  if (!existsSync(dir)) return [];
  return typesOfRoles(readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
}

/** Service types the local provider runs as processes of this host. */
export function localServiceTypes(): string[] {
  return LOCAL_SERVICE_MODULES.map((m) => m.type).sort();
}
