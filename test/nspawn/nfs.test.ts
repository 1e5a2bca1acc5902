// NFS on nspawn, end to end through the API, the engine and the real nfs_server and slurm roles: a
// master, two slaves and the storage node with Slurm 22.05-nfs and nfs_server (NFS-Ganesha, a
// userspace server: this host's kernel has no nfsd) reach ACTIVE, the health check having seen the
// export (NFS NULL v3/v4 from the host, nfs-ls on the storage node). A file written through the export on
// one slave is read on the other, by hand and by Slurm jobs (srun on slave-1 writes, srun on slave-2
// reads). Where the kernel has an NFS client, the Slurm nodes mount the export at /home and the jobs
// use plain files there; where it has none (this host: no nfs in /proc/filesystems, no modules), the
// role says so and the jobs go through libnfs's userspace client. Right after NFS-Ganesha restarts,
// a write through the export succeeds (no grace period held when no client has state to reclaim:
// NFS3ERR_JUKEBOX, which libnfs does not retry, broke the writes before). A second apply changes nothing;
// the role's remove path leaves nothing; delete leaves nothing.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { mountExports, rpcCall, NFS_PROGRAM } from '../../src/deploy/ansible/nfsRpc.js';
import { GANESHA_GET_GRACE } from '../../src/deploy/ansible/health.js';
import { IMAGES_DIR, applyAgain, e2eApi, nothingLeftOf, nspawnMissing, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_NFS_NETWORK ?? '10.214.17.0/24';
const SHARE = '/var/shared_dir';
/** The nodes run this host's kernel: they can mount NFS only if it has the nfs filesystem. */
const kernelMountsNfs = /\snfs4?\n/.test(readFileSync('/proc/filesystems', 'utf8'));

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('NFS (NFS-Ganesha) and Slurm -nfs on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-nfs-',
    project: 'nf',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true }),
    overrides: { deploy_deadline_seconds: 660, ansible_task_timeout_seconds: 480 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;
  const url = (file: string) => `nfs://${node('-storage').address}${SHARE}/${file}`;
  const on = (suffix: string, command: string) => ssh(keyFile, node(suffix).address, command, 120_000);
  const hand = (playbook: string, onChanged: (what: string) => void = () => undefined) =>
    runRole({ running: api.running(), provider: machinery().provider, clusterId, clusterName: 'fs-nf', nodes, playbook, only: 'nfs_server', timeoutMs: 6 * 60_000, onChanged });

  it('creates 1 master + 2 slaves + storage with Slurm 22.05-nfs and nfs_server, and reaches ACTIVE', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/nf/clusters', {
      DisplayName: 'fs',
      NSlaves: 2,
      Services: [{ Type: 'slurm', Version: '22.05-nfs' }, { Type: 'nfs_server', Config: { client_dir_to_share: '/home' } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('fs-nf', 14);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn nfs: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'fs-nf', signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name).sort()).toEqual(['fs-nf-master', 'fs-nf-slave-1', 'fs-nf-slave-2', 'fs-nf-storage']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = (await events('fs-nf')).map((e) => e.Message);
    console.log(all.filter((m) => /NFS|nfs/.test(m) && /health|MOUNT|NFS client/.test(m)).join('\n'));
    // The deployer's health check saw the export from the host.
    expect(all.some((m) => m.includes(`nfs-ls nfs://${node('-storage').address}${SHARE} lists the export; NFS-Ganesha is out of its grace period`))).toBe(true);
    if (!kernelMountsNfs) expect(all.some((m) => m.includes('Leave the mount point unmounted, as this kernel has no NFS client (/home)'))).toBe(true);
  }, 15 * 60_000);

  it('answers NULL on NFS v3 and v4 from the host, and hides the export from it (not a cluster node), while a node sees it', async () => {
    const storage = node('-storage').address;
    for (const v of [3, 4]) expect((await rpcCall(storage, 2049, NFS_PROGRAM, v, 0)).length).toBe(0);
    // NFS-Ganesha lists an export only to the clients it admits: the cluster's nodes.
    expect(await mountExports(storage, 20048)).toEqual([]);
    expect(on('-master', `nfs-ls nfs://${storage}${SHARE}; echo rc=$?`)).toContain('rc=0');
  }, 60_000);

  it('the kernel client mounts it where the kernel has one; here the error is exact', () => {
    if (kernelMountsNfs) {
      for (const s of ['-master', '-slave-1', '-slave-2']) expect(on(s, 'findmnt -n -o FSTYPE,SOURCE /home').trim()).toMatch(/^nfs4? .*:\/var\/shared_dir$/);
      return;
    }
    // No nfs filesystem in the kernel: mount.nfs gets ENODEV, and v3 (mount(2) type nfs) the same.
    const out = on('-slave-1', `mkdir -p /mnt/nfs-probe && mount -t nfs ${node('-storage').address}:${SHARE} /mnt/nfs-probe 2>&1; echo rc=$?; rmdir /mnt/nfs-probe`);
    expect(out).toContain('mount.nfs: No such device');
    expect(out).toContain('rc=32');
  }, 120_000);

  it('a file written through the export on slave-1 is read on slave-2 and lands in the shared directory', () => {
    on('-slave-1', `echo "written on $(hostname)" > /tmp/by-hand.txt && nfs-cp /tmp/by-hand.txt ${url('by-hand.txt')}`);
    expect(on('-slave-2', `nfs-cat ${url('by-hand.txt')}`).trim()).toBe('written on fs-nf-slave-1');
    expect(on('-slave-2', `nfs-ls ${url('')}`)).toContain('by-hand.txt');
    // Root is squashed, as the original's export did: the file belongs to the anonymous user.
    expect(on('-storage', `cat ${SHARE}/by-hand.txt; stat -c %u ${SHARE}/by-hand.txt`).trim().split('\n')).toEqual(['written on fs-nf-slave-1', expect.stringMatching(/^(65534|4294967294)$/)]);
  }, 120_000);

  it('a Slurm job on slave-1 writes a file in the share, a job on slave-2 reads it', () => {
    if (kernelMountsNfs) {
      on('-master', `srun -N1 -w fs-nf-slave-1 sh -c 'hostname > /home/job.txt'`);
      expect(on('-master', `srun -N1 -w fs-nf-slave-2 cat /home/job.txt`).trim()).toBe('fs-nf-slave-1');
      return;
    }
    on('-master', `srun -N1 -w fs-nf-slave-1 sh -c 'hostname > /tmp/job.txt && nfs-cp /tmp/job.txt ${url('job.txt')}'`);
    expect(on('-master', `srun -N1 -w fs-nf-slave-2 sh -c 'hostname; nfs-cat ${url('job.txt')}'`).trim().split('\n')).toEqual(['fs-nf-slave-2', 'fs-nf-slave-1']);
  }, 180_000);

  it('a write right after NFS-Ganesha restarts succeeds: no grace period is held when no client has state to reclaim', () => {
    on('-storage', 'systemctl restart nfs-ganesha');
    // Until it listens again, nfs-ls fails (MOUNT not registered yet): that is not what this checks.
    expect(on('-slave-1', `for i in $(seq 1 60); do nfs-ls ${url('')} >/dev/null 2>&1 && break; sleep 0.5; done; nfs-ls ${url('')} >/dev/null; echo rc=$?`)).toContain('rc=0');
    // Kernel clients (/home mounted v4.1) reclaim their state first; here there are none, so at once.
    if (kernelMountsNfs) on('-storage', `for i in $(seq 1 60); do ${GANESHA_GET_GRACE} | grep -q 'boolean false' && break; sleep 2; done`);
    else expect(on('-storage', GANESHA_GET_GRACE)).toMatch(/boolean false\s+boolean true/);
    on('-slave-1', `nfs-cp /tmp/by-hand.txt ${url('after-restart.txt')}`);
    expect(on('-slave-2', `nfs-cat ${url('after-restart.txt')}`).trim()).toBe('written on fs-nf-slave-1');
  }, 120_000);

  it('a second apply of every role (create.yml: prepare + slurm + nfs_server) reports changed=0', async () => {
    const { changed, total } = await applyAgain({ running: api.running(), provider: machinery().provider, clusterId, clusterName: 'fs-nf', nodes, playbook: 'create.yml', timeoutMs: 10 * 60_000 });
    expect(changed).toEqual([]);
    expect(total).toBe(0);
  }, 11 * 60_000);

  it("the role's remove path leaves nothing of NFS on the nodes, and a second removal is harmless", async () => {
    const server =
      "for p in nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-utils; do dpkg-query -W -f='${Status}\\n' $p 2>/dev/null | grep -q 'install ok' && echo $p; done; " +
      `for p in /etc/ganesha /var/log/ganesha ${SHARE} /etc/systemd/system/var-shared_dir.mount; do [ -e $p ] && echo $p; done; ` +
      'grep -qx ganesha.nfsd /proc/[0-9]*/comm 2>/dev/null && echo process; findmnt -n ' + SHARE + ' >/dev/null && echo mounted; true';
    const client = "dpkg-query -W -f='${Status}\\n' libnfs-utils 2>/dev/null | grep -q 'install ok' && echo libnfs-utils; grep -w nfs /etc/fstab; [ -d /home ] && echo /home; true";
    expect(on('-storage', server).trim().split('\n')).toEqual(expect.arrayContaining(['nfs-ganesha', SHARE, 'process', 'mounted']));
    expect(on('-slave-1', client)).toContain('libnfs-utils');
    await hand('remove.yml');
    expect(on('-storage', server).trim()).toBe('');
    for (const s of ['-master', '-slave-1', '-slave-2']) expect(on(s, client).trim(), s).toBe('/home');
    await hand('remove.yml');
  }, 13 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/nf/clusters/fs-nf')).status).toBe(200);
    expect((await settle('fs-nf', 10)).status).toBe('GONE');
    await nothingLeftOf(machinery().provider, clusterId, join(api.dir(), 'data'));
  }, 11 * 60_000);
});
