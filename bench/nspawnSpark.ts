// `npm run bench:nspawn -- --service spark` (or BENCH_SERVICE=spark): POST → ACTIVE of a Spark
// cluster (1 master + 2 slaves, Spark standalone + HDFS, the spark role from the registries route)
// on the nspawn provider, cold and warm, next to the same playbook run by hand:
//
//   cold:    a fresh data directory (so a fresh apt-cacher-ng cache under it) and a fresh
//            nspawn_artifacts_dir: every .deb and every jar is downloaded during the run. The node
//            image (nspawn_images_dir) is the shared, already built one: building it is not part
//            of a cluster's start.
//   warm:    the same caches, now filled by the cold run; a new cluster of the same shape.
//   by hand: the same caches and provider boot 3 containers, then
//            `ansible-playbook -i <inventory> create.yml -e @<extra-vars>` from ansible/ with the
//            inventory and extra vars Michman passes (artifact cache mirrors included).
//
// The ratio warm / by hand is Michman's overhead (API, engine, journal, artifact check, the
// deployer's health checks); the targets are ratio ≤ 1.2 and warm ≤ 90 s. Each run prints
// /proc/loadavg at its start and end (the machine may be shared) and a timeline of its events.
// BENCH_SPARK_COLD=0 skips the cold run: the warm one then uses BENCH_DATA_DIR and the shared
// /var/tmp/michman-artifacts as they are (warm only if they already served a Spark cluster).
// Environment: BENCH_NETWORK (default 10.213.243.0/24), BENCH_DATA_DIR, BENCH_TIMEOUT_MIN (60),
// MICHMAN_NSPAWN_IMAGES_DIR, MICHMAN_ARTIFACTS_DIR (the warm-only artifact cache).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { serve } from '../src/app.js';
import { nspawnMachinery } from '../src/machinery/nspawn.js';
import { apiClient, byHand, createBenchProject, deleteAndWait, freePort, removeAllClusters, secs, waitSettled } from './nspawnCommon.js';

const NETWORK = process.env.BENCH_NETWORK ?? '10.213.243.0/24';
const IMAGES = process.env.MICHMAN_NSPAWN_IMAGES_DIR ?? '/var/tmp/michman-nspawn-images';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MIN ?? 60) * 60_000;
const COLD = process.env.BENCH_SPARK_COLD !== '0';
const BODY = { NSlaves: 2, Services: [{ Type: 'spark' }] };

const load = () => readFileSync('/proc/loadavg', 'utf8').trim();
const out = (line: string) => process.stdout.write(`${line}\n`);

interface Event {
  Time?: string | number;
  Phase?: string;
  Node?: string;
  Service?: string;
  Message?: string;
}

/**
 * Where a run's time went: task starts, playbook totals and the engine's steps, with their offset
 * from the POST (as precise as the events' Time), without the artifact cache's line per file.
 */
function timeline(events: Event[], t0: number): string[] {
  const marks = /(ok=\d+ changed=\d+ in|ready|reachable|booted|healthy|artifact cache \/|ACTIVE|started|running)/i;
  return events
    .filter((e, i) => marks.test(e.Message ?? '') && e.Message !== events[i - 1]?.Message)
    .map((e) => {
      const at = typeof e.Time === 'number' ? e.Time : Date.parse(String(e.Time));
      const where = [e.Phase, e.Node, e.Service].filter(Boolean).join('/');
      return `  +${secs(at - t0).padStart(6)} s  ${where}: ${(e.Message ?? '').split('\n')[0]!.slice(0, 140)}`;
    });
}

