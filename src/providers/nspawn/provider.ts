// The `nspawn` provider (DESIGN.md "Providers and deployers"): a node is a systemd-nspawn container
// booted (-b, --volatile=overlay) from one shared debootstrap image, in a network namespace of its
// own joined to a host bridge by a veth pair, with sshd accepting the cluster's key. The host has no
// systemd to supervise containers, so each `systemd-nspawn` runs detached in its own session and is
// found again through its pid file (or a /proc scan for its node directory), like the local
// provider's processes: a restarted Michman neither orphans nor duplicates a node.
//
// State on disk, the provider's whole memory (`<dir>` = <data_dir>/nspawn):
//   clusters/<clusterId>/<node>/node.json        what was allocated (address, namespace, link, machine)
//                               nspawn.pid/.log  the container's nspawn process and its output
//                               authorized_keys  the cluster's public key, bind-mounted read-only
//                               apt-proxy.conf   apt's proxy setting, bind-mounted read-only
//   addresses/<ip> -> <clusterId>/<node>         address claims (symbolic links, created exclusively)
//   apt-cacher-ng/                               the apt cache on the bridge address
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { NodeRole } from '../../domain/topology.js';
import type { SecretStore } from '../../secrets/types.js';
import type { NodeSpec, ProvisionedNode, Provider, StepContext } from '../types.js';
import { abortError, findProcesses, isOurProcess, readPidFile, removeFile, sleep, spawnDetached, stopProcess, writePidFile, type ProcessIdentity } from '../../host/processes.js';
import { portOpen } from '../../host/net.js';
import { sshOptions } from '../../host/ssh.js';
import { Mutex } from '../../host/mutex.js';
import { AptCache } from './aptCache.js';
import { ArtifactCache } from './artifactCache.js';
import { ClusterKeys } from './clusterKeys.js';
import { PROGRAMS, findProgram, preflight, run } from '../../host/run.js';
import { NODE_APT_PROXY, NODE_AUTHORIZED_KEYS, ensureImage, hostAptSource, imagePath, imageReady, type ImageSpec } from './image.js';
import { bridgeName, hostLinkName, machineName, netnsName, netnsPrefix, nodeAddresses, parseNetwork, type Network } from './names.js';
import { bridgePorts, deleteLink, deleteNodeNetwork, ensureBridge, ensureNodeNetwork, linkExists, listNetns } from './network.js';

export interface NspawnProviderOptions {
  /** The provider's state directory (`<data_dir>/nspawn`). */
  dir: string;
  /** Where debootstrap images are cached (default `<dir>/images`); may be shared between data dirs. */
  imagesDir?: string;
  /** Where per-cluster SSH private keys are written for ssh (`<data_dir>/secrets`). */
  secretsDir: string;
  /** Keeps the key pairs (the files above are then copies made from it). */
  secretStore?: SecretStore;
  /** Private range of the bridge and the nodes (default 10.213.0.0/24). */
  network?: string;
  /** Debian mirror for debootstrap (default: the host's apt mirror). */
  mirror?: string;
  /** Debian suite of the image (default: the host's). */
  suite?: string;
  /** Run apt-cacher-ng on the bridge address for the nodes' apt (default true). */
  aptCache?: boolean;
  /**
   * Where the artifact cache keeps downloaded, checked files (default `<dir>/artifacts`; may be
   * shared between data directories). Served on the bridge address for roles that need files from
   * PyPI or Maven (spark).
   */
  artifactsDir?: string;
  /** How long a booted node may take to answer SSH (default 120 s). */
  bootTimeoutMs?: number;
}

export const DEFAULT_NSPAWN_NETWORK = '10.213.0.0/24';

