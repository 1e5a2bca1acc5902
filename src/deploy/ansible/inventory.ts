// The Ansible inventory of a cluster, with the original's groups (<C>_master, <C>_slaves, <C>_storage,
// <C>_monitoring; reference launcher-services §1.8.1, §2.1). Every group is declared even when empty,
// so roles can read groups['<C>_storage'] without guarding. Pure.
import type { ProvisionedNode } from '../../domain/nodes.js';

const GROUP_OF: Record<string, string> = { master: 'master', slave: 'slaves', storage: 'storage', monitoring: 'monitoring' };

// INI values are split on whitespace; node names and addresses never contain any, but a path might.
function iniValue(v: string): string {
  if (/^[A-Za-z0-9_./:@=+,-]+$/.test(v)) return v;
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `user`: who Ansible logs in as; any other user than root escalates (sudo) for every task.
 * `knownHostsFile`: the nodes' pinned host keys (cloud servers), which ssh then insists on; without
 * it (machines Michman builds itself) host keys are not checked.
 */
export function buildInventory(clusterName: string, nodes: readonly ProvisionedNode[], keyFile: string, user = 'root', knownHostsFile?: string): string {
  const lines: string[] = [];
  for (const role of ['master', 'slave', 'storage', 'monitoring']) {
    lines.push(`[${clusterName}_${GROUP_OF[role]}]`);
    for (const n of nodes.filter((x) => x.role === role).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) {
      lines.push(
        [
          n.name,
          `ansible_host=${iniValue(n.address)}`,
          `ansible_user=${iniValue(user)}`,
          ...(user === 'root' ? [] : ['ansible_become=true']),
          `ansible_ssh_private_key_file=${iniValue(keyFile)}`,
          `michman_node_name=${iniValue(n.name)}`,
        ].join(' '),
      );
    }
    lines.push('');
  }
  lines.push('[all:vars]');
  lines.push(
    knownHostsFile
      ? `ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile} -o GlobalKnownHostsFile=/dev/null'`
      : "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
  );
  lines.push('');
  return lines.join('\n');
}
