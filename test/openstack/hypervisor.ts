// A test hypervisor for the OpenStack testbed: Nova's fake driver reports servers ACTIVE but runs
// nothing, so this stands in for the compute host. It watches Nova (all projects, as admin) and, for
// every ACTIVE server with a Neutron port in its network, boots a systemd-nspawn machine from the
// nspawn provider's cached Debian image, on its own bridge, at the port's fixed address. At first
// boot the machine does what cloud-init does on a cloud image: new SSH host keys of its own, the
// image's default user (Glance property os_admin_user, else `debian`) with passwordless sudo and the
// server's Nova key pair in its authorized_keys, and apt through a proxy (apt-cacher-ng on the
// bridge: the machine reaches nothing else). Root cannot log in. When the server leaves Nova, the
// machine goes. Michman knows nothing of this: it sees Nova servers and SSH answering at their
// ports' addresses.
//
// Reuses the nspawn provider's pieces: the image (image.ts), the bridge and per-machine namespaces
// (network.ts), the apt cache (aptCache.ts), and detached processes with pid files (host/).
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Session } from '../../src/providers/openstack/identity/session.js';
import { findProcesses, isOurProcess, readPidFile, spawnDetached, stopProcess, writePidFile, type ProcessIdentity } from '../../src/host/processes.js';
import { PROGRAMS, findProgram } from '../../src/host/run.js';
import { NODE_APT_PROXY, NODE_AUTHORIZED_KEYS } from '../../src/providers/nspawn/image.js';
import { parseIPv4, parseNetwork, type Network } from '../../src/providers/nspawn/names.js';
import { deleteLink, deleteNodeNetwork, ensureBridge, ensureNodeNetwork } from '../../src/providers/nspawn/network.js';
import { AptCache } from '../../src/providers/nspawn/aptCache.js';

export interface HypervisorOptions {
  /** Admin session on the testbed (servers of every project, key pairs of every user). */
  admin: Session;
  /** The nspawn provider's image root (ensureImage / provider.buildImage). */
  imageRoot: string;
  /** State: one directory per server (pid file, log, seed files). */
  dir: string;
  /** Where the apt cache keeps packages (kept between runs: warm runs download nothing). */
  aptCacheDir: string;
  /** The bridge's range; its first address is the host's. Servers with a port elsewhere are ignored. */
  cidr: string;
  bridge: string;
  /** Prefix of namespaces and host links (at most 5 characters). */
  prefix: string;
  log?: (line: string) => void;
}

interface NovaServer {
  id: string;
  name: string;
  status: string;
  key_name?: string | null;
  user_id: string;
  image?: { id?: string } | string;
}

export interface Machine {
  serverId: string;
  name: string;
  address: string;
  user: string;
  dir: string;
}

const SEED = '/var/lib/michman-testbed-seed';

/** What cloud-init does at first boot, as a script run before sshd starts (once per boot). */
function initScript(user: string): string {
  return `#!/bin/sh
# Written by the testbed's hypervisor (test/openstack/hypervisor.ts): cloud-init's first boot.
set -e
[ -e /run/michman-testbed-seed.done ] && exit 0
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null
id -u ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash -G sudo ${user}
install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh
install -m 600 -o ${user} -g ${user} ${SEED}/authorized_keys /home/${user}/.ssh/authorized_keys
echo '${user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users
chmod 440 /etc/sudoers.d/90-cloud-init-users
grep -q " $(hostname)\$" /etc/hosts || echo "127.0.1.1 $(hostname)" >> /etc/hosts
touch /run/michman-testbed-seed.done
`;
}

const SSH_DROPIN = `[Service]\nExecStartPre=/bin/sh ${SEED}/init.sh\n`;

export class TestHypervisor {
  readonly net: Network;
  readonly aptCache: AptCache;
  private readonly machines = new Map<string, Machine>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Failures of the last rounds (a machine that would not start), for the test's messages. */
  readonly errors: string[] = [];

  constructor(private readonly o: HypervisorOptions) {
    this.net = parseNetwork(o.cidr);
    this.aptCache = new AptCache(o.aptCacheDir, this.net.gateway);
  }

  private log(line: string): void {
    this.o.log?.(`[hypervisor] ${line}`);
  }

  private shortId(serverId: string): string {
    return createHash('sha256').update(serverId).digest('hex').slice(0, 8);
  }

  private netns(serverId: string): string {
    return `${this.o.prefix}-${this.shortId(serverId)}`;
  }