interface NodeRecord {
  clusterId: string;
  name: string;
  role: NodeRole;
  address: string;
  machine: string;
  netns: string;
  hostLink: string;
  image: string;
  createdAt: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ROLES: readonly string[] = ['master', 'slave', 'storage', 'monitoring'];

function safeName(kind: string, value: string): string {
  if (!SAFE_NAME.test(value) || value.includes('..')) throw new Error(`nspawn provider: ${kind} '${value}' cannot be used as a directory name`);
  return value;
}

async function readRecord(path: string): Promise<NodeRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as Partial<NodeRecord>;
    if (typeof r.clusterId !== 'string' || typeof r.name !== 'string' || typeof r.address !== 'string') return undefined;
    if (typeof r.netns !== 'string' || typeof r.hostLink !== 'string' || typeof r.machine !== 'string') return undefined;
    if (typeof r.role !== 'string' || !ROLES.includes(r.role)) return undefined;
    return r as NodeRecord;
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

export class NspawnProvider implements Provider {
  readonly name = 'nspawn';
  readonly dir: string;
  readonly imagesDir: string;
  readonly net: Network;
  readonly bridge: string;
  readonly keys: ClusterKeys;
  readonly aptCache?: AptCache;
  readonly artifacts: ArtifactCache;
  private readonly opts: NspawnProviderOptions;
  private readonly hostLock = new Mutex();
  private imageSpec?: ImageSpec;

  constructor(opts: NspawnProviderOptions) {
    this.opts = opts;
    this.dir = resolve(opts.dir);
    this.imagesDir = resolve(opts.imagesDir ?? join(this.dir, 'images'));
    this.net = parseNetwork(opts.network ?? DEFAULT_NSPAWN_NETWORK);
    this.bridge = bridgeName(this.net.cidr);
    this.keys = new ClusterKeys(resolve(opts.secretsDir), opts.secretStore);
    if (opts.aptCache !== false) this.aptCache = new AptCache(join(this.dir, 'apt-cacher-ng'), this.net.gateway);
    this.artifacts = new ArtifactCache(resolve(opts.artifactsDir ?? join(this.dir, 'artifacts')), join(this.dir, 'artifact-cache'), this.net.gateway);
  }

  /** What this host lacks for the provider (root, packages), as sentences naming the fix. */
  problems(): Promise<string[]> {
    return preflight({ aptCache: this.aptCache !== undefined });
  }

  /** The apt proxy URL nodes use (for roles that configure apt themselves), if there is a cache. */
  aptProxyUrl(): string | undefined {
    return this.aptCache?.url;
  }

  async image(): Promise<ImageSpec> {
    if (!this.imageSpec) {
      const host = await hostAptSource();
      const mirror = this.opts.mirror ?? host.mirror ?? 'http://deb.debian.org/debian';
      const suite = this.opts.suite ?? host.suite ?? 'bookworm';
      // The host's sources file describes the host's suite; copied only when the image has that suite.
      const hostSources = suite === host.suite && !this.opts.mirror ? host.sourcesFile : undefined;
      this.imageSpec = { imagesDir: this.imagesDir, suite, mirror, ...(hostSources ? { hostSources } : {}) };
    }
    return this.imageSpec;
  }

  /** Builds the image unless a usable one is cached; returns its root directory. */
  async buildImage(log: (line: string) => void, signal?: AbortSignal): Promise<string> {
    return ensureImage(await this.image(), log, signal);
  }

  clusterDir(clusterId: string): string {
    return join(this.dir, 'clusters', safeName('cluster ID', clusterId));
  }

  nodeDir(clusterId: string, nodeName: string): string {
    return join(this.clusterDir(clusterId), safeName('node name', nodeName));
  }

  private async ready(ctx: StepContext): Promise<string> {
    const problems = await this.problems();
    if (problems.length > 0) throw new Error(problems.join('; '));
    const spec = await this.image();
    if (!(await imageReady(spec))) {
      ctx.emit({ level: 'info', phase: 'provision', message: `building the node image (${spec.suite}, debootstrap from ${spec.mirror}); done once per host` });
    }
    const root = await ensureImage(spec, (line) => ctx.emit({ level: 'info', phase: 'provision', message: line }), ctx.signal);
    await this.hostLock.run(async () => {
      await ensureBridge(this.bridge, this.net);
      if (this.aptCache) await this.aptCache.ensure(ctx.signal);
      await this.artifacts.ensure(ctx.signal);
    });
    return root;
  }

  async prepareCluster(ctx: StepContext): Promise<void> {
    await this.ready(ctx);
    await this.keys.ensure(ctx.clusterId);
  }

  // -------------------------------------------------------------------------------------------------
  // Addresses

  private claimPath(address: string): string {
    return join(this.dir, 'addresses', address);
  }

  private async claimOwner(address: string): Promise<string | undefined> {
    return readlink(this.claimPath(address)).catch(() => undefined);
  }

