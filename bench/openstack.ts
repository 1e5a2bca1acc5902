// bench:openstack — on the real OpenStack testbed (MICHMAN_TEST_OS_CLOUDS etc. from
// /var/lib/michman-testbed/testbed.env): the time of a single server create (port, server to
// ACTIVE, floating IP), then the makespan of a master + 20 slaves created in parallel, and their
// ratio (target ≤ 2: parallel creates must not queue behind each other on our side).
// BENCH_OS_SLAVES (default 20), BENCH_OS_SINGLE_RUNS (default 3, median taken).
//
// Also printed, to tell our side from the cloud's: when the last server create was sent (all of
// them leave at once if nothing queues on our side), and, when the testbed runs on this machine,
// the CPU time its neutron-server and Nova processes used during the parallel create. On a 2-core
// testbed neutron-server (one API worker) is the bottleneck: about 2 s of its CPU per node.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { envNumber, log, table, median, percentile } from './common.js';
import { haveTestbed, liveProvider, testbed } from '../test/openstack-live/testbed.js';
import type { StepContext } from '../src/providers/types.js';
import type { OperationPlan } from '../src/domain/plan.js';
import type { NodeRole } from '../src/domain/topology.js';

const SLAVES = envNumber('BENCH_OS_SLAVES', 20, { integer: true, min: 1 });
const SINGLE_RUNS = envNumber('BENCH_OS_SINGLE_RUNS', 3, { integer: true, min: 1 });

if (!haveTestbed) {
  process.stderr.write('bench:openstack needs the testbed: source /var/lib/michman-testbed/testbed.env (scripts/openstack-testbed.sh up)\n');
  process.exit(2);
}

const provider = liveProvider();
const clusters: string[] = [];

/** CPU seconds used so far by this machine's processes whose command line contains `needle`. */
function cpuSeconds(needle: string): number | undefined {
  let ticks = 0;
  let found = false;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
      found = true;
    } catch {
      // the process ended while we looked
    }
  }
  return found ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
}

function clusterOf(name: string, slaves: number): StepContext & { plan: OperationPlan } {
  const nodes = [
    { role: 'master' as NodeRole, name: `${name}-master`, group: `${name}_master`, flavor: testbed.flavor, services: [] },
    ...Array.from({ length: slaves }, (_, i) => ({ role: 'slave' as NodeRole, name: `${name}-slave-${i + 1}`, group: `${name}_slaves`, flavor: testbed.flavor, index: i + 1, services: [] })),
  ];
  const clusterId = randomUUID();
  clusters.push(clusterId);
  const signal = AbortSignal.timeout(20 * 60_000);
  setMaxListeners(0, signal); // one listener per node in flight, as in the engine's phases
  return { clusterId, clusterName: name, signal, emit: () => undefined, plan: { image: testbed.image, nodes, services: [], levels: [] } };
}

const specs = (ctx: { plan: OperationPlan }) => ctx.plan.nodes.map((n) => ({ name: n.name, role: n.role, flavor: n.flavor, image: ctx.plan.image }));

async function cleanup() {
  for (const id of clusters.splice(0)) {
    const t = Date.now();
    await provider.removeCluster(id, AbortSignal.timeout(10 * 60_000)).catch((e: Error) => log(`cleanup of ${id} failed: ${e.message}`));
    log(`removed cluster ${id} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().then(() => process.exit(130)));

async function main() {
  const big = clusterOf(`bench-${Date.now().toString(36)}`, SLAVES);
  const quota = await provider.checkQuota(big.plan);
  log(`quota for ${1 + SLAVES} nodes: ${quota.items.map((i) => `${i.resource} ${i.need}/${i.available ?? '∞'}`).join(', ')}`);
  if (!quota.ok) throw new Error(`the testbed project's quota is too small: ${quota.items.filter((i) => i.short).map((i) => i.resource).join(', ')}`);

  const singles: number[] = [];
  for (let i = 0; i < SINGLE_RUNS; i++) {
    const one = clusterOf(`bench1-${i}-${Date.now().toString(36)}`, 0);
    await provider.prepareCluster(one);
    const t = performance.now();
    await provider.ensureNode(one, specs(one)[0]!);
    singles.push(performance.now() - t);
    log(`single create ${i + 1}/${SINGLE_RUNS}: ${(singles.at(-1)! / 1000).toFixed(2)} s`);
    await provider.removeCluster(one.clusterId);
    clusters.splice(clusters.indexOf(one.clusterId), 1);
  }
  const single = median(singles);

  await provider.prepareCluster(big);
  const perNode: number[] = [];
  // ensureNode announces each server create just before it sends it.
  const sentAt: number[] = [];
  big.emit = (e) => void (e.message.startsWith('creating server') && sentAt.push(performance.now() - t0));
  const cpu0 = { neutron: cpuSeconds('neutron-server'), nova: cpuSeconds('/usr/bin/nova-') };
  const t0 = performance.now();
  const results = await Promise.allSettled(
    specs(big).map(async (s) => {
      const n = await provider.ensureNode(big, s);
      perNode.push(performance.now() - t0);
      return n;
    }),
  );
  const makespan = performance.now() - t0;
  const cpu1 = { neutron: cpuSeconds('neutron-server'), nova: cpuSeconds('/usr/bin/nova-') };
  const used = (k: 'neutron' | 'nova') => (cpu0[k] !== undefined && cpu1[k] !== undefined ? `${(cpu1[k]! - cpu0[k]!).toFixed(1)} s (${Math.round((100 * (cpu1[k]! - cpu0[k]!)) / (makespan / 1000))}% of one core)` : 'not on this machine');
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const f of failed) log(`node failed: ${(f.reason as Error).message}`);

  const s = (ms: number) => (ms / 1000).toFixed(2);
  process.stdout.write(
    `\n${table(
      ['measure', 'value'],
      [
        ['single server create (median of ' + SINGLE_RUNS + '), s', s(single)],
        [`nodes created in parallel`, `${1 + SLAVES - failed.length}/${1 + SLAVES}`],
        ['makespan, s', s(makespan)],
        ['node ready p50 / p90, s', `${s(percentile(perNode, 50))} / ${s(percentile(perNode, 90))}`],
        ['server creates sent: first / last, s', sentAt.length ? `${s(Math.min(...sentAt))} / ${s(Math.max(...sentAt))}` : 'none (adopted)'],
        ['neutron-server CPU during the create', used('neutron')],
        ['Nova CPU during the create', used('nova')],
        ['makespan ÷ single create (target ≤ 2)', (makespan / single).toFixed(2)],
      ],
      [false, true],
    )}\n\n`,
  );
  const td = performance.now();
  await cleanup();
  log(`delete of everything took ${s(performance.now() - td)} s`);
  if (failed.length > 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench:openstack: ${(err as Error).message}\n`);
  await cleanup();
  process.exit(1);
});
