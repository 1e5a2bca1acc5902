// The original's package-mirror keys on nspawn, end to end through the API, the engine and the base
// role: a master and a slave come up with apt_mirror_address pointing at the host's apt cache
// addressed as a mirror (apt-cacher-ng's http://<bridge>:3142/deb.debian.org/debian) and
// pip_mirror_address at a small PyPI simple index this test serves on the bridge address. On every
// node: the apt sources name the mirror (release, -updates and -security), an apt install comes
// through it, /etc/pip.conf names the index and pip downloads from it; a second apply changes
// nothing; an apply with the mirrors unset puts the image's sources back and removes pip.conf;
// delete leaves nothing.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MichmanConfig } from '../../src/config/schema.js';
import { serve, type Running } from '../../src/app.js';
import { nspawnMachinery } from '../../src/machinery/nspawn.js';
import { ansibleSettings, ourAnsibleVars } from '../../src/machinery/ansibleSettings.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { IMAGES_DIR, apiCall, applyAgain, createProject, e2eConfig, nothingLeftOf, nspawnMissing, tearDown, settle, ssh } from './helpers.js';
import { freePort } from '../helpers/ports.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = '10.214.11.0/24';
const BRIDGE = '10.214.11.1';
const APT_MIRROR = `http://${BRIDGE}:3142/deb.debian.org/debian`;
const INDEX_PORT = 3190;
const PIP_MIRROR = `http://${BRIDGE}:${INDEX_PORT}/simple`;
const PIP_HOST = `${BRIDGE}:${INDEX_PORT}`;
const WHEEL = 'michman_probe-1.0-py3-none-any.whl';

