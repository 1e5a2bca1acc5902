// Shared by the nspawn tests: when they may run, where the cached image lives, and host checks
// that nothing of a cluster is left (containers, namespaces, links).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { serve, type Running } from '../../src/app.js';
import { nspawnMachinery } from '../../src/machinery/nspawn.js';
import { freePort } from '../helpers/ports.js';
import { loadConfig } from '../../src/config/load.js';
import type { MichmanConfig } from '../../src/config/schema.js';
import { catalogTypes } from '../../src/deploy/ansible/deployer.js';
import { buildInventory } from '../../src/deploy/ansible/inventory.js';
import { runPlaybook, type PlaybookOutcome } from '../../src/deploy/ansible/playbook.js';
import { runVars } from '../../src/deploy/ansible/vars.js';
import { serializeExtraVars, type ExtraVars, type ExtraVarsSettings } from '../../src/domain/extraVars.js';
import type { OperationPlan } from '../../src/domain/plan.js';
import { MASK, serviceSecretPath } from '../../src/domain/credentials.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { NspawnProvider } from '../../src/providers/nspawn/index.js';
import type { ProvisionedNode, StepContext } from '../../src/providers/types.js';

/** Root, the Debian packages, and the opt-in of `npm run test:nspawn` (these tests take minutes). */
export const nspawnMissing: string | undefined = (() => {
  if (process.env.MICHMAN_TEST_NSPAWN !== '1') return 'MICHMAN_TEST_NSPAWN is not 1 (npm run test:nspawn sets it)';
  if (process.getuid?.() !== 0) return 'not root';
  for (const p of ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap', '/usr/sbin/apt-cacher-ng', '/usr/bin/ansible-playbook']) {
    if (!existsSync(p)) return `${p} is missing`;
  }
  return undefined;
})();

/** Image cache shared by test runs (built once per machine, about 75 s). */
export const IMAGES_DIR = process.env.MICHMAN_NSPAWN_IMAGES_DIR ?? '/var/tmp/michman-nspawn-images';

export function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export function linkNames(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}