  private hostLink(serverId: string): string {
    return `${this.o.prefix}h${this.shortId(serverId)}`.slice(0, 15);
  }

  private identity(serverId: string): ProcessIdentity {
    return { programs: ['systemd-nspawn'], marker: join(this.o.dir, serverId) };
  }

  async start(everyMs = 1000): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    await ensureBridge(this.o.bridge, this.net);
    await this.aptCache.ensure();
    const tick = () => {
      if (this.stopped) return;
      this.round = this.sync()
        .catch((e: Error) => {
          this.errors.push(e.message);
          this.log(`round failed: ${e.message}`);
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, everyMs);
        });
    };
    tick();
  }

  /** Machines running now, by server name. */
  list(): Machine[] {
    return [...this.machines.values()];
  }

  machine(name: string): Machine | undefined {
    return this.list().find((m) => m.name === name);
  }

  /** Waits for the round under way: after it, list() reflects Nova as of that round. */
  async settled(): Promise<void> {
    await this.round;
  }

  /** One pass: machines for new ACTIVE servers, none for servers that left Nova. */
  async sync(): Promise<void> {
    const servers = await this.o.admin.requestAll<NovaServer>('compute', '/servers/detail?all_tenants=1', 'servers', { signal: AbortSignal.timeout(60_000) });
    const active = new Map(servers.filter((s) => s.status === 'ACTIVE').map((s) => [s.id, s]));
    for (const id of [...this.machines.keys()]) {
      if (!active.has(id)) await this.remove(id);
    }
    for (const s of active.values()) {
      if (this.machines.has(s.id)) continue;
      try {
        const m = await this.boot(s);
        if (m) this.machines.set(s.id, m);
      } catch (e) {
        this.errors.push(`${s.name}: ${(e as Error).message}`);
        this.log(`${s.name}: ${(e as Error).message}`);
      }
    }
  }

  private async addressOf(serverId: string): Promise<string | undefined> {
    const ports = await this.o.admin.requestAll<{ fixed_ips: Array<{ ip_address: string }> }>('network', `/ports?device_id=${encodeURIComponent(serverId)}`, 'ports');
    for (const p of ports) {
      for (const ip of p.fixed_ips) {
        const n = parseIPv4(ip.ip_address);
        if (n !== undefined && n >>> (32 - this.net.prefix) === this.net.base >>> (32 - this.net.prefix)) return ip.ip_address;
      }
    }
    return undefined;
  }

  private async loginUser(server: NovaServer): Promise<string> {
    const imageId = typeof server.image === 'object' ? server.image?.id : undefined;
    if (!imageId) return 'debian';
    const image = await this.o.admin.request<Record<string, unknown>>('image', 'GET', `/images/${imageId}`).catch(() => ({}) as Record<string, unknown>);
    const u = image.os_admin_user;
    return typeof u === 'string' && /^[a-z_][a-z0-9_-]{0,31}$/.test(u) ? u : 'debian';
  }

  private async publicKey(server: NovaServer): Promise<string> {
    if (!server.key_name) return '';
    const r = await this.o.admin.request<{ keypair: { public_key: string } }>(
      'compute',
      'GET',
      `/os-keypairs/${encodeURIComponent(server.key_name)}?user_id=${encodeURIComponent(server.user_id)}`,
    );
    return r.keypair.public_key.trim();
  }

  private async boot(s: NovaServer): Promise<Machine | undefined> {
    const address = await this.addressOf(s.id);
    if (!address) return undefined; // not on our network: another test's server
    const dir = join(this.o.dir, s.id);
    const user = await this.loginUser(s);
    const key = await this.publicKey(s);
    await mkdir(join(dir, 'seed'), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'seed', 'authorized_keys'), key ? `${key}\n` : '', { mode: 0o644 });
    await writeFile(join(dir, 'seed', 'init.sh'), initScript(user), { mode: 0o755 });
    await writeFile(join(dir, 'ssh-dropin.conf'), SSH_DROPIN, { mode: 0o644 });
    await writeFile(join(dir, 'root-keys'), '', { mode: 0o644 });
    await writeFile(join(dir, 'apt-proxy.conf'), `Acquire::http::Proxy "${this.aptCache.url}";\n`, { mode: 0o644 });
    await writeFile(join(dir, 'resolv.conf'), 'options timeout:1 attempts:1\n', { mode: 0o644 });
    await writeFile(join(dir, 'server.json'), JSON.stringify({ id: s.id, name: s.name, address, user }) + '\n');
    const netns = this.netns(s.id);
    const hostLink = this.hostLink(s.id);
    await ensureNodeNetwork({ netns, hostLink, bridge: this.o.bridge, address, net: this.net });
    const pid = await readPidFile(join(dir, 'nspawn.pid'));
    if (pid === undefined || !(await isOurProcess(pid, this.identity(s.id)))) {
      const nspawn = await findProgram(...PROGRAMS.nspawn);
      if (!nspawn) throw new Error('systemd-nspawn is missing: apt-get install systemd-container');
      const child = await spawnDetached({
        program: nspawn,
        args: [
          `--directory=${this.o.imageRoot}`,
          '--volatile=overlay',
          '--boot',
          `--machine=${s.name}`,
          `--network-namespace-path=/run/netns/${netns}`,
          '--register=no',
          '--keep-unit',
          '--console=read-only',
          // The image lets root in with the keys of this file: none here, as on a cloud image.
          `--bind-ro=${join(dir, 'root-keys')}:${NODE_AUTHORIZED_KEYS}`,
          `--bind-ro=${join(dir, 'apt-proxy.conf')}:${NODE_APT_PROXY}`,
          `--bind-ro=${join(dir, 'seed')}:${SEED}`,
          `--bind-ro=${join(dir, 'ssh-dropin.conf')}:/etc/systemd/system/ssh.service.d/10-michman-testbed-seed.conf`,
          '--resolv-conf=off',
          `--bind-ro=${join(dir, 'resolv.conf')}:/etc/resolv.conf`,
        ],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_NSPAWN_TMPFS_TMP: '1' },
        cwd: dir,
        logPath: join(dir, 'nspawn.log'),
      });
      await writePidFile(join(dir, 'nspawn.pid'), child.pid);
      this.log(`server ${s.name} (${s.id}) ACTIVE: machine booting at ${address}, login user ${user}`);
    }
    return { serverId: s.id, name: s.name, address, user, dir };
  }

  private async pidOf(serverId: string): Promise<number | undefined> {
    const pid = await readPidFile(join(this.o.dir, serverId, 'nspawn.pid'));
    if (pid !== undefined && (await isOurProcess(pid, this.identity(serverId)))) return pid;
    return (await findProcesses(this.identity(serverId)))[0];
  }

  /** The machine's init (PID 1 inside), for commands run inside it as its root. */
  private async initPid(serverId: string): Promise<number> {
    const pid = await this.pidOf(serverId);
    if (pid === undefined) throw new Error(`no machine for server ${serverId}`);
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    if (!children[0]) throw new Error(`machine of server ${serverId} has no init yet`);
    return children[0];
  }

  /** Runs a shell command inside the machine (the console a cloud would give its operator). */
  async exec(name: string, command: string): Promise<string> {
    const m = this.machine(name);
    if (!m) throw new Error(`no machine named ${name}`);
    const init = await this.initPid(m.serverId);
    return execFileSync('nsenter', ['-t', String(init), '-m', '-u', '-i', '-n', '-p', '--', '/bin/sh', '-c', command], { encoding: 'utf8', timeout: 60_000 });
  }

  private async remove(serverId: string): Promise<void> {
    const m = this.machines.get(serverId);
    for (let i = 0; i < 3; i++) {
      const pid = await this.pidOf(serverId);
      if (pid === undefined) break;
      await stopProcess(pid, this.identity(serverId), { signal: 'SIGTERM', timeoutMs: 20_000 });
    }
    await deleteNodeNetwork({ netns: this.netns(serverId), hostLink: this.hostLink(serverId) });
    await rm(join(this.o.dir, serverId), { recursive: true, force: true });
    this.machines.delete(serverId);
    this.log(`server ${m?.name ?? serverId} gone: machine removed`);
  }

  /** Stops watching; removes every machine, the apt cache process and the bridge. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round.catch(() => undefined);
    const ids = new Set([...this.machines.keys(), ...(await readdir(this.o.dir).catch(() => [] as string[]))]);
    for (const id of ids) await this.remove(id);
    await this.aptCache.stop();
    await deleteLink(this.o.bridge);
  }

  /** Machines (nspawn processes, namespaces) still on the host: the leak check. */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const id of await readdir(this.o.dir).catch(() => [] as string[])) out.push(`machine directory ${id}`);
    const procs = await findProcesses({ programs: ['systemd-nspawn'], marker: this.o.dir });
    for (const p of procs) out.push(`systemd-nspawn ${p}`);
    return out;
  }
}
