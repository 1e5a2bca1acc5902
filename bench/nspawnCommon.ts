// Shared by the nspawn benchmarks (bench/nspawn.ts for Slurm, bench/nspawnSpark.ts for Spark): the
// API client, the project every benchmark cluster is created in, the wait for a cluster's status,
// the "by hand" run (boot the containers with the provider, then ansible-playbook create.yml with
// what Michman would pass) and the cleanup that leaves no container on the host.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { nspawnMachinery } from '../src/machinery/nspawn.js';
import { buildInventory } from '../src/deploy/ansible/inventory.js';
import { runVars } from '../src/deploy/ansible/vars.js';
import { catalogTypes } from '../src/deploy/ansible/deployer.js';
import { serializeExtraVars, type ExtraVars } from '../src/domain/extraVars.js';
import type { OperationPlan } from '../src/domain/plan.js';
import type { StepContext, ProvisionedNode } from '../src/providers/types.js';
import { PACKAGE_ROOT } from '../src/paths.js';

export type Machinery = ReturnType<typeof nspawnMachinery>;
export type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export const secs = (ms: number) => (ms / 1000).toFixed(1);

/** Calls of the API at `base`. */
export function apiClient(base: string): Call {
  return async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const t = await r.text();
    return { status: r.status, body: t ? JSON.parse(t) : undefined };
  };
}

/** The image, a flavor of `ram` MiB and the project `bench`. */
export async function createBenchProject(call: Call, ram: number): Promise<void> {
  await call('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'nspawn' });
  await call('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: ram, Disk: 5 });
  await call('POST', '/projects', { DisplayName: 'bench', DefaultImage: 'debian', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' });
}

/** Polls the cluster at `path` every `pollMs` until ACTIVE or FAILED, or `timeoutMs` after `t0`; returns the last status. */
export async function waitSettled(call: Call, path: string, t0: number, timeoutMs: number, pollMs: number): Promise<string> {
  let status = '';
  while (Date.now() - t0 < timeoutMs) {
    status = (await call('GET', `${path}/status`)).body?.Detail?.Data ?? '';
    if (status === 'ACTIVE' || status === 'FAILED') break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return status;
}

/** Deletes the cluster at `path` and waits until it is gone. */
export async function deleteAndWait(call: Call, path: string): Promise<void> {
  await call('DELETE', path);
  while ((await call('GET', `${path}/status`)).status !== 404) await new Promise((r) => setTimeout(r, 1000));
}

/**
 * The same machines by hand: the plan of a dry-run POST of `body` (named `hand`), its containers
 * booted by the provider, then ansible-playbook create.yml with the inventory and extra vars
 * Michman would pass (`extraVars` on top); the containers are deleted after. `afterPlaybook` runs
 * as soon as the playbook ends (before the deletion), for a measurement of the run's end.
 */
export async function byHand(
  call: Call,
  m: Machinery,
  body: Record<string, unknown>,
  o: { extraVars?: ExtraVars; afterPlaybook?: () => void } = {},
): Promise<{ bootMs: number; handMs: number }> {
  const dry = await call('POST', '/projects/bench/clusters?dryRun=true', { ...body, DisplayName: 'hand' });
  const plan = dry.body.Detail.Data.Plan as OperationPlan;
  const clusterId = randomUUID();
  const ctx: StepContext = { clusterId, clusterName: 'hand-bench', signal: new AbortController().signal, emit: () => undefined, plan };
  const t1 = Date.now();
  await m.provider.prepareCluster(ctx);
  const nodes: ProvisionedNode[] = await Promise.all(plan.nodes.map((n) => m.provider.ensureNode(ctx, { name: n.name, role: n.role, flavor: n.flavor, image: plan.image })));
  await Promise.all(nodes.map((n) => m.provider.waitReachable(ctx, n)));
  const bootMs = Date.now() - t1;
  const key = await m.provider.keys.ensure(clusterId);
  const work = mkdtempSync(join(tmpdir(), 'michman-bench-hand-'));
  const vars = runVars({ plan, clusterName: 'hand-bench', action: 'create', knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')), keyFile: key.privateKeyFile, nodes, aptProxy: m.provider.aptProxyUrl()!, generated: {} });
  Object.assign(vars, o.extraVars ?? {});
  writeFileSync(join(work, 'inventory.ini'), buildInventory('hand-bench', nodes, key.privateKeyFile), { mode: 0o600 });
  writeFileSync(join(work, 'extravars.json'), serializeExtraVars(vars), { mode: 0o600 });
  const t2 = Date.now();
  const log = openSync(join(work, 'ansible.log'), 'w');
  const code = await new Promise<number>((resolve) => {
    const child = spawn('/usr/bin/ansible-playbook', ['-i', join(work, 'inventory.ini'), 'create.yml', '-e', `@${join(work, 'extravars.json')}`], { cwd: join(PACKAGE_ROOT, 'ansible'), stdio: ['ignore', log, log] });
    child.on('close', (c) => resolve(c ?? 1));
  });
  closeSync(log);
  const handMs = Date.now() - t2;
  o.afterPlaybook?.();
  for (const n of nodes) await m.provider.deleteNode(ctx, n);
  await m.provider.cleanupCluster(ctx);
  if (code !== 0) throw new Error(`ansible-playbook create.yml by hand exited with ${code}; see ${join(work, 'ansible.log')}`);
  rmSync(work, { recursive: true, force: true });
  return { bootMs, handMs };
}

/** Whatever failed: no container, namespace or link of the benchmark stays on the host. */
export async function removeAllClusters(m: Machinery): Promise<void> {
  for (const id of await m.provider.clusterIds()) {
    const ctx: StepContext = { clusterId: id, clusterName: '', signal: new AbortController().signal, emit: () => undefined };
    for (const n of await m.provider.listNodes(ctx)) await m.provider.deleteNode(ctx, n).catch(() => undefined);
    await m.provider.cleanupCluster(ctx).catch(() => undefined);
  }
}
