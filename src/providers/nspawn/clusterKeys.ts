// Per-cluster SSH keys: Michman (and Ansible) reach nspawn nodes as root with a key generated for
// the cluster, never one shared between clusters. The key pair is a secret of the secret store
// (`michman/clusters/<clusterId>/ssh`, keys private_key and public_key) when one is given; ssh needs
// a file, so the private half is also written to `<secrets dir>/clusters/<clusterId>/ssh_key`
// (0600, in a 0700 directory), rewritten from the store whenever missing. Without a store that
// file is the only copy. Only the public half ever leaves these files (it is bind-mounted into nodes).
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretStore } from '../../secrets/types.js';
import { PROGRAMS, findProgram, run } from '../../host/run.js';

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface ClusterKey {
  privateKeyFile: string;
  publicKey: string;
}

export class ClusterKeys {
  private readonly pending = new Map<string, Promise<ClusterKey>>();

  constructor(
    readonly secretsDir: string,
    private readonly store?: SecretStore,
  ) {}

  secretPath(clusterId: string): string {
    this.dir(clusterId);
    return `michman/clusters/${clusterId}/ssh`;
  }

  dir(clusterId: string): string {
    if (!SAFE.test(clusterId) || clusterId.includes('..')) throw new Error(`cluster ID '${clusterId}' cannot name a key directory`);
    return join(this.secretsDir, 'clusters', clusterId);
  }

  keyFile(clusterId: string): string {
    return join(this.dir(clusterId), 'ssh_key');
  }

  /** The cluster's key, generated (ed25519) on first use. Concurrent callers get the same key. */
  ensure(clusterId: string): Promise<ClusterKey> {
    let p = this.pending.get(clusterId);
    if (!p) {
      p = this.load(clusterId).finally(() => this.pending.delete(clusterId));
      this.pending.set(clusterId, p);
    }
    return p;
  }

  private async load(clusterId: string): Promise<ClusterKey> {
    const file = this.keyFile(clusterId);
    const have = await stat(file).catch(() => undefined);
    const pub = await readFile(`${file}.pub`, 'utf8').catch(() => undefined);
    if (have?.isFile() && pub) return { privateKeyFile: file, publicKey: pub.trim() };
    await mkdir(join(this.secretsDir, 'clusters'), { recursive: true, mode: 0o700 });
    await mkdir(this.dir(clusterId), { recursive: true, mode: 0o700 });
    let pair = await this.store?.get(this.secretPath(clusterId));
    if (!pair?.private_key || !pair.public_key) {
      pair = await generate(clusterId);
      await this.store?.put(this.secretPath(clusterId), pair);
    }
    await writeFile(`${file}.tmp`, pair.private_key!, { mode: 0o600 });
    await writeFile(`${file}.pub`, pair.public_key! + '\n', { mode: 0o644 });
    await rename(`${file}.tmp`, file);
    return { privateKeyFile: file, publicKey: pair.public_key!.trim() };
  }

  /** Forgets the cluster's key (after its nodes are gone). */
  async remove(clusterId: string): Promise<void> {
    await this.store?.delete(this.secretPath(clusterId));
    await rm(this.dir(clusterId), { recursive: true, force: true });
  }
}

/** A new ed25519 pair, made by ssh-keygen in a private scratch directory that is removed at once. */
async function generate(clusterId: string): Promise<{ private_key: string; public_key: string }> {
  const keygen = await findProgram(...PROGRAMS.sshKeygen);
  if (!keygen) throw new Error('cluster SSH keys need ssh-keygen: apt-get install openssh-client');
  const scratch = await mkdtemp(join(tmpdir(), 'michman-key-'));
  try {
    const f = join(scratch, 'key');
    await run(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', `michman-cluster-${clusterId}`, '-f', f], { timeoutMs: 15_000 });
    return { private_key: await readFile(f, 'utf8'), public_key: (await readFile(`${f}.pub`, 'utf8')).trim() };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
