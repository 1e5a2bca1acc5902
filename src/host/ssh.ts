// How Michman runs ssh to a node: a per-cluster key, no interaction, no host key memory.

/** ssh options for the cluster key: nodes are rebuilt with new host keys, so none are remembered. */
export function sshOptions(keyFile: string): string[] {
  return [
    '-i',
    keyFile,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=5',
  ];
}
