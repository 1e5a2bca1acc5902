// nspawn benchmark (`npm run bench:nspawn`): POST → ACTIVE of the Slurm cluster of the e2e test
// (redis, postgresql, mariadb on the storage node; slurm on a master and 2 slaves; jupyter;
// monitoring) on the nspawn provider with the real roles, next to the same work done by hand on
// machines of the same shape: boot the five containers with the provider, then
// `ansible-playbook -i <inventory> create.yml -e @<extra-vars>` from ansible/ — the inventory and
// extra-vars Michman would pass. Their ratio is Michman's overhead (API, engine, journal, one
// playbook run per service, health checks).
//
// Order: Michman first, then by hand; both use the same apt cache (BENCH_DATA_DIR persists it,
// default /var/tmp/michman-bench-nspawn), so the second run finds packages cached and the ratio
// is, if anything, unfavourable to Michman. Needs root and the Debian packages (see README).
// Environment: BENCH_DATA_DIR, BENCH_NETWORK (default 10.213.242.0/24), BENCH_TIMEOUT_MIN (60).
// `--service spark` (or BENCH_SERVICE=spark) benchmarks a Spark cluster instead: see nspawnSpark.ts.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { serve } from '../src/app.js';
import { nspawnMachinery } from '../src/machinery/nspawn.js';
import { buildInventory } from '../src/deploy/ansible/inventory.js';
import { runVars } from '../src/deploy/ansible/vars.js';
import { catalogTypes } from '../src/deploy/ansible/deployer.js';
import { serializeExtraVars } from '../src/domain/extraVars.js';
import type { OperationPlan } from '../src/domain/plan.js';
import type { StepContext, ProvisionedNode } from '../src/providers/types.js';
import { PACKAGE_ROOT } from '../src/paths.js';

const DATA = process.env.BENCH_DATA_DIR ?? '/var/tmp/michman-bench-nspawn';
const NETWORK = process.env.BENCH_NETWORK ?? '10.213.242.0/24';
const IMAGES = process.env.MICHMAN_NSPAWN_IMAGES_DIR ?? '/var/tmp/michman-nspawn-images';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MIN ?? 60) * 60_000;

const services = [
  { Type: 'redis', Config: { db_password: 'bench-redis-pw' } },
  { Type: 'postgresql', Config: { db_password: 'bench-pg-pw' } },
  { Type: 'mariadb', Config: { db_password: 'bench-maria-pw' } },
  { Type: 'slurm' },
  { Type: 'jupyter', Config: { token: 'bench-jupyter-token' } },
];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const secs = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  const port = await freePort();
  const cfg = { provider: 'nspawn', data_dir: DATA, nspawn_network: NETWORK, nspawn_images_dir: IMAGES, log_level: 'warn', listen: `127.0.0.1:${port}`, workers: 2 };
  const config = loadConfig({ env: {}, cwd: DATA, overrides: { ...cfg, database_url: join(mkdtempSync(join(tmpdir(), 'michman-bench-db-')), 'db.sqlite') } });
  const m = nspawnMachinery(config);
  const problems = await m.provider.problems();
  if (problems.length > 0) throw new Error(problems.join('; '));
  await m.provider.buildImage((l) => process.stdout.write(`${l}\n`));
  const running = await serve(config);
  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const t = await r.text();
    return { status: r.status, body: t ? JSON.parse(t) : undefined };
  };
  try {
    await call('POST', '/images', { Name: 'debian', AnsibleUser: 'root', CloudImageID: 'nspawn' });
    await call('POST', '/flavors', { Name: 'small', VCPUs: 1, RAM: 1024, Disk: 5 });
    await call('POST', '/projects', { DisplayName: 'bench', DefaultImage: 'debian', DefaultMasterFlavor: 'small', DefaultSlavesFlavor: 'small', DefaultStorageFlavor: 'small', DefaultMonitoringFlavor: 'small' });
    const body = { DisplayName: 'slurm', NSlaves: 2, Monitoring: true, Services: services };

    // --- Michman: POST → ACTIVE
    const t0 = Date.now();
    const created = await call('POST', '/projects/bench/clusters', body);
    if (created.status !== 201) throw new Error(`POST answered ${created.status}: ${JSON.stringify(created.body)}`);
    let status = '';
    while (Date.now() - t0 < TIMEOUT_MS) {
      status = (await call('GET', '/projects/bench/clusters/slurm-bench/status')).body?.Detail?.Data ?? '';
      if (status === 'ACTIVE' || status === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const michmanMs = Date.now() - t0;
    if (status !== 'ACTIVE') {
      const ops = await call('GET', '/projects/bench/clusters/slurm-bench/operations');
      throw new Error(`cluster ${status || 'not ACTIVE in time'}: ${JSON.stringify(ops.body?.Detail?.Data?.[0]?.Error)}`);
    }
    process.stdout.write(`michman: POST → ACTIVE ${secs(michmanMs)} s\n`);
    await call('DELETE', '/projects/bench/clusters/slurm-bench');
    while ((await call('GET', '/projects/bench/clusters/slurm-bench/status')).status !== 404) await new Promise((r) => setTimeout(r, 1000));

    // --- By hand: the same machines (five containers), then ansible-playbook create.yml
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
    for (const n of nodes) await m.provider.deleteNode(ctx, n);
    await m.provider.cleanupCluster(ctx);
    if (code !== 0) throw new Error(`ansible-playbook create.yml by hand exited with ${code}; see ${join(work, 'ansible.log')}`);
    rmSync(work, { recursive: true, force: true });

    const hand = bootMs + handMs;
    process.stdout.write(
      [
        `machine: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
        `michman  POST → ACTIVE (5 nodes, 5 services + monitoring):   ${secs(michmanMs)} s`,
        `by hand  boot 5 containers:                                   ${secs(bootMs)} s`,
        `by hand  ansible-playbook create.yml:                         ${secs(handMs)} s`,
        `by hand  total:                                               ${secs(hand)} s`,
        `ratio michman / by hand: ${(michmanMs / hand).toFixed(2)} (overhead ${secs(michmanMs - hand)} s)`,
        '',
      ].join('\n'),
    );
  } finally {
    await running.close();
    // Whatever failed: no container, namespace or link of the benchmark stays on the host.
    for (const id of await m.provider.clusterIds()) {
      const ctx: StepContext = { clusterId: id, clusterName: '', signal: new AbortController().signal, emit: () => undefined };
      for (const n of await m.provider.listNodes(ctx)) await m.provider.deleteNode(ctx, n).catch(() => undefined);
      await m.provider.cleanupCluster(ctx).catch(() => undefined);
    }
  }
}

const argAt = process.argv.indexOf('--service');
const service = (argAt >= 0 ? process.argv[argAt + 1] : undefined) ?? process.env.BENCH_SERVICE ?? 'slurm';
if (service !== 'slurm' && service !== 'spark') {
  process.stderr.write(`bench:nspawn: --service must be slurm or spark, got '${service}'\n`);
  process.exit(2);
}
(service === 'spark' ? import('./nspawnSpark.js').then((b) => b.benchSpark()) : main()).catch((e: unknown) => {
  process.stderr.write(`bench:nspawn: ${(e as Error).message}\n`);
  process.exit(1);
});
