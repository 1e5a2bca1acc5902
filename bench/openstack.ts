// bench:openstack — on the real OpenStack testbed (MICHMAN_TEST_OS_CLOUDS etc. from
// /var/lib/michman-testbed/testbed.env): the time of a single server create (port, server to
// ACTIVE, floating IP), then the makespan of a master + 20 slaves created in parallel, and their
// ratio (target ≤ 2: parallel creates must not queue behind each other on our side).
// BENCH_OS_SLAVES (default 20), BENCH_OS_SINGLE_RUNS (default 3, median taken).
import { randomUUID } from 'node:crypto';
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
  const t0 = performance.now();
  const results = await Promise.allSettled(
    specs(big).map(async (s) => {
      const n = await provider.ensureNode(big, s);
      perNode.push(performance.now() - t0);
      return n;
    }),
  );
  const makespan = performance.now() - t0;
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
