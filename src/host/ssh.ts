// How Michman runs ssh to a node: a per-cluster key, no interaction. Host keys: machines Michman
// builds itself (nspawn) are rebuilt with new host keys under the same address, so none are
// remembered; cloud servers are checked against the keys pinned at first contact (knownHostsFile).

/** ssh options for the cluster key; with `knownHostsFile`, the host must present a key listed there. */
export function sshOptions(keyFile: string, knownHostsFile?: string): string[] {
  return [
    '-i',
    keyFile,
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    knownHostsFile ? 'StrictHostKeyChecking=yes' : 'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${knownHostsFile ?? '/dev/null'}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=5',
  ];
}

/** Quotes a command for a remote POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command as `user` runs it as root: itself for root, through sudo (no password) otherwise. */
export function asRoot(user: string, command: string): string {
  return user === 'root' ? command : `sudo -n -- sh -c ${shellQuote(command)}`;
}