/** Live processes whose command line holds every one of `texts`. */
export function processesWith(...texts: string[]): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.[0];
      if (texts.every((t) => argv.includes(t)) && state !== 'Z') out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function ssh(keyFile: string, address: string, command: string, timeoutMs = 60_000): string {
  return execFileSync(
    'ssh',
    ['-i', keyFile, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${address}`, command],
    { encoding: 'utf8', timeout: timeoutMs },
  );
}

/**
 * After a cluster's delete: no container, network namespace or link of it, no bridge (it was the
 * provider's last cluster), no process under the data directory's nspawn/ (apt cache, artifact
 * server), and the artifact server gone with the bridge.
 */
export async function nothingLeftOf(provider: NspawnProvider, clusterId: string, dataDir: string): Promise<void> {
  expect(await provider.leftovers(clusterId)).toEqual([]);
  expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
  // When the bridge stayed, say what held it: a port still on it, or another cluster's directory.
  const held = linkNames().includes(provider.bridge)
    ? { ports: execFileSync('ip', ['-o', 'link', 'show', 'master', provider.bridge], { encoding: 'utf8' }).trim(), clusters: existsSync(join(dataDir, 'nspawn', 'clusters')) ? readdirSync(join(dataDir, 'nspawn', 'clusters')) : [] }
    : undefined;
  expect(held).toBeUndefined();
  expect(processesWith(join(dataDir, 'nspawn'))).toEqual([]);
  // The artifact cache's files stay (shared, like the node image), not its server.
  expect(await provider.artifacts.running()).toBeUndefined();
}

// ------------------------------------------------------------------------------ the API under test

/** The configuration of an e2e `serve` on nspawn: API on 127.0.0.1:`port`, two workers, quiet logs. */
export function e2eConfig(dir: string, port: number, overrides: Record<string, unknown>): MichmanConfig {
  return loadConfig({ env: {}, cwd: dir, overrides: { provider: 'nspawn', log_level: 'warn', listen: `127.0.0.1:${port}`, workers: 2, ...overrides } });
}

export type ApiCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

/**
 * Calls of the API at `base`, a fresh connection each: the API closes idle keep-alive sockets (72 s)
 * while a long job runs, and fetch's pool would reuse one of those (ECONNRESET).
 */
export function apiCall(base: () => string): ApiCall {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(base() + path, { method, agent: false, headers: payload === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
}

export interface ClusterEvent {
  ID: number;
  Time: string;
  Level: string;
  Node: string;
  Message: string;
}

/** Every event of a cluster, page by page (the API gives at most 1000 at a time). */
export async function allEvents(call: ApiCall, project: string, name: string): Promise<ClusterEvent[]> {
  const out: ClusterEvent[] = [];
  for (let page = 0; page < 100; page++) {
    const r = await call('GET', `/projects/${project}/clusters/${name}/events?limit=1000&after=${out.at(-1)?.ID ?? 0}`);
    expect(r.status).toBe(200);
    const data = r.body.Detail.Data as ClusterEvent[];
    out.push(...data);
    if (data.length < 1000) break;
  }
  return out;
}

/**
 * Waits until the cluster leaves CREATING/UPDATING/...; returns its last operation and the tail of
 * its events (what was running, for a failure message). Monotonic time: a wall-clock step of the
 * machine must not end the wait early.
 */
export async function settle(call: ApiCall, project: string, name: string, minutes: number) {
  const until = performance.now() + minutes * 60_000;
  for (;;) {
    const s = await call('GET', `/projects/${project}/clusters/${name}`);
    const st = s.body?.Detail?.Data?.EntityStatus as string | undefined;
    if (st === 'ACTIVE' || st === 'FAILED' || s.status === 404 || performance.now() > until) {
      const ops = await call('GET', `/projects/${project}/clusters/${name}/operations`);
      const events = (s.status === 404 ? [] : await allEvents(call, project, name)).slice(-40).map((e) => `${e.Time} ${e.Level} ${e.Node} ${e.Message}`);
      return { status: s.status === 404 ? 'GONE' : st, cluster: s.body?.Detail?.Data, op: (ops.body?.Detail?.Data ?? [])[0], events };
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The image, flavor and project every e2e cluster is created in. */
export async function createProject(call: ApiCall, project: string): Promise<void> {
  expect((await call('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'nspawn' })).status).toBe(201);
  expect((await call('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 5 })).status).toBe(201);
  const body = { DisplayName: project, DefaultImage: 'debian', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' };
  expect((await call('POST', '/projects', body)).status).toBe(201);
}

/**
 * After an e2e file, whatever happened: the API stops, no container, namespace or link of the
 * provider's clusters stays on the host, and the test's directory goes.
 */
export async function tearDown(running: Running | undefined, provider: NspawnProvider, dir: string): Promise<void> {
  await running?.close();
  for (const id of await provider.clusterIds()) {
    const ctx: StepContext = { clusterId: id, clusterName: '', signal: new AbortController().signal, emit: () => undefined };
    for (const n of await provider.listNodes(ctx)) await provider.deleteNode(ctx, n).catch(() => undefined);
    await provider.cleanupCluster(ctx).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The API of an e2e file, for a describe block: beforeAll starts `serve` on nspawn in a fresh
 * directory (`tmpPrefix`), with the provider `settings` (given the directory) and `overrides`, and
 * creates the image, flavor and `project`; afterAll tears everything down (tearDown). Returns the
 * calls (events and settle in `project`), the provider's machinery, the directory and `serve`'s handle.
 */
export function e2eApi(o: { tmpPrefix: string; project: string; settings: (dir: string) => NspawnSettings; overrides: Record<string, unknown> }) {
  let dir = '';
  let running: Running | undefined;
  let base = '';
  const call = apiCall(() => base);
  const machinery = () => nspawnMachinery(o.settings(dir));
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), o.tmpPrefix));
    const port = await freePort();
    running = await serve(e2eConfig(dir, port, { ...o.settings(dir), ...o.overrides }));
    base = `http://127.0.0.1:${port}`;
    await createProject(call, o.project);
  }, 120_000);
  afterAll(async () => {
    await tearDown(running, machinery().provider, dir);
  }, 300_000);
  return {
    call,
    events: (name: string) => allEvents(call, o.project, name),
    settle: (name: string, minutes: number) => settle(call, o.project, name, minutes),
    machinery,
    dir: () => dir,
    running: () => running!,
  };
}

