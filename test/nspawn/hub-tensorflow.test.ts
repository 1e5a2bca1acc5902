// JupyterHub and distributed TensorFlow on one nspawn cluster (1 master + 2 slaves; one cluster for
// both to save CI minutes), end to end through the API, the engine and the real roles:
// - a TensorFlow version without a hash-pinned lock is refused at POST, by name;
// - jupyter (JupyterLab 4) + jupyterhub + tensorflow reach ACTIVE; the health checks import
//   tensorflow on every node and ask the hub's /hub/health; nodes got every wheel and npm tarball
//   from the host's artifact cache (they reach nothing else);
// - TF_CONFIG on each node lists the cluster's nodes, and a MultiWorkerMirroredStrategy job trains a
//   tiny model on all the workers at once (the master and both slaves) and finishes;
// - a user logs in to the hub with PAM, gets an API token, starts their server through the hub's REST
//   API (the jupyter service's JupyterLab), starts a kernel over REST and runs `1+1` over its websocket;
// - a second apply changes nothing, the roles' remove paths leave nothing, delete leaves nothing.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ProvisionedNode } from '../../src/providers/types.js';
import type { PlaybookOutcome } from '../../src/deploy/ansible/playbook.js';
import { readPipLock } from '../../src/deploy/ansible/pipLocks.js';
import { sshOptions } from '../../src/host/ssh.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { WebSocketClient } from '../helpers/websocket.js';
import { IMAGES_DIR, e2eApi, linkNames, netnsList, nspawnMissing, processesWith, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_HUB_NETWORK ?? '10.214.15.0/24';
const ARTIFACTS_DIR = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const ADMIN = 'hubadmin';
// Characters a form encoder and a shell must both get right.
const PASSWORD = 'e2e hub&Pw=15 "x"';
const TOKEN = 'e2e-hub-jupyterlab-token-15';
const NAME = 'hub-hb';

interface Reply {
  status: number;
  body: any;
  text: string;
  cookies: Record<string, string>;
  location?: string;
}

/** One HTTP request to the hub's proxy, with the cookies given; returns the cookies it sets. */
function http(host: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string; cookies?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const cookie = Object.entries(o.cookies ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    const req = request(`http://${host}:8000${path}`, { method, agent: false, headers: { ...(cookie ? { cookie } : {}), ...(o.headers ?? {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const cookies: Record<string, string> = {};
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const i = pair!.indexOf('=');
          cookies[pair!.slice(0, i).trim()] = pair!.slice(i + 1);
        }
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, text, cookies, ...(res.headers.location ? { location: res.headers.location } : {}) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('JupyterHub and distributed TensorFlow on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-hub-',
    project: 'hb',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true, nspawn_artifacts_dir: ARTIFACTS_DIR }),
    overrides: { deploy_deadline_seconds: 1500, ansible_task_timeout_seconds: 900 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  let token = '';
  const master = () => nodes.find((n) => n.role === 'master')!;
  const hub = (method: string, path: string, body?: unknown) =>
    http(master().address, method, path, { headers: { Authorization: `token ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const apply = (playbook: string, onChanged: (what: string) => void): Promise<PlaybookOutcome> => {
    const m = machinery();
    return runRole({
      running: api.running(),
      provider: m.provider,
      clusterId,
      clusterName: NAME,
      nodes,
      playbook,
      vars: {
        n_slaves: 2,
        michman_pypi_mirror: `${m.provider.artifacts.url}/pypi`,
        michman_npm_mirror: `${m.provider.artifacts.url}/npm`,
        michman_maven_mirror: `${m.provider.artifacts.url}/maven2`,
      },
      timeoutMs: 12 * 60_000,
      taskTimeoutSeconds: 600,
      redact: (t) => t.split(PASSWORD).join('********').split(TOKEN).join('********'),
      onChanged,
    });
  };

  it('refuses at POST a TensorFlow version that has no hash-pinned lock, naming it', async () => {
    const r = await call('POST', '/projects/hb/clusters', { DisplayName: 'old', NSlaves: 2, Services: [{ Type: 'tensorflow', Version: '2.19.0' }] });
    expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.stringify(r.body)).toContain("tensorflow version '2.19.0' is not pinned");
    expect(JSON.stringify(r.body)).toContain('2.20.0');
    // GET /configs says the same before anyone tries.
    const types = await call('GET', '/configs/tensorflow/versions');
    const v = (types.body?.Detail?.Data ?? types.body ?? []) as Array<{ Version: string; Deployable?: boolean }>;
    expect(v.find((x) => x.Version === '2.20.0')?.Deployable).toBe(true);
    expect(v.find((x) => x.Version === '2.19.0')?.Deployable).toBe(false);
  }, 60_000);

  it('creates 1 master + 2 slaves with JupyterLab, JupyterHub and TensorFlow, and reaches ACTIVE', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/hb/clusters', {
      DisplayName: 'hub',
      NSlaves: 2,
      Services: [
        { Type: 'jupyter', Version: 'jupyter-lab', Config: { token: TOKEN } },
        { Type: 'jupyterhub', Version: '5.4.3', Config: { admin_user: ADMIN, admin_password: PASSWORD } },
        { Type: 'tensorflow', Version: '2.20.0' },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle(NAME, 28);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn jupyterhub+tensorflow: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: NAME, signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name).sort()).toEqual([`${NAME}-master`, `${NAME}-slave-1`, `${NAME}-slave-2`]);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = await events(NAME);
    console.log(all.filter((e) => /artifact cache: \d+|health|ok=/.test(e.Message)).map((e) => e.Message).join('\n'));
    const text = JSON.stringify(all);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(TOKEN);
    // The health checks: tensorflow imports on each of the three nodes, the hub answers.
    for (const n of nodes) expect(all.some((e) => e.Message.includes(`${n.name}: tensorflow 2.20.0 imports; TF_CONFIG worker ${n.address}:12345`))).toBe(true);
    expect(all.some((e) => /jupyterhub GET http:\/\/[0-9.]+:8000\/hub\/health → 200/.test(e.Message))).toBe(true);
  }, 30 * 60_000);

  it('installed exactly the locked TensorFlow on every node, and TF_CONFIG lists the cluster', async () => {
    const lock = readPipLock(join(PACKAGE_ROOT, 'ansible'), 'tensorflow', '2.20.0')!;
    const workers = [master(), ...nodes.filter((n) => n.role === 'slave').sort((a, b) => a.name.localeCompare(b.name))].map((n) => `${n.address}:12345`);
    for (const n of nodes) {
      const frozen = ssh(keyFile, n.address, '/opt/tensorflow/venv/bin/pip freeze --all').toLowerCase().replace(/_/g, '-');
      for (const p of lock.packages) expect(frozen).toMatch(new RegExp(`^${p.name.toLowerCase().replace(/[_.]/g, '[-_.]')}(==| @ )`, 'm'));
      expect(frozen).toContain('tensorflow-cpu @ http://');
      const tf = JSON.parse(ssh(keyFile, n.address, 'cat /opt/tensorflow/tf_config.json'));
      expect(tf).toEqual({ cluster: { worker: workers }, task: { type: 'worker', index: workers.indexOf(`${n.address}:12345`) } });
    }
  }, 5 * 60_000);

  it('runs a MultiWorkerMirroredStrategy job on all the workers (the master and both slaves), which finishes', async () => {
    const started = Date.now();
    const runs = nodes.map(
      (n) =>
        new Promise<string>((resolve, reject) => {
          const p = spawn('/usr/bin/ssh', [
            ...sshOptions(keyFile),
            `root@${n.address}`,
            'TF_CONFIG="$(cat /opt/tensorflow/tf_config.json)" timeout 600 /opt/tensorflow/venv/bin/python /opt/tensorflow/examples/multiworker_train.py 3 2>&1',
          ]);
          let out = '';
          p.stdout.on('data', (c: Buffer) => (out += c.toString()));
          p.on('error', reject);
          p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${n.name}: exit ${code}\n${out.slice(-3000)}`))));
        }),
    );
    const outs = await Promise.all(runs);
    console.log(`nspawn tensorflow: 3-worker job in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const lines = outs.map((o) => o.split('\n').find((l) => l.startsWith('michman-tf ')) ?? o.slice(-2000));
    console.log(lines.join('\n'));
    const indexes = lines.map((l) => /worker=(\d+) of 3 replicas=3 loss=[0-9.]+$/.exec(l)?.[1]);
    expect(indexes.sort()).toEqual(['0', '1', '2']);
  }, 12 * 60_000);

  it('lets a user log in with PAM, start their server through the hub REST API, and run 1+1 in a kernel', async () => {
    const host = master().address;
    const page = await http(host, 'GET', '/hub/login');
    expect(page.status).toBe(200);
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(page.text)?.[1] ?? page.cookies._xsrf;
    expect(xsrf).toBeTruthy();
    const form = (password: string) => new URLSearchParams({ _xsrf: xsrf!, username: ADMIN, password }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    // A wrong password is refused.
    const bad = await http(host, 'POST', '/hub/login', { headers, body: form('wrong password'), cookies: page.cookies });
    expect(bad.status).not.toBe(302);
    expect(Object.keys(bad.cookies)).not.toContain('jupyterhub-hub-login');
    const login = await http(host, 'POST', '/hub/login', { headers, body: form(PASSWORD), cookies: page.cookies });
    expect(login.status, login.text.slice(0, 500)).toBe(302);
    let cookies = { ...page.cookies, ...login.cookies };
    expect(Object.keys(cookies)).toContain('jupyterhub-hub-login');
    // The session's own xsrf token (bound to the login), then an API token for this user.
    const home = await http(host, 'GET', '/hub/token', { cookies });
    expect(home.status).toBe(200);
    cookies = { ...cookies, ...home.cookies };
    const made = await http(host, 'POST', `/hub/api/users/${ADMIN}/tokens`, {
      cookies,
      headers: { 'content-type': 'application/json', 'X-XSRFToken': cookies._xsrf! },
      body: JSON.stringify({ note: 'michman e2e', expires_in: 3600 }),
    });
    expect(made.status, made.text.slice(0, 500)).toBe(201);
    token = made.body.token as string;

    const me = await hub('GET', '/hub/api/user');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: ADMIN, admin: true });
    const start = await hub('POST', `/hub/api/users/${ADMIN}/server`);
    expect([201, 202], start.text).toContain(start.status);
    const until = performance.now() + 180_000;
    for (;;) {
      const u = await hub('GET', `/hub/api/users/${ADMIN}`);
      if (u.body?.servers?.['']?.ready) break;
      if (performance.now() > until) throw new Error(`the server did not become ready: ${u.text}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    // The single-user server is the jupyter service's JupyterLab, run as the user.
    expect(ssh(keyFile, host, `ps -o user=,args= -u ${ADMIN}`)).toMatch(new RegExp(`^${ADMIN} +/home/jupyter/venv/bin/`, 'm'));
    const k = await hub('POST', `/user/${ADMIN}/api/kernels`, { name: 'python3' });
    expect(k.status, k.text).toBe(201);
    const kernelId = k.body.id as string;
    const session = randomUUID();
    const ws = await WebSocketClient.open(host, 8000, `/user/${ADMIN}/api/kernels/${kernelId}/channels?session_id=${session}`, { Authorization: `token ${token}` });
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
          header: { msg_id: msgId, username: ADMIN, session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
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
    expect((await hub('DELETE', `/user/${ADMIN}/api/kernels/${kernelId}`)).status).toBe(204);
    // Without a token the hub's API refuses.
    token = 'not-a-token';
    expect((await hub('GET', '/hub/api/user')).status).toBe(403);
  }, 8 * 60_000);

  it('a second apply of every role (deploy.yml) reports changed=0', async () => {
    const changed: string[] = [];
    const out = await apply('deploy.yml', (c) => changed.push(c));
    expect(changed).toEqual([]);
    expect(Object.values(out.stats).reduce((a, s) => a + s.changed, 0)).toBe(0);
  }, 13 * 60_000);

  it("the roles' remove paths leave nothing of JupyterHub and TensorFlow on the nodes", async () => {
    const hubLeft =
      `getent passwd ${ADMIN} >/dev/null && echo user; ` +
      'for p in /opt/jupyterhub /var/lib/jupyterhub /etc/jupyterhub /etc/systemd/system/jupyterhub.service /root/.michman-secrets/jupyterhub_admin_password /home/jupyter; do [ -e $p ] && echo $p; done; ' +
      "for f in /proc/[0-9]*; do tr '\\0' ' ' < $f/cmdline 2>/dev/null | grep -q -e '^/opt/jupyterhub/' -e '^/usr/bin/node /opt/jupyterhub' -e '^/home/jupyter/venv/' && echo process && break; done; true";
    const tfLeft = "[ -e /opt/tensorflow ] && echo /opt/tensorflow; for f in /proc/[0-9]*; do tr '\\0' ' ' < $f/cmdline 2>/dev/null | grep -q '^/opt/tensorflow/' && echo process && break; done; true";
    expect(ssh(keyFile, master().address, hubLeft).trim().split('\n')).toEqual(expect.arrayContaining(['user', '/opt/jupyterhub', '/etc/systemd/system/jupyterhub.service', 'process']));
    // Before: the install is there (a python of the venv may be running too: the health monitor's import check).
    for (const n of nodes) expect(ssh(keyFile, n.address, tfLeft).trim().split('\n')).toContain('/opt/tensorflow');
    await apply('remove.yml', () => undefined);
    expect(ssh(keyFile, master().address, hubLeft).trim()).toBe('');
    for (const n of nodes) expect(ssh(keyFile, n.address, tfLeft).trim()).toBe('');
  }, 9 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', `/projects/hb/clusters/${NAME}`)).status).toBe(200);
    expect((await settle(NAME, 10)).status).toBe('GONE');
    const m = machinery();
    expect(await m.provider.leftovers(clusterId)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
    expect(linkNames()).not.toContain(m.provider.bridge);
    expect(processesWith(join(api.dir(), 'data', 'nspawn'))).toEqual([]);
  }, 11 * 60_000);
});