/** A minimal pure-Python wheel, built here (python3's zipfile) so the index needs no download. */
function buildWheel(dir: string): Buffer {
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('michman_probe/__init__.py', 'VALUE = 1\\n')
    z.writestr('michman_probe-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: michman-probe\\nVersion: 1.0\\n')
    z.writestr('michman_probe-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: michman-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
    z.writestr('michman_probe-1.0.dist-info/RECORD', '')
`;
  const file = join(dir, WHEEL);
  execFileSync('python3', ['-c', script, file]);
  return readFileSync(file);
}

/** A PEP 503 simple index of the one wheel, on the bridge address; records who fetched the wheel. */
function serveIndex(wheel: Buffer, fetchedBy: string[]): Promise<Server> {
  const sha256 = createHash('sha256').update(wheel).digest('hex');
  const server = createHttpServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/simple/' || url === '/simple') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!DOCTYPE html><html><body><a href="/simple/michman-probe/">michman-probe</a></body></html>');
    }
    if (url === '/simple/michman-probe/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<!DOCTYPE html><html><body><a href="/files/${WHEEL}#sha256=${sha256}">${WHEEL}</a></body></html>`);
    }
    if (url === `/files/${WHEEL}`) {
      fetchedBy.push(req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.length });
      return res.end(wheel);
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(INDEX_PORT, BRIDGE, () => resolve(server));
  });
}

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('package mirrors on nspawn nodes, end to end', () => {
  let dir: string;
  let running: Running;
  let base: string;
  let port = 0;
  let config: MichmanConfig;
  let index: Server | undefined;
  const fetchedBy: string[] = [];
  const settings = () => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true });
  const machinery = () => nspawnMachinery(settings());
  const call = apiCall(() => base);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'michman-nspawn-mirrors-'));
    port = await freePort();
    config = e2eConfig(dir, port, {
      ...settings(),
      deploy_deadline_seconds: 660,
      ansible_task_timeout_seconds: 480,
      use_package_mirror: true,
      apt_mirror_address: APT_MIRROR,
      use_pip_mirror: true,
      pip_mirror_address: PIP_MIRROR,
      pip_trusted_host: PIP_HOST,
    });
    running = await serve(config);
    base = `http://127.0.0.1:${port}`;
    await createProject(call, 'mi');
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => (index ? index.close(() => resolve()) : resolve()));
    await tearDown(running, machinery().provider, dir);
  }, 300_000);

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  let release = '';
  const onEvery = (command: string) => nodes.map((n) => ({ node: n.name, out: ssh(keyFile, n.address, command) }));

  /** One run of prepare.yml (the base role) as the deployer runs it, with the mirror settings of `c`. */
  const apply = (c: MichmanConfig) =>
    applyAgain({ running, provider: machinery().provider, clusterId, clusterName: 'mir-mi', nodes, playbook: 'prepare.yml', settings: ansibleSettings(c), vars: ourAnsibleVars(c), timeoutMs: 8 * 60_000 });

  it('creates a master and a slave with the mirrors configured, and reaches ACTIVE', async () => {
    const created = await call('POST', '/projects/mi/clusters', { DisplayName: 'mir', NSlaves: 1, Services: [] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle(call, 'mi', 'mir-mi', 12);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    clusterId = r.cluster.ID;
    const m = machinery();
    nodes = await m.provider.listNodes({ clusterId, clusterName: 'mir-mi', signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name).sort()).toEqual(['mir-mi-master', 'mir-mi-slave-1']);
    keyFile = (await m.provider.keys.ensure(clusterId)).privateKeyFile;
  }, 13 * 60_000);

  it('writes the apt mirror on every node, in place of the image sources, for release, -updates and -security', () => {
    for (const { node, out } of onEvery('. /etc/os-release; echo "release=$VERSION_CODENAME"; ls /etc/apt/sources.list.d; cat /etc/apt/sources.list.d/michman-mirror.sources')) {
      release = /release=(\w+)/.exec(out)?.[1] ?? '';
      expect(release, node).not.toBe('');
      expect(out, node).toContain('debian.sources.michman-orig');
      expect(out, node).not.toMatch(/^debian\.sources$/m);
      expect(out, node).toContain(`URIs: ${APT_MIRROR}\nSuites: ${release} ${release}-updates\n`);
      expect(out, node).toContain(`URIs: ${APT_MIRROR}-security\nSuites: ${release}-security\n`);
    }
    // The mirror is on the apt proxy's host, so apt reaches it directly (the cache refuses a proxied
    // request for itself).
    for (const { node, out } of onEvery('cat /etc/apt/apt.conf.d/01michman-proxy')) expect(out, node).toContain(`Acquire::http::Proxy::${BRIDGE} "DIRECT";`);
  });

  it('installs a package through the mirror on every node, with no list left from deb.debian.org', () => {
    for (const { node, out } of onEvery(
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }; apt-cache policy python3-pip; ls /var/lib/apt/lists',
    )) {
      expect(out, node).toMatch(/Installed: \d/);
      expect(out, node).toContain(`${APT_MIRROR} `);
      const lists = out.split('\n').filter((l) => l.endsWith('InRelease'));
      expect(lists, node).toContain(`${BRIDGE}:3142_deb.debian.org_debian_dists_${release}_InRelease`);
      expect(lists, node).toContain(`${BRIDGE}:3142_deb.debian.org_debian-security_dists_${release}-security_InRelease`);
      expect(lists.filter((l) => l.startsWith('deb.debian.org_')), node).toEqual([]);
    }
  }, 10 * 60_000);

  it('writes /etc/pip.conf on every node, and pip downloads from the mirror', async () => {
    index = await serveIndex(buildWheel(dir), fetchedBy);
    for (const { node, out } of onEvery('cat /etc/pip.conf')) {
      expect(out, node).toContain(`[global]\nindex-url = ${PIP_MIRROR}\ntrusted-host = ${PIP_HOST}\n`);
    }
    for (const { node, out } of onEvery('pip config list')) {
      expect(out, node).toContain(`global.index-url='${PIP_MIRROR}'`);
      expect(out, node).toContain(`global.trusted-host='${PIP_HOST}'`);
    }
    // Asynchronously: the index answers from this process, so a synchronous ssh would block it.
    for (const n of nodes) {
      const { stdout } = await promisify(execFile)(
        'ssh',
        ['-i', keyFile, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${n.address}`, 'rm -rf /tmp/probe && pip download --no-deps -d /tmp/probe michman-probe==1.0 2>&1 && ls /tmp/probe'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(stdout, n.name).toContain(WHEEL);
    }
    expect([...new Set(fetchedBy)].sort()).toEqual(nodes.map((n) => n.address).sort());
  }, 5 * 60_000);

  it('a second apply of the base role (prepare.yml) reports changed=0', async () => {
    const { changed, total } = await apply(config);
    expect(changed).toEqual([]);
    expect(total).toBe(0);
  }, 9 * 60_000);

  it('with the mirrors unset, an apply puts the image sources back and removes pip.conf', async () => {
    const unset = { ...config, use_package_mirror: false, apt_mirror_address: undefined, use_pip_mirror: false, pip_mirror_address: undefined, pip_trusted_host: undefined };
    const { changed } = await apply(unset);
    expect(changed.length).toBeGreaterThan(0);
    for (const { node, out } of onEvery('ls /etc/apt/sources.list.d; test -e /etc/pip.conf || echo "no pip.conf"; cat /etc/apt/apt.conf.d/01michman-proxy; ls /var/lib/apt/lists')) {
      expect(out, node).toMatch(/^debian\.sources$/m);
      expect(out, node).not.toContain('michman-mirror.sources');
      expect(out, node).not.toContain('michman-orig');
      expect(out, node).toContain('no pip.conf');
      expect(out, node).not.toContain('DIRECT');
      // The lists were refreshed from the image's own sources (through the proxy).
      expect(out, node).toMatch(/^deb\.debian\.org_debian_dists_\w+_InRelease$/m);
    }
    expect((await apply(unset)).changed).toEqual([]);
  }, 12 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/mi/clusters/mir-mi')).status).toBe(200);
    expect((await settle(call, 'mi', 'mir-mi', 10)).status).toBe('GONE');
    await nothingLeftOf(machinery().provider, clusterId, join(dir, 'data'));
  }, 11 * 60_000);
});