export type NspawnSettings = Parameters<typeof nspawnMachinery>[0];

/**
 * One run of a playbook by hand with exactly what the deployer passes (the create operation's plan,
 * inventory, extra-vars; `vars` added on top; remove.yml as a delete), as the role tests and the
 * "second apply changes nothing" checks need it. Changed tasks go to `onChanged`; a failed run rejects.
 */
export async function runRole(o: {
  running: Running;
  provider: NspawnProvider;
  clusterId: string;
  clusterName: string;
  nodes: ProvisionedNode[];
  playbook: string;
  only?: string;
  settings?: ExtraVarsSettings;
  vars?: ExtraVars;
  timeoutMs: number;
  taskTimeoutSeconds?: number;
  redact?: (text: string) => string;
  onChanged?: (what: string) => void;
}): Promise<PlaybookOutcome> {
  const op = (await o.running.store.operations.latest(o.clusterId, 'create'))!;
  const key = await o.provider.keys.ensure(o.clusterId);
  // The stored plan keeps passwords masked and generated ones out (domain/credentials.ts): a run by
  // hand fills them from the secret store, as the engine's deployer does.
  const plan = structuredClone(op.plan) as OperationPlan;
  for (const s of plan.services) {
    const stored = (await o.running.secrets.get(serviceSecretPath(o.clusterId, s.type))) ?? {};
    for (const [k, v] of Object.entries(stored)) if (!s.config[k] || s.config[k] === MASK) s.config[k] = v;
  }
  const vars = runVars({
    plan,
    clusterName: o.clusterName,
    action: o.playbook === 'remove.yml' ? 'delete' : 'create',
    ...(o.only !== undefined ? { only: o.only } : {}),
    knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')),
    keyFile: key.privateKeyFile,
    nodes: o.nodes,
    aptProxy: o.provider.aptProxyUrl()!,
    generated: {},
    ...(o.settings ? { settings: o.settings } : {}),
  });
  Object.assign(vars, o.vars ?? {});
  return runPlaybook({
    ansibleDir: join(PACKAGE_ROOT, 'ansible'),
    playbook: o.playbook,
    inventory: buildInventory(o.clusterName, o.nodes, key.privateKeyFile),
    extraVars: serializeExtraVars(vars),
    callbackDir: join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
    signal: AbortSignal.timeout(o.timeoutMs),
    taskTimeoutSeconds: o.taskTimeoutSeconds ?? 300,
    redact: o.redact ?? ((t) => t),
    onResult: (r) => {
      if (r.status === 'changed') o.onChanged?.(`${r.host} [${r.role}] ${r.task}`);
    },
  });
}

/** runRole of deploy.yml (the default) for a "second apply changes nothing" check: the changed tasks and their count. */
export async function applyAgain(o: Omit<Parameters<typeof runRole>[0], 'onChanged' | 'redact' | 'taskTimeoutSeconds'>): Promise<{ changed: string[]; total: number }> {
  const changed: string[] = [];
  const out = await runRole({ ...o, onChanged: (c) => changed.push(c) });
  return { changed, total: Object.values(out.stats).reduce((a, s) => a + s.changed, 0) };
}
