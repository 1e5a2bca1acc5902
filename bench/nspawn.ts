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
import { mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { serve } from '../src/app.js';
import { nspawnMachinery } from '../src/machinery/nspawn.js';
import { apiClient, byHand, createBenchProject, deleteAndWait, freePort, removeAllClusters, secs, waitSettled } from './nspawnCommon.js';

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
  const call = apiClient(`http://127.0.0.1:${port}`);
  try {
    await createBenchProject(call, 1024);
    const body = { DisplayName: 'slurm', NSlaves: 2, Monitoring: true, Services: services };

    // --- Michman: POST → ACTIVE
    const t0 = Date.now();
    const created = await call('POST', '/projects/bench/clusters', body);
    if (created.status !== 201) throw new Error(`POST answered ${created.status}: ${JSON.stringify(created.body)}`);
    const status = await waitSettled(call, '/projects/bench/clusters/slurm-bench', t0, TIMEOUT_MS, 500);
    const michmanMs = Date.now() - t0;
    if (status !== 'ACTIVE') {
      const ops = await call('GET', '/projects/bench/clusters/slurm-bench/operations');
      throw new Error(`cluster ${status || 'not ACTIVE in time'}: ${JSON.stringify(ops.body?.Detail?.Data?.[0]?.Error)}`);
    }
    process.stdout.write(`michman: POST → ACTIVE ${secs(michmanMs)} s\n`);
    await deleteAndWait(call, '/projects/bench/clusters/slurm-bench');

    // --- By hand: the same machines (five containers), then ansible-playbook create.yml
    const { bootMs, handMs } = await byHand(call, m, body);

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
    await removeAllClusters(m);
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
