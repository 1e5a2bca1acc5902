// JupyterLab 4 on nspawn, end to end through the API, the engine and the real jupyter role: the
// master reaches ACTIVE with JupyterLab from the hash-pinned lock (wheels served by the host's
// artifact cache: the node never reaches PyPI), token auth refuses requests without the token, a
// kernel started over Jupyter's REST API runs `1+1` sent over its websocket channels, a second apply
// changes nothing, the role's remove path leaves nothing, delete leaves nothing.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ProvisionedNode } from '../../src/providers/types.js';
import type { PlaybookOutcome } from '../../src/deploy/ansible/playbook.js';
import { readJupyterLabLock } from '../../src/deploy/ansible/jupyterArtifacts.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { WebSocketClient } from '../helpers/websocket.js';
import { IMAGES_DIR, e2eApi, linkNames, netnsList, nspawnMissing, processesWith, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_JUPYTER_NETWORK ?? '10.214.14.0/24';
const ARTIFACTS_DIR = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const TOKEN = 'e2e-jupyterlab-token-46';

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('JupyterLab 4 on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-jupyter-',
    project: 'jp',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true, nspawn_artifacts_dir: ARTIFACTS_DIR }),
    overrides: { deploy_deadline_seconds: 660, ansible_task_timeout_seconds: 480 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const master = () => nodes.find((n) => n.role === 'master')!;
  /** Jupyter's REST API on the master, with the token unless told otherwise ('' for none). */
  const jupyter = (method: string, path: string, body?: unknown, token: string = TOKEN) =>
    new Promise<{ status: number; body: any; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { ...(token ? { Authorization: `token ${token}` } : {}), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) };
      const req = request(`http://${master().address}:8888${path}`, { method, agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  const apply = (playbook: string, onChanged: (what: string) => void): Promise<PlaybookOutcome> => {
    const m = machinery();
    return runRole({
      running: api.running(),
      provider: m.provider,
      clusterId,
      clusterName: 'jl-jp',
      nodes,
      playbook,
      only: 'jupyter',
      vars: { michman_pypi_mirror: `${m.provider.artifacts.url}/pypi`, michman_maven_mirror: `${m.provider.artifacts.url}/maven2` },
      timeoutMs: 8 * 60_000,
      taskTimeoutSeconds: 400,
      redact: (t) => t.split(TOKEN).join('********'),
      onChanged,
    });
  };

  it('creates a master with JupyterLab 4 from the lock, and reaches ACTIVE', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/jp/clusters', { DisplayName: 'jl', Services: [{ Type: 'jupyter', Version: 'jupyter-lab', Config: { token: TOKEN } }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('jl-jp', 14);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn jupyter-lab: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'jl-jp', signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name)).toEqual(['jl-jp-master']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = await events('jl-jp');
    console.log(all.filter((e) => /artifact cache|health|ok=/.test(e.Message)).map((e) => e.Message).join('\n'));
    expect(JSON.stringify(all)).not.toContain(TOKEN);
    // The version of the lock, in a virtualenv of its own.
    const lock = readJupyterLabLock(join(PACKAGE_ROOT, 'ansible'));
    const want = lock.packages.find((p) => p.name.toLowerCase() === 'jupyterlab')!.version;
    expect(want).toMatch(/^4\./);
    expect(ssh(keyFile, master().address, '/home/jupyter/venv/bin/jupyter-lab --version').trim()).toBe(want);
    // Exactly the locked set: pip freeze in the venv lists every locked package at its version.
    const frozen = new Set(ssh(keyFile, master().address, '/home/jupyter/venv/bin/pip freeze --all').split('\n').map((l) => l.trim().toLowerCase().replace(/_/g, '-')));
    const normalise = (n: string) => n.toLowerCase().replace(/[_.]/g, '-');
    const missing = lock.packages.filter((p) => ![...frozen].some((f) => f.replace(/[_.]/g, '-').startsWith(`${normalise(p.name)}==${p.version}`) || f.startsWith(`${normalise(p.name)} @ `)));
    expect(missing.map((p) => `${p.name}==${p.version}`)).toEqual([]);
  }, 15 * 60_000);

  it('refuses requests without the token', async () => {
    expect((await jupyter('GET', '/api/kernels', undefined, '')).status).toBe(403);
    expect((await jupyter('GET', '/api/kernels', undefined, 'wrong-token')).status).toBe(403);
    const ok = await jupyter('GET', '/api/status');
    expect(ok.status).toBe(200);
    // JupyterLab's own page is served.
    const lab = await jupyter('GET', '/lab');
    expect(lab.status).toBe(200);
    expect(lab.text).toContain('JupyterLab');
  }, 60_000);

  it("starts a kernel over the REST API and runs 1+1 over its websocket channels", async () => {
    const k = await jupyter('POST', '/api/kernels', { name: 'python3' });
    expect(k.status, k.text).toBe(201);
    const kernelId = k.body.id as string;
    const session = randomUUID();
    const ws = await WebSocketClient.open(master().address, 8888, `/api/kernels/${kernelId}/channels?session_id=${session}`, { Authorization: `token ${TOKEN}` });
    try {
      const msgId = randomUUID();
      const result = ws.waitFor((text) => {
        const m = JSON.parse(text) as { msg_type?: string; header?: { msg_type?: string }; parent_header?: { msg_id?: string }; content?: { data?: Record<string, string>; ename?: string } };
        const type = m.header?.msg_type ?? m.msg_type;
        if (m.parent_header?.msg_id !== msgId) return undefined;
        if (type === 'error') return `error: ${m.content?.ename}`;
        return type === 'execute_result' ? m.content?.data?.['text/plain'] : undefined;
      }, 120_000);
      ws.send(
        JSON.stringify({
          header: { msg_id: msgId, username: 'michman-test', session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
          parent_header: {},
          metadata: {},
          content: { code: '1+1', silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: 'shell',
          buffers: [],
        }),
      );
      expect(await result).toBe('2');
    } finally {
      ws.close();
    }
    expect((await jupyter('DELETE', `/api/kernels/${kernelId}`)).status).toBe(204);
  }, 180_000);

  it('a second apply of the jupyter role (deploy.yml) reports changed=0', async () => {
    const changed: string[] = [];
    const out = await apply('deploy.yml', (c) => changed.push(c));
    expect(changed).toEqual([]);
    expect(Object.values(out.stats).reduce((a, s) => a + s.changed, 0)).toBe(0);
  }, 9 * 60_000);

  it("the role's remove path leaves nothing of Jupyter on the master", async () => {
    const leftovers =
      'getent passwd jupyter >/dev/null && echo user; ' +
      'for p in /home/jupyter /etc/systemd/system/jupyter.service /root/.michman-secrets/jupyter_token; do [ -e $p ] && echo $p; done; ' +
      // A process of the virtualenv's Python (the server or a kernel); not this shell, which only names it.
      "for f in /proc/[0-9]*; do tr '\\0' ' ' < $f/cmdline 2>/dev/null | grep -q '^/home/jupyter/venv/' && echo process && break; done; true";
    expect(ssh(keyFile, master().address, leftovers).trim().split('\n')).toEqual(expect.arrayContaining(['user', '/home/jupyter', '/etc/systemd/system/jupyter.service']));
    await apply('remove.yml', () => undefined);
    expect(ssh(keyFile, master().address, leftovers).trim()).toBe('');
  }, 9 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/jp/clusters/jl-jp')).status).toBe(200);
    expect((await settle('jl-jp', 10)).status).toBe('GONE');
    const m = machinery();
    expect(await m.provider.leftovers(clusterId)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
    expect(linkNames()).not.toContain(m.provider.bridge);
    expect(processesWith(join(api.dir(), 'data', 'nspawn'))).toEqual([]);
  }, 11 * 60_000);
});
