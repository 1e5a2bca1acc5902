// The `local` provider (DESIGN.md "Providers and deployers"): a node is an address in 127.0.0.0/8
// plus a directory `<dataRoot>/<clusterId>/<nodeName>/`. The allocation is recorded in the node's
// `node.json`, and the address is claimed host-wide (host/addressClaims.ts: one directory for every
// Michman on the host, whatever its data directory) with an exclusive create, so parallel
// provisioning, other Michman instances on the host and restarts all agree on who owns which
// address. No database: the disk is the provider's whole state.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { chmod, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { NodeRole } from '../../domain/topology.js';
import type { NodeSpec, ProvisionedNode, Provider, StepContext } from '../types.js';
import { DEFAULT_ADDRESS_BASE, candidates, isLoopback, parseRange, type AddressRange } from './addresses.js';
import { readPidFile, removeFile, stopProcess } from '../../host/processes.js';
import { AddressClaims } from '../../host/addressClaims.js';

export interface LocalProviderOptions {
  /** Directory holding every local node (created if missing). */
  dataRoot: string;
  /** Range node addresses come from; must lie in 127.0.0.0/8. Default 127.77.0.0/16. */
  addressBase?: string;
  /** Where addresses are claimed; shared by every instance on the host (default: <tmpdir>/michman-addresses). */
  claimsDir?: string;
}

/** What `node.json` holds. */
export interface NodeRecord {
  clusterId: string;
  name: string;
  role: NodeRole;
  address: string;
  flavor: string;
  image: string;
  createdAt: string;
}

const NODE_FILE = 'node.json';
const LEGACY_CLAIMS_DIR = '.addresses';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ROLES: readonly string[] = ['master', 'slave', 'storage', 'monitoring'];

function safeName(kind: string, value: string): string {
  if (!SAFE_NAME.test(value) || value.includes('..')) {
    throw new Error(`local provider: ${kind} '${value}' cannot be used as a directory name`);
  }
  return value;
}

async function writeJsonAtomic(path: string, value: unknown, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  await rename(tmp, path);
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function asRecord(v: unknown): NodeRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.clusterId !== 'string' || typeof r.name !== 'string' || typeof r.address !== 'string') return undefined;
  if (!isLoopback(r.address) || typeof r.role !== 'string' || !ROLES.includes(r.role)) return undefined;
  return {
    clusterId: r.clusterId,
    name: r.name,
    role: r.role as NodeRole,
    address: r.address,
    flavor: typeof r.flavor === 'string' ? r.flavor : '',
    image: typeof r.image === 'string' ? r.image : '',
    createdAt: typeof r.createdAt === 'string' ? r.createdAt : '',
  };
}

/**
 * Creates a directory (and parents) that service users (postgres, mysql, ...) may pass through:
 * new ones get 0711, existing ones gain the search bits and keep the rest of their mode.
 */