export async function benchSpark(): Promise<void> {
  const data = COLD ? mkdtempSync('/var/tmp/michman-bench-spark-') : (process.env.BENCH_DATA_DIR ?? '/var/tmp/michman-bench-nspawn');
  const artifacts = COLD ? join(data, 'artifacts') : (process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts');
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  const cfg = {
    provider: 'nspawn',
    data_dir: data,
    nspawn_network: NETWORK,
    nspawn_images_dir: IMAGES,
    nspawn_artifacts_dir: artifacts,
    log_level: 'warn',
    listen: `127.0.0.1:${port}`,
    workers: 2,
  };
  const dbDir = mkdtempSync(join(tmpdir(), 'michman-bench-db-'));
  const config = loadConfig({ env: {}, cwd: data, overrides: { ...cfg, database_url: join(dbDir, 'db.sqlite') } });
  const m = nspawnMachinery(config);
  const problems = await m.provider.problems();
  if (problems.length > 0) throw new Error(problems.join('; '));
  out(`machine: ${cpus().length} cores; network ${NETWORK}; data ${data}; artifacts ${artifacts}; images ${IMAGES}`);
  await m.provider.buildImage((l) => out(l));
  const running = await serve(config);
  const call = apiClient(`http://127.0.0.1:${port}`);
  const results: string[] = [];

  /** POST → ACTIVE of one cluster, then its delete; returns the POST → ACTIVE time. */
  const michman = async (label: string, name: string): Promise<number> => {
    const l0 = load();
    const t0 = Date.now();
    const created = await call('POST', '/projects/bench/clusters', { ...BODY, DisplayName: name });
    if (created.status !== 201) throw new Error(`POST answered ${created.status}: ${JSON.stringify(created.body)}`);
    const path = `/projects/bench/clusters/${name}-bench`;
    const status = await waitSettled(call, path, t0, TIMEOUT_MS, 250);
    const ms = Date.now() - t0;
    const l1 = load();
    const events = ((await call('GET', `${path}/events?limit=1000`)).body?.Detail?.Data ?? []) as Event[];
    out(`${label}: timeline`);
    for (const line of timeline(events, t0)) out(line);
    if (status !== 'ACTIVE') {
      const ops = await call('GET', `${path}/operations`);
      throw new Error(`${label}: cluster ${status || 'not ACTIVE in time'}: ${JSON.stringify(ops.body?.Detail?.Data?.[0]?.Error)}`);
    }
    out(`${label}: POST → ACTIVE ${secs(ms)} s (loadavg at start ${l0}; at end ${l1})`);
    results.push(`michman  ${label.padEnd(5)} POST → ACTIVE (1 master + 2 slaves, spark + HDFS): ${secs(ms).padStart(6)} s   loadavg ${l0.split(' ').slice(0, 3).join(' ')} → ${l1.split(' ').slice(0, 3).join(' ')}`);
    await deleteAndWait(call, path);
    return ms;
  };

  try {
    await createBenchProject(call, 2048);

    const coldMs = COLD ? await michman('cold', 'sparkcold') : undefined;
    const warmMs = await michman('warm', 'sparkwarm');

    // --- By hand: the same machines (three containers), then ansible-playbook create.yml
    const l0 = load();
    let l1 = '';
    const { bootMs, handMs } = await byHand(call, m, BODY, {
      // What the nspawn machinery adds for spark (src/machinery/nspawn.ts): the artifact cache's mirrors.
      extraVars: { michman_pypi_mirror: `${m.provider.artifacts.url}/pypi`, michman_maven_mirror: `${m.provider.artifacts.url}/maven2` },
      afterPlaybook: () => (l1 = load()),
    });
    const hand = bootMs + handMs;
    out(`by hand: boot ${secs(bootMs)} s + create.yml ${secs(handMs)} s (loadavg at start ${l0}; at end ${l1})`);

    out('');
    for (const r of results) out(r);
    out(`by hand  boot 3 containers:                                   ${secs(bootMs).padStart(6)} s`);
    out(`by hand  ansible-playbook create.yml:                         ${secs(handMs).padStart(6)} s`);
    out(`by hand  total:                                               ${secs(hand).padStart(6)} s   loadavg ${l0.split(' ').slice(0, 3).join(' ')} → ${l1.split(' ').slice(0, 3).join(' ')}`);
    out(`ratio michman warm / by hand: ${(warmMs / hand).toFixed(2)} (target ≤ 1.2; overhead ${secs(warmMs - hand)} s)`);
    if (coldMs !== undefined) out(`cold - warm: ${secs(coldMs - warmMs)} s (what empty caches cost, if the load stayed the same: compare the loadavg)`);
    out(`warm POST → ACTIVE ≤ 90 s: ${warmMs <= 90_000 ? 'yes' : 'no'} (${secs(warmMs)} s)`);
  } finally {
    await running.close();
    await removeAllClusters(m);
    rmSync(dbDir, { recursive: true, force: true });
    // The cold run's caches were made for it alone.
    if (COLD) rmSync(data, { recursive: true, force: true });
  }
}
