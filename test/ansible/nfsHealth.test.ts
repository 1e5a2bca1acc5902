// The Ansible deployer's nfs_server health check, against ONC RPC servers on loopback addresses of
// this host that answer as NFS-Ganesha does (record-marked replies, the answer split over two
// fragments, MOUNT v3 EXPORT's linked lists): healthy only when NFS answers NULL on v3 and v4,
// nfs-ls on the storage node (here a stand-in for ssh) reads the shared directory and NFS-Ganesha
// says over D-Bus that its grace period is over; the detail says what refused.
// (The e2e test in test/nspawn/nfs.test.ts checks the same against the real NFS-Ganesha.)
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { checkHealth, GANESHA_GET_GRACE, type HealthInput } from '../../src/deploy/ansible/health.js';
import { mountExports } from '../../src/deploy/ansible/nfsRpc.js';
import type { ProvisionedNode } from '../../src/providers/types.js';

const storage: ProvisionedNode = { name: 'h-storage', role: 'storage', address: '127.215.17.1', providerId: 'x' };
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const xdrString = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s), Buffer.alloc((4 - (Buffer.byteLength(s) % 4)) % 4)]);

/** An RPC server: `answer(program, version, procedure)` gives the result bytes, or an accept_stat number to refuse. */
function rpcServer(port: number, answer: (prog: number, vers: number, proc: number) => Buffer | number): Promise<void> {
  const server = createServer((sock) => {
    sockets.add(sock);
    let got = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (got.length < 4) return;
      const len = got.readUInt32BE(0) & 0x7fffffff;
      if (got.length < 4 + len) return;
      const call = got.subarray(4, 4 + len);
      got = got.subarray(4 + len);
      const [xid, , , prog, vers, proc] = [0, 1, 2, 3, 4, 5].map((i) => call.readUInt32BE(i * 4)) as [number, number, number, number, number, number];
      const a = answer(prog, vers, proc);
      const reply = Buffer.concat([u32(xid), u32(1), u32(0), u32(0), u32(0), ...(typeof a === 'number' ? [u32(a)] : [u32(0), a])]);
      // Two fragments, the second one last, as a server may send a long reply.
      const cut = 8;
      sock.write(Buffer.concat([u32(cut), reply.subarray(0, cut), u32(0x80000000 | (reply.length - cut)), reply.subarray(cut)]));
    });
  });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, storage.address, () => resolve());
  });
}

const exportsList = (entries: Array<[string, string[]]>) =>
  Buffer.concat([...entries.flatMap(([dir, groups]) => [u32(1), xdrString(dir), ...groups.flatMap((g) => [u32(1), xdrString(g)]), u32(0)]), u32(0)]);

/** NFS (100003) v3/v4 NULL and MOUNT (100005) v3 EXPORT, like NFS-Ganesha with one export. */
async function ganeshaLike(entries: Array<[string, string[]]>, nfsVersions = [3, 4]): Promise<void> {
  await rpcServer(2049, (prog, vers, proc) => (prog === 100003 && proc === 0 ? (nfsVersions.includes(vers) ? Buffer.alloc(0) : 2) : 1));
  await rpcServer(20048, (prog, vers, proc) => (prog === 100005 && vers === 3 && proc === 5 ? exportsList(entries) : 1));
}

const commands: string[] = [];
/** dbus-send --print-reply's output for NFS-Ganesha's admin get_grace. */
const graceReply = (inGrace: boolean) =>
  `method return time=1796353199.592929 sender=:1.8 -> destination=:1.9 serial=155 reply_serial=2\n   boolean ${inGrace}\n   boolean true\n   string "get grace success"\n`;
type Answer = { code: number; stdout: string; stderr: string };
const input = (params: Record<string, string> = {}, ls: Answer = { code: 0, stdout: '.\n', stderr: '' }, grace: Answer = { code: 0, stdout: graceReply(false), stderr: '' }): HealthInput => ({
  type: 'nfs_server',
  nodes: [storage],
  params,
  accessPort: 0,
  ssh: async (_n, command) => {
    commands.push(command);
    return command === GANESHA_GET_GRACE ? grace : ls;
  },
  clusterNodes: [storage],
});