async function mkdirSearchable(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o711 });
  const st = await stat(path);
  if ((st.mode & 0o011) !== 0o011) await chmod(path, (st.mode & 0o7777) | 0o011);
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  readonly dataRoot: string;
  private readonly range: AddressRange;
  readonly claims: AddressClaims;

  constructor(opts: LocalProviderOptions) {
    this.dataRoot = resolve(opts.dataRoot);
    this.range = parseRange(opts.addressBase ?? DEFAULT_ADDRESS_BASE);
    this.claims = new AddressClaims(opts.claimsDir === undefined ? undefined : resolve(opts.claimsDir));
  }

  clusterDir(clusterId: string): string {
    return join(this.dataRoot, safeName('cluster ID', clusterId));
  }

  nodeDir(clusterId: string, nodeName: string): string {
    return join(this.clusterDir(clusterId), safeName('node name', nodeName));
  }

  private toNode(rec: NodeRecord, dir: string): ProvisionedNode {
    return { name: rec.name, role: rec.role, address: rec.address, providerId: `${rec.clusterId}/${rec.name}`, dataDir: dir };
  }

  /** Claims `address` host-wide for the node; true if it is now (or already was) ours. */
  private claim(address: string, owner: { clusterId: string; node: string }): Promise<boolean> {
    return this.claims.claim(address, this.nodeDir(owner.clusterId, owner.node));
  }

  private release(address: string, owner: { clusterId: string; node: string }): Promise<void> {
    return this.claims.release(address, this.nodeDir(owner.clusterId, owner.node));
  }

  /** Before host-wide claims, each data directory kept its own in `.addresses/`; they go with their node. */
  private async releaseLegacy(address: string): Promise<void> {
    await removeFile(join(this.dataRoot, LEGACY_CLAIMS_DIR, address));
  }

  async ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode> {
    const dir = this.nodeDir(ctx.clusterId, spec.name);
    const owner = { clusterId: ctx.clusterId, node: spec.name };
    const existing = asRecord(await readJson(join(dir, NODE_FILE)));
    if (existing && existing.clusterId === ctx.clusterId && existing.name === spec.name) {
      // A restart (or a repeated step): the node is what we recorded. Re-assert the claim in case a
      // crash came between recording and claiming; a claim held by someone else is a real conflict.
      await this.claims.prepare();
      if (!(await this.claim(existing.address, owner))) {
        throw new Error(`local provider: address ${existing.address} of node ${spec.name} is claimed by another node`);
      }
      return this.toNode(existing, dir);
    }

    await mkdirSearchable(this.dataRoot);
    await this.claims.prepare();
    let address: string | undefined;
    for (const candidate of candidates(this.range, ctx.clusterId, spec.name)) {
      if (ctx.signal.aborted) throw new Error('local provider: provisioning aborted');
      if (await this.claim(candidate, owner)) {
        address = candidate;
        break;
      }
    }
    if (!address) throw new Error(`local provider: no free address left in ${formatRange(this.range)}`);

    await mkdirSearchable(this.clusterDir(ctx.clusterId));
    await mkdirSearchable(dir);
    await mkdirSearchable(join(dir, 'services'));
    const rec: NodeRecord = {
      clusterId: ctx.clusterId,
      name: spec.name,
      role: spec.role,
      address,
      flavor: spec.flavor,
      image: spec.image,
      createdAt: new Date().toISOString(),
    };
    await writeJsonAtomic(join(dir, NODE_FILE), rec, 0o644);
    ctx.emit({ level: 'info', phase: 'provision', node: spec.name, message: `local node ${spec.name} at ${address}, data in ${dir}` });
    return this.toNode(rec, dir);
  }

  async waitReachable(ctx: StepContext, node: ProvisionedNode): Promise<void> {
    if (!isLoopback(node.address)) throw new Error(`local provider: node ${node.name} has a non-loopback address ${node.address}`);
    const dir = node.dataDir ?? this.nodeDir(ctx.clusterId, node.name);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new Error(`local provider: data directory ${dir} of node ${node.name} is missing`);
    // Binding proves the kernel routes the address to this host (127.0.0.0/8 on `lo`).
    await new Promise<void>((ok, fail) => {
      const srv = createServer();
      srv.once('error', (e) => fail(new Error(`local provider: cannot bind ${node.address} for node ${node.name}: ${e.message}`)));
      srv.listen(0, node.address, () => srv.close(() => ok()));
    });
  }

  async deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name' | 'providerId'>): Promise<void> {
    const [idPart, namePart] = node.providerId.includes('/') ? node.providerId.split('/', 2) : [ctx.clusterId, node.name];
    const clusterId = idPart || ctx.clusterId;
    const name = namePart || node.name;
    const dir = this.nodeDir(clusterId, name);
    const rec = asRecord(await readJson(join(dir, NODE_FILE)).catch(() => undefined));
    // The deployer stops services first; this sweep is the safety net that keeps a skipped or
    // failed remove from leaving processes running on a directory that no longer exists.
    await this.stopLeftovers(dir, ctx, name);
    await rm(dir, { recursive: true, force: true });
    if (rec) {
      await this.release(rec.address, { clusterId, node: name });
      await this.releaseLegacy(rec.address);
    }
    await rmdir(this.clusterDir(clusterId)).catch(() => undefined); // only succeeds once empty
    ctx.emit({ level: 'info', phase: 'delete', node: name, message: `local node ${name} removed` });
  }

  private async stopLeftovers(dir: string, ctx: StepContext, nodeName: string): Promise<void> {
    const servicesDir = join(dir, 'services');
    const services = await readdir(servicesDir).catch(() => [] as string[]);
    for (const svc of services) {
      const files = await readdir(join(servicesDir, svc)).catch(() => [] as string[]);
      for (const f of files.filter((x) => x.endsWith('.pid'))) {
        const pid = await readPidFile(join(servicesDir, svc, f));
        if (pid === undefined) continue;
        const program = f.slice(0, -'.pid'.length);
        const r = await stopProcess(pid, { programs: [program], marker: dir }, { signal: 'SIGTERM', timeoutMs: 10_000 });
        if (r === 'stopped' || r === 'killed') {
          ctx.emit({ level: 'warn', phase: 'delete', node: nodeName, service: svc, message: `stopped leftover ${program} (pid ${pid})` });
        }
      }
    }
  }

  /** IDs of every cluster with nodes on disk, for a janitor comparing them with the database. */
  async listClusterIds(): Promise<string[]> {
    const names = await readdir(this.dataRoot, { withFileTypes: true }).catch(() => []);
    return names.filter((e) => e.isDirectory() && SAFE_NAME.test(e.name)).map((e) => e.name).sort();
  }

  async listNodes(ctx: StepContext): Promise<ProvisionedNode[]> {
    const cdir = this.clusterDir(ctx.clusterId);
    const names = await readdir(cdir).catch(() => [] as string[]);
    const nodes: ProvisionedNode[] = [];
    for (const n of names.sort()) {
      if (!SAFE_NAME.test(n)) continue;
      const rec = asRecord(await readJson(join(cdir, n, NODE_FILE)).catch(() => undefined));
      if (rec && rec.clusterId === ctx.clusterId) nodes.push(this.toNode(rec, join(cdir, n)));
    }
    return nodes;
  }
}

function formatRange(r: AddressRange): string {
  return `${[r.base >>> 24, (r.base >>> 16) & 255, (r.base >>> 8) & 255, r.base & 255].join('.')}/${r.prefix}`;
}