  private async claim(address: string, owner: string): Promise<boolean> {
    try {
      await symlink(owner, this.claimPath(address));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    return (await this.claimOwner(address)) === owner;
  }

  private async release(address: string, owner: string): Promise<void> {
    if ((await this.claimOwner(address)) === owner) await removeFile(this.claimPath(address));
  }

  // -------------------------------------------------------------------------------------------------
  // Nodes

  private identity(clusterId: string, nodeName: string): ProcessIdentity {
    return { programs: ['systemd-nspawn'], marker: this.nodeDir(clusterId, nodeName) };
  }

  /** Pid of the node's running nspawn, if any (pid file first, then a /proc scan). */
  async nspawnPid(clusterId: string, nodeName: string): Promise<number | undefined> {
    const id = this.identity(clusterId, nodeName);
    const pid = await readPidFile(join(this.nodeDir(clusterId, nodeName), 'nspawn.pid'));
    if (pid !== undefined && (await isOurProcess(pid, id))) return pid;
    return (await findProcesses(id))[0];
  }

  async ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode> {
    const root = await this.ready(ctx);
    const key = await this.keys.ensure(ctx.clusterId);
    const dir = this.nodeDir(ctx.clusterId, spec.name);
    const owner = `${ctx.clusterId}/${spec.name}`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(join(this.dir, 'addresses'), { recursive: true, mode: 0o755 });

    let rec = await readRecord(join(dir, 'node.json'));
    if (rec && !(await this.claim(rec.address, owner))) {
      throw new Error(`nspawn provider: address ${rec.address} of node ${spec.name} is claimed by ${await this.claimOwner(rec.address)}`);
    }
    if (!rec) {
      let address: string | undefined;
      for (const a of nodeAddresses(this.net, ctx.clusterId, spec.name)) {
        if (ctx.signal.aborted) throw abortError(ctx.signal);
        if (await this.claim(a, owner)) {
          address = a;
          break;
        }
      }
      if (!address) throw new Error(`nspawn provider: no free address left in ${this.net.cidr} (nspawn_network)`);
      rec = {
        clusterId: ctx.clusterId,
        name: spec.name,
        role: spec.role,
        address,
        machine: machineName(ctx.clusterId, spec.name),
        netns: netnsName(ctx.clusterId, spec.name),
        hostLink: hostLinkName(ctx.clusterId, spec.name),
        image: root,
        createdAt: new Date().toISOString(),
      };
      await writeAtomic(join(dir, 'node.json'), JSON.stringify(rec, null, 2) + '\n', 0o644);
    }

    await writeAtomic(join(dir, 'authorized_keys'), key.publicKey + '\n', 0o644);
    const proxy = this.aptCache ? `Acquire::http::Proxy "${this.aptCache.url}";\n` : '';
    await writeAtomic(join(dir, 'apt-proxy.conf'), proxy, 0o644);
    // No name server is reachable from the bridge. The host's resolv.conf (nspawn's default) would
    // make every lookup wait for timeouts (MariaDB's reverse lookup of a client took 10 s); with
    // none, glibc asks 127.0.0.1, which refuses at once. /etc/hosts names the cluster's nodes.
    await writeAtomic(join(dir, 'resolv.conf'), '# Michman nspawn node: no DNS on this network; /etc/hosts names the cluster nodes\noptions timeout:1 attempts:1\n', 0o644);
    await ensureNodeNetwork({ netns: rec.netns, hostLink: rec.hostLink, bridge: this.bridge, address: rec.address, net: this.net });

    const running = await this.nspawnPid(ctx.clusterId, spec.name);
    if (running === undefined) {
      const nspawn = await findProgram(...PROGRAMS.nspawn);
      if (!nspawn) throw new Error('the nspawn provider needs systemd-nspawn: apt-get install systemd-container');
      const child = await spawnDetached({
        program: nspawn,
        args: [
          `--directory=${root}`,
          '--volatile=overlay',
          '--boot',
          `--machine=${rec.machine}`,
          `--network-namespace-path=/run/netns/${rec.netns}`,
          // No machined on this host: nothing to register with, and no unit of our own to move to.
          '--register=no',
          '--keep-unit',
          '--console=read-only',
          `--bind-ro=${join(dir, 'authorized_keys')}:${NODE_AUTHORIZED_KEYS}`,
          `--bind-ro=${join(dir, 'apt-proxy.conf')}:${NODE_APT_PROXY}`,
          '--resolv-conf=off',
          // A server's open-file limit, not the host shell's: OpenSearch refuses to start below
          // 65535 when bound to a network address, Cassandra warns. nspawn cannot raise it above
          // the host's own hard limit where the host forbids that (this project's CI hosts: 20000).
          '--rlimit=RLIMIT_NOFILE=65536:524288',
          `--bind-ro=${join(dir, 'resolv.conf')}:/etc/resolv.conf`,
          // The storage node may serve NFS with NFS-Ganesha (the kernel here has no nfsd), whose VFS
          // backend opens files by handle; nspawn's default seccomp filter refuses open_by_handle_at
          // with EPERM. These containers run as the host's root without a user namespace, so they
          // are not a security boundary to begin with (see systemd-nspawn(1)).
          ...(rec.role === 'storage' ? ['--system-call-filter=open_by_handle_at'] : []),
        ],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_NSPAWN_TMPFS_TMP: '1' },
        cwd: dir,
        logPath: join(dir, 'nspawn.log'),
      });
      await writePidFile(join(dir, 'nspawn.pid'), child.pid);
      ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `container ${rec.machine} booting at ${rec.address} (namespace ${rec.netns})` });
    }
    return this.toNode(rec);
  }

  private toNode(rec: NodeRecord): ProvisionedNode {
    return { name: rec.name, role: rec.role, address: rec.address, providerId: `${rec.clusterId}/${rec.name}` };
  }

  async waitReachable(ctx: StepContext, node: ProvisionedNode): Promise<void> {
    const timeoutMs = this.opts.bootTimeoutMs ?? 120_000;
    const until = Date.now() + timeoutMs;
    const key = await this.keys.ensure(ctx.clusterId);
    const ssh = await findProgram(...PROGRAMS.ssh);
    if (!ssh) throw new Error('the nspawn provider needs ssh: apt-get install openssh-client');
    let last = 'sshd did not answer';
    for (;;) {
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      if ((await this.nspawnPid(ctx.clusterId, node.name)) === undefined) {
        const log = await readFile(join(this.nodeDir(ctx.clusterId, node.name), 'nspawn.log'), 'utf8').catch(() => '');
        const err = new Error(`nspawn provider: container of node ${node.name} is not running`);
        (err as Error & { output?: string }).output = log.slice(-2000);
        throw err;
      }
      if (await portOpen(node.address, 22, 1000)) {
        const r = await run(ssh, [...sshOptions(key.privateKeyFile), `root@${node.address}`, 'systemctl is-system-running --wait >/dev/null 2>&1; true'], {
          timeoutMs: 60_000,
          okCodes: [255],
          signal: ctx.signal,
        }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
        if (r.code === 0) {
          ctx.emit({ level: 'info', phase: 'reachable', node: node.name, message: `ssh root@${node.address} answers` });
          return;
        }
        last = r.stderr.trim().split('\n').slice(-1)[0] ?? `ssh exited with ${r.code}`;
      }
      if (Date.now() > until) throw new Error(`nspawn provider: node ${node.name} (${node.address}) not reachable by SSH within ${Math.round(timeoutMs / 1000)} s: ${last}`);
      await sleep(250, ctx.signal);
    }
  }

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name' | 'providerId'>): Promise<void> {
    const [idPart, namePart] = node.providerId.includes('/') ? node.providerId.split('/', 2) : [ctx.clusterId, node.name];
    const clusterId = idPart || ctx.clusterId;
    const name = namePart || node.name;
    await this.removeNode(clusterId, name, ctx);
    ctx.emit({ level: 'info', phase: 'delete', node: name, message: `container, namespace and link of node ${name} removed` });
  }

  /** Stops the container and removes its namespace, link, address claim and directory. */
  private async removeNode(clusterId: string, name: string, ctx?: StepContext): Promise<void> {
    const dir = this.nodeDir(clusterId, name);
    const rec = await readRecord(join(dir, 'node.json'));
    // Polite first: SIGTERM makes nspawn shut the guest down (about 2 s); then the process group.
    for (let i = 0; i < 3; i++) {
      const pid = await this.nspawnPid(clusterId, name);
      if (pid === undefined) break;
      const r = await stopProcess(pid, this.identity(clusterId, name), { signal: 'SIGTERM', timeoutMs: 20_000 });
      if (r === 'killed') ctx?.emit({ level: 'warn', phase: 'delete', node: name, message: `container of ${name} did not stop in 20 s; killed` });
    }
    // Names are deterministic, so a lost node.json still finds the namespace and the link.
    await deleteNodeNetwork({ netns: rec?.netns ?? netnsName(clusterId, name), hostLink: rec?.hostLink ?? hostLinkName(clusterId, name) });
    if (rec) await this.release(rec.address, `${clusterId}/${name}`);
    await rm(dir, { recursive: true, force: true });
    await rmdir(this.clusterDir(clusterId)).catch(() => undefined);
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    const cdir = this.clusterDir(ctx.clusterId);
    const names = await readdir(cdir).catch(() => [] as string[]);
    const nodes: ProvisionedNode[] = [];
    for (const n of names.sort()) {
      if (!SAFE_NAME.test(n)) continue;
      const rec = await readRecord(join(cdir, n, 'node.json'));
      if (rec && rec.clusterId === ctx.clusterId) nodes.push(this.toNode(rec));
    }
    return nodes;
  }

  /** IDs of every cluster with nodes on this host (for janitors and tests). */
  async clusterIds(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'clusters')).catch(() => [] as string[]);
    return names.filter((n) => SAFE_NAME.test(n)).sort();
  }

  /** What is left on the host of a cluster: containers, namespaces, links (the leak check). */
  async leftovers(clusterId: string): Promise<string[]> {
    const found: string[] = [];
    for (const ns of await listNetns()) if (ns.startsWith(netnsPrefix(clusterId))) found.push(`network namespace ${ns}`);
    const procs = await findProcesses({ programs: ['systemd-nspawn'], marker: this.clusterDir(clusterId) });
    for (const p of procs) found.push(`systemd-nspawn process ${p}`);
    const names = await readdir(this.clusterDir(clusterId)).catch(() => [] as string[]);
    for (const n of names) {
      if (!SAFE_NAME.test(n)) continue;
      found.push(`node directory ${n}`);
      if (await linkExists(hostLinkName(clusterId, n))) found.push(`link ${hostLinkName(clusterId, n)}`);
    }
    return found;
  }

  /**
   * After the nodes are deleted: sweep anything of the cluster still on the host (a node missing
   * from the plan, a crash mid-delete), forget its key, and when no cluster is left on this host,
   * stop the apt cache and remove the bridge: a host without nspawn clusters carries none of ours.
   */
  async cleanupCluster(ctx: StepContext): Promise<void> {
    const cdir = this.clusterDir(ctx.clusterId);
    for (const n of await readdir(cdir).catch(() => [] as string[])) {
      if (!SAFE_NAME.test(n)) continue;
      ctx.emit({ level: 'warn', phase: 'deprovision', node: n, message: `removing leftover node ${n}` });
      await this.removeNode(ctx.clusterId, n, ctx);
    }
    for (const ns of await listNetns()) {
      if (ns.startsWith(netnsPrefix(ctx.clusterId))) await run((await findProgram(...PROGRAMS.ip))!, ['netns', 'del', ns], { okCodes: [1] });
    }
    const left = await this.leftovers(ctx.clusterId);
    if (left.length > 0) throw new Error(`nspawn provider: cluster ${ctx.clusterId} still has ${left.join(', ')}`);
    await rmdir(cdir).catch(() => undefined);
    await this.keys.remove(ctx.clusterId);
    await this.hostLock.run(async () => {
      // Kept for another cluster, or for a port still on it: said, so a bridge that outlives its
      // clusters can be traced to what held it.
      const clusters = await readdir(join(this.dir, 'clusters')).catch(() => [] as string[]);
      const ports = clusters.length > 0 ? [] : await bridgePorts(this.bridge);
      if (clusters.length > 0 || ports.length > 0) {
        const why = clusters.length > 0 ? `cluster(s) ${clusters.join(', ')} still on this host` : `link(s) ${ports.join(', ')} still attached`;
        ctx.emit({ level: 'info', phase: 'deprovision', message: `bridge ${this.bridge} kept: ${why}` });
        return;
      }
      await this.aptCache?.stop();
      await this.artifacts.stop();
      await deleteLink(this.bridge);
    });
  }
}

export { imagePath };

export { sshOptions };