describe('nfs_server health check (ONC RPC from the host, nfs-ls on the node)', () => {
  it('reads MOUNT v3 export lists with their client groups', async () => {
    await ganeshaLike([['/var/shared_dir', ['10.0.0.2', '10.0.0.3']], ['/srv/x', []]]);
    expect(await mountExports(storage.address, 20048)).toEqual([
      { dir: '/var/shared_dir', groups: ['10.0.0.2', '10.0.0.3'] },
      { dir: '/srv/x', groups: [] },
    ]);
  });

  it('is healthy when NFS answers NULL on v3 and v4, nfs-ls on the node reads the shared directory and the grace period is over', async () => {
    await ganeshaLike([['/data/share', ['10.0.0.2']]]);
    commands.length = 0;
    const r = await checkHealth(input({ dir_to_share: '/data/share' }));
    expect(r.healthy, r.detail).toBe(true);
    expect(commands).toEqual(["nfs-ls 'nfs://127.215.17.1/data/share'", GANESHA_GET_GRACE]);
    expect(r.detail).toBe('h-storage: NFS v3+v4 NULL answered at 127.215.17.1:2049; nfs-ls nfs://127.215.17.1/data/share lists the export; NFS-Ganesha is out of its grace period');
  });

  it('is unhealthy while NFS-Ganesha is in its grace period (it answers writes NFS3ERR_JUKEBOX then)', async () => {
    await ganeshaLike([['/var/shared_dir', ['10.0.0.2']]]);
    const r = await checkHealth(input({}, undefined, { code: 0, stdout: graceReply(true), stderr: '' }));
    expect(r.healthy).toBe(false);
    expect(r.detail).toBe('h-storage: NFS v3+v4 NULL answered at 127.215.17.1:2049; nfs-ls nfs://127.215.17.1/var/shared_dir lists the export, but NFS-Ganesha is in its grace period (writes are answered "try later" until it ends)');
  });

  it('is unhealthy when NFS-Ganesha does not answer get_grace over D-Bus, with the error', async () => {
    await ganeshaLike([['/var/shared_dir', ['10.0.0.2']]]);
    const err = 'Error org.freedesktop.DBus.Error.ServiceUnknown: The name org.ganesha.nfsd was not provided by any .service files';
    const r = await checkHealth(input({}, undefined, { code: 1, stdout: '', stderr: err }));
    expect(r.healthy).toBe(false);
    expect(r.detail).toBe(`h-storage: NFS v3+v4 NULL answered at 127.215.17.1:2049; nfs-ls nfs://127.215.17.1/var/shared_dir lists the export, but NFS-Ganesha's get_grace over D-Bus exited with 1: ${err}`);
  });

  it('is unhealthy when nfs-ls cannot read the export, with its error', async () => {
    await ganeshaLike([]);
    const r = await checkHealth(input({}, { code: 10, stdout: '', stderr: 'Failed to mount nfs share : mount_cb: RPC error: Mount failed with error MNT3ERR_ACCES(13)' }));
    expect(r.healthy).toBe(false);
    expect(r.detail).toBe('h-storage: NFS v3+v4 NULL answered at 127.215.17.1:2049, but nfs-ls nfs://127.215.17.1/var/shared_dir exited with 10: Failed to mount nfs share : mount_cb: RPC error: Mount failed with error MNT3ERR_ACCES(13)');
  });

  it('is unhealthy when NFS v4 is not served, naming the RPC refusal', async () => {
    await ganeshaLike([['/var/shared_dir', []]], [3]);
    const r = await checkHealth(input());
    expect(r.healthy).toBe(false);
    expect(r.detail).toBe('h-storage: NFS at 127.215.17.1:2049: RPC call not accepted: PROG_MISMATCH');
  });

  it('is unhealthy when nothing listens', async () => {
    const r = await checkHealth(input());
    expect(r.healthy).toBe(false);
    expect(r.detail).toMatch(/^h-storage: NFS at 127\.215\.17\.1:2049: .*ECONNREFUSED/);
  });
});
