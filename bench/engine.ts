// Engine benchmark (`npm run bench:engine`): N concurrent creates (default 200) of clusters of one
// master + S slaves (default 10) on the fake provider with a boot latency of 2 s, through the real
// API over HTTP on 127.0.0.1, built by in-process workers on SQLite — and on MariaDB/MySQL and
// PostgreSQL when MICHMAN_TEST_MYSQL_URL / MICHMAN_TEST_PG_URL are set (a fresh database is
// created for the run and dropped afterwards, as test/helpers/stores.ts does).
//
// Measured per backend:
// - makespan: from the moment the first POST is sent to the last create operation's finish (the
//   worker commits the operation's end and the cluster's ACTIVE in one transaction; its time is
//   the operation's finished_at), also shown as first seen through the API's cluster list;
// - critical path: what one cluster needs at the least. Its nodes boot in parallel, so it is one
//   boot latency, plus the deploy latency of each dependency level (none here: Services is []);
// - ratio = makespan ÷ critical path, target ≤ 1.3;
// - lost operations: not succeeded within BENCH_OP_TIMEOUT_S of the first POST (POST refused,
//   failed, or still unfinished), target 0. Also checked: every node was created exactly once.
//
// Environment: BENCH_CLUSTERS (default 200), BENCH_SLAVES (10), BENCH_BOOT_MS (2000),
// BENCH_DEPLOY_MS (fake deploy latency per service, 0), BENCH_CONCURRENCY (operations per worker,
// 200), BENCH_WORKER_INSTANCES (Worker objects sharing the database, 1), BENCH_POLL_MS (worker poll
// interval; default the Worker's own default, as in `michman serve`), BENCH_OP_TIMEOUT_S (120),
// BENCH_BACKENDS (comma list of sqlite,mysql,postgres to run; default every configured one),
// BENCH_STRICT=1 (exit 1 when a target is missed; default: report only).
// With --multi: separate API replica and worker processes on MariaDB/PostgreSQL (bench/engineMulti.ts).
import { cpus, loadavg } from 'node:os';
import { Worker as Thread } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { backends as configuredBackends, type Backend } from '../test/helpers/stores.js';
import { buildServer } from '../src/api/server.js';
import { Worker } from '../src/engine/worker.js';
import { FakeProvider } from '../src/providers/fake.js';
import { NoopDeployer } from '../src/deploy/noop.js';
import { Cleanup, cpuSince, cpuSnapshot, envNumber, fix, log, percentile, postClient, postClientText, request, runSplit, sleep, table } from './common.js';
import type { PostJob, PostResult } from './postWorker.js';

// ---- settings --------------------------------------------------------------------------------------

const CLUSTERS = envNumber('BENCH_CLUSTERS', 200, { integer: true, min: 1 });
const SLAVES = envNumber('BENCH_SLAVES', 10, { integer: true, min: 1 });
const BOOT_MS = envNumber('BENCH_BOOT_MS', 2000, { min: 1 });
const DEPLOY_MS = envNumber('BENCH_DEPLOY_MS', 0);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 200, { integer: true, min: 1 });
const INSTANCES = envNumber('BENCH_WORKER_INSTANCES', 1, { integer: true, min: 1 });
const POLL_MS = process.env.BENCH_POLL_MS ? envNumber('BENCH_POLL_MS', 500, { min: 1 }) : undefined;
const OP_TIMEOUT_MS = envNumber('BENCH_OP_TIMEOUT_S', 120, { min: 1 }) * 1000;
const STRICT = process.env.BENCH_STRICT === '1';
const CLIENT = postClient();
const API_POLL_MS = 100;

const RATIO_TARGET = 1.3;
const LEASE_MS = 30_000; // the default lease_seconds of `michman serve`
// The fake deployer is called once per dependency level; with Services [] there are none.
const DEPLOY_LEVELS = 0;
const CRITICAL_MS = BOOT_MS + DEPLOY_LEVELS * DEPLOY_MS;

// ---- backends --------------------------------------------------------------------------------------

// The same scratch databases as the test suite (fresh per run, dropped after); BENCH_BACKENDS picks some.
function backends(): Backend[] {
  const all = configuredBackends('michman_bench');
  const only = process.env.BENCH_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  return only ? all.filter((b) => only.includes(b.name)) : all;
}

// ---- one run ---------------------------------------------------------------------------------------

interface Result {
  backend: string;
  /** 1-minute load average at the start and the end of the run. */
  load: string;
  accepted: number;
  postP50: number;
  postP99: number;
  postSpan: number;
  makespanMs: number;
  observedMs: number;
  succeeded: number;
  failed: number;
  unfinished: number;
  lost: number;
  nodes: number;
  duplicateNodes: number;
  queueP50: number;
  queueMax: number;
  runP50: number;
  runMax: number;
  /** p50/max s of: claimed → first boot, the boots, last boot → finished. */
  split: string;
  /** Every process's CPU seconds from the first POST to the last create seen ended, and their share of all cores. */
  cpuBusyS: number;
  cpuShare: number;
  errors: string[];
}

async function runOn(backend: Backend, cleanup: Cleanup): Promise<Result> {
  const load0 = loadavg()[0] ?? NaN;
  const opened = await backend.open();
  let closed = false;
  const closeAll: Array<() => Promise<unknown>> = [];
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const f of closeAll.splice(0).reverse()) await f().catch((e: Error) => log(`${backend.name}: cleanup: ${e.message}`));
    await opened.cleanup();
  };
  cleanup.add(`${backend.name} store`, close);
  try {
    const { store } = opened;
    const provider = new FakeProvider({ bootLatencyMs: BOOT_MS });
    const deployer = new NoopDeployer({ deployLatencyMs: DEPLOY_MS });
    // As in `michman serve`: committing an operation wakes the in-process workers (see below).
    let workers: Worker[] = [];
    const app: FastifyInstance = await buildServer({ store, logger: false, deployer, onEnqueue: () => workers.forEach((w) => w.notify()) });
    closeAll.push(() => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: 0 });

    const expect201 = async (path: string, body: unknown) => {
      const r = await request('POST', `${base}${path}`, body);
      if (r.status !== 201) throw new Error(`POST ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
    };
    await expect201('/images', { Name: 'bench-image', AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' });
    await expect201('/flavors', { Name: 'bench-flavor', VCPUs: 2, RAM: 4096, Disk: 20 });
    await expect201('/projects', {
      DisplayName: 'bench',
      GroupID: 'bench',
      Description: 'engine benchmark',
      DefaultImage: 'bench-image',
      DefaultMasterFlavor: 'bench-flavor',
      DefaultSlavesFlavor: 'bench-flavor',
      DefaultStorageFlavor: 'bench-flavor',
      DefaultMonitoringFlavor: 'bench-flavor',
    });
    // The plan must be what the benchmark claims: 1 master + SLAVES slaves, no services.
    const dry = await request('POST', `${base}/projects/bench/clusters?dryRun=true`, { DisplayName: 'dry', NSlaves: SLAVES, Services: [] });
    const planNodes = (dry.json?.Detail?.Data?.Plan?.nodes ?? []) as Array<{ role: string }>;
    if (dry.status !== 200 || planNodes.length !== SLAVES + 1 || planNodes.filter((n) => n.role === 'master').length !== 1) {
      throw new Error(`dry run plan is not 1 master + ${SLAVES} slaves: ${dry.status} ${dry.text.slice(0, 300)}`);
    }

    const errors: string[] = [];
    workers = Array.from(
      { length: INSTANCES },
      (_, i) =>
        new Worker(store, {
          provider,
          deployer,
          concurrency: CONCURRENCY,
          leaseMs: LEASE_MS,
          pollMs: POLL_MS,
          id: `bench-${backend.name}-${i}`,
          log: { info: () => undefined, error: (obj, msg) => void errors.push(`${msg}: ${String((obj as { err?: Error }).err?.message ?? '')}`) },
        }),
    );
    closeAll.push(() => Promise.all(workers.map((w) => w.stop())));
    for (const w of workers) w.start();
    await sleep(50); // let the workers make their first (empty) claim, as in a running `michman serve`

    // ---- the load: every POST at once ----
    log(`${backend.name}: ${CLUSTERS} concurrent POSTs of 1 master + ${SLAVES} slaves, boot ${BOOT_MS} ms, ${INSTANCES} worker(s) × ${CONCURRENCY}`);
    // The clients run in a worker thread (bench/postWorker.ts): their own event loop, like real
    // clients, not a share of the server's. t0 is when that thread sends the first POST.
    const job: PostJob = { base, clusters: CLUSTERS, slaves: SLAVES, ...CLIENT };
    const cpu0 = cpuSnapshot();
    const sent = await new Promise<PostResult>((resolve, reject) => {
      const t = new Thread(new URL('./postWorker.js', import.meta.url), { workerData: job });
      t.once('message', (m: PostResult | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
      t.once('error', reject);
      t.once('exit', (code) => code !== 0 && reject(new Error(`post worker exited with ${code}`)));
    });
    const t0 = sent.t0;
    const posts = sent.posts.map((p) => ({ ...p, end: p.endAt - t0 }));
    const accepted = posts.filter((p) => p.ok).length;
    for (const p of posts.filter((x) => !x.ok).slice(0, 5)) errors.push(`POST refused: ${p.detail}`);

    // ---- wait, through the API, until every accepted cluster is ACTIVE or FAILED (bounded) ----
    let observedMs = NaN;
    let lastCounts = '';
    for (;;) {
      const elapsed = Date.now() - t0;
      if (elapsed > OP_TIMEOUT_MS) {
        log(`${backend.name}: timed out after ${Math.round(elapsed / 1000)} s (${lastCounts})`);
        break;
      }
      const counts = new Map<string, number>();
      let after: string | null = null;
      let pages = 0;
      do {
        const url: string = `${base}/projects/bench/clusters?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`;
        const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        const body = (await res.json()) as { Detail?: { Data?: Array<{ EntityStatus: string }> } };
        for (const c of body.Detail?.Data ?? []) counts.set(c.EntityStatus, (counts.get(c.EntityStatus) ?? 0) + 1);
        after = res.headers.get('x-next-cursor');
      } while (after && ++pages < 100);
      lastCounts = [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
      const active = counts.get('ACTIVE') ?? 0;
      if (active === accepted && Number.isNaN(observedMs)) observedMs = Date.now() - t0;
      if (active + (counts.get('FAILED') ?? 0) >= accepted) break;
      await sleep(API_POLL_MS);
    }

    const cpu = cpuSince(cpu0);

    // ---- outcome, from the operation rows ----
    const ops = await store.db
      .selectFrom('operations')
      .select(['status', 'created_at', 'started_at', 'finished_at', 'attempt', 'steps'])
      .where('kind', '=', 'create')
      .execute();
    const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));
    const done = ops.filter((o) => o.status === 'succeeded' && num(o.finished_at) - t0 <= OP_TIMEOUT_MS);
    const failed = ops.filter((o) => o.status === 'failed' || o.status === 'cancelled').length;
    const unfinished = ops.filter((o) => o.status === 'queued' || o.status === 'running').length;
    const finishes = done.map((o) => num(o.finished_at));
    const makespanMs = done.length === CLUSTERS ? Math.max(...finishes) - t0 : NaN;
    const queue = ops.filter((o) => o.started_at !== null).map((o) => num(o.started_at) - num(o.created_at));
    const run = done.map((o) => num(o.finished_at) - num(o.started_at));
    const reclaimed = ops.filter((o) => Number(o.attempt) > 1).length;
    if (reclaimed > 0) errors.push(`${reclaimed} operation(s) were claimed more than once`);

    const creations = [...provider.creations.values()];
    const result: Result = {
      backend: backend.name,
      load: `${fix(load0, 2)} → ${fix(loadavg()[0] ?? NaN, 2)}`,
      accepted,
      postP50: percentile(posts.map((p) => p.ms), 50),
      postP99: percentile(posts.map((p) => p.ms), 99),
      postSpan: Math.max(...posts.map((p) => p.end)),
      makespanMs,
      observedMs,
      succeeded: done.length,
      failed,
      unfinished,
      lost: CLUSTERS - done.length,
      nodes: creations.reduce((a, b) => a + b, 0),
      duplicateNodes: creations.filter((n) => n > 1).length,
      queueP50: percentile(queue, 50),
      queueMax: Math.max(...queue),
      runP50: percentile(run, 50),
      runMax: Math.max(...run),
      split: runSplit(done),
      cpuBusyS: cpu.busyS,
      cpuShare: cpu.share,
      errors,
    };
    log(`${backend.name}: ${done.length}/${CLUSTERS} succeeded, makespan ${fix(makespanMs / 1000, 2)} s`);
    return result;
  } finally {
    await close();
  }
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const list = backends();
  const cleanup = new Cleanup(list.length * (OP_TIMEOUT_MS + 120_000));
  const results: Result[] = [];
  const failures: string[] = [];
  const load0 = loadavg();
  try {
    for (const b of list) {
      try {
        results.push(await runOn(b, cleanup));
      } catch (err) {
        failures.push(`${b.name}: ${(err as Error).message}`);
        log(`${b.name}: FAILED: ${(err as Error).stack ?? (err as Error).message}`);
      }
    }
  } finally {
    await cleanup.run();
  }
  const load1 = loadavg();

  const out: string[] = [''];
  out.push(
    `Michman engine benchmark — fake provider, ${CLUSTERS} concurrent creates of 1 master + ${SLAVES} slaves (Services []), ` +
      `boot latency ${BOOT_MS} ms, deploy latency ${DEPLOY_MS} ms,`,
  );
  out.push(
    `POSTs over HTTP on 127.0.0.1 from a client thread (${postClientText(CLIENT)}), ${INSTANCES} in-process Worker(s) × concurrency ${CONCURRENCY}, lease ${LEASE_MS / 1000} s, poll ${POLL_MS ?? 'default (500)'} ms; ` +
      `${cpus().length} CPU(s), node ${process.version}, 1-minute load average ${fix(load0[0] ?? 0, 2)} at start → ${fix(load1[0] ?? 0, 2)} at end`,
  );
  out.push(`critical path = one node's boot (nodes boot in parallel) + deploy per dependency level (${DEPLOY_LEVELS} levels) = ${fix(CRITICAL_MS / 1000, 2)} s`);
  out.push('');
  out.push(
    table(
      ['backend', 'load 1m start → end', 'accepted', 'POST p50/p99 ms', 'POSTs done s', 'makespan s', 'seen via API s', 'ratio', 'CPU s (share)', 'CPU ms/create', 'succeeded', 'failed', 'unfinished', 'lost', 'nodes', 'dup nodes', 'queue p50/max s', 'run p50/max s', 'run = before boot · boots · after, p50/max s'],
      results.map((r) => [
        r.backend,
        r.load,
        `${r.accepted}/${CLUSTERS}`,
        `${fix(r.postP50, 0)}/${fix(r.postP99, 0)}`,
        fix(r.postSpan / 1000, 2),
        fix(r.makespanMs / 1000, 2),
        fix(r.observedMs / 1000, 2),
        fix(r.makespanMs / CRITICAL_MS, 3),
        `${fix(r.cpuBusyS, 1)} (${fix(r.cpuShare * 100, 0)}%)`,
        fix((r.cpuBusyS * 1000) / CLUSTERS, 1),
        String(r.succeeded),
        String(r.failed),
        String(r.unfinished),
        String(r.lost),
        `${r.nodes}/${CLUSTERS * (SLAVES + 1)}`,
        String(r.duplicateNodes),
        `${fix(r.queueP50 / 1000, 2)}/${fix(r.queueMax / 1000, 2)}`,
        `${fix(r.runP50 / 1000, 2)}/${fix(r.runMax / 1000, 2)}`,
        r.split,
      ]),
      [false, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
  );
  out.push('');
  out.push('makespan = first POST sent → last create operation finished (cluster ACTIVE, same transaction); ratio = makespan ÷ critical path. CPU = the CPU time of every process on the machine (Michman, the database, the clients) over that span, and its share of all cores: near 100% the run is bound by the CPU of this machine.');
  out.push(`lost = not succeeded within ${OP_TIMEOUT_MS / 1000} s of the first POST; queue = claimed − accepted; run = finished − claimed.`);
  out.push(`run split, from the journal: before = claimed → first node's boot starts; boots = first boot start → last boot end (${BOOT_MS} ms ideal); after = last boot end → finished.`);
  for (const r of results) for (const e of r.errors.slice(0, 10)) out.push(`  note [${r.backend}]: ${e}`);

  const checks: Array<{ name: string; pass: boolean; detail: string }> = [];
  for (const r of results) {
    const ratio = r.makespanMs / CRITICAL_MS;
    checks.push({ name: `${r.backend} makespan ÷ critical path`, pass: ratio <= RATIO_TARGET, detail: `${fix(ratio, 3)} (target ≤ ${RATIO_TARGET})` });
    checks.push({
      name: `${r.backend} operations lost`,
      pass: r.lost === 0 && r.duplicateNodes === 0,
      detail: `${r.lost} lost, ${r.duplicateNodes} node(s) created twice (target 0)`,
    });
  }
  for (const f of failures) checks.push({ name: f.split(':')[0]!, pass: false, detail: `run failed: ${f}` });
  out.push('');
  for (const c of checks) out.push(`  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail}`);
  const missed = checks.filter((c) => !c.pass);
  out.push('');
  out.push(
    missed.length === 0
      ? `VERDICT: PASS — makespan ≤ ${RATIO_TARGET}× the critical path and no operation lost on ${results.map((r) => r.backend).join(', ')}`
      : `VERDICT: FAIL — missed: ${missed.map((c) => c.name).join('; ')}`,
  );
  if (!process.env.MICHMAN_TEST_MYSQL_URL || !process.env.MICHMAN_TEST_PG_URL) {
    out.push('(MariaDB/PostgreSQL run only when MICHMAN_TEST_MYSQL_URL / MICHMAN_TEST_PG_URL are set.)');
  }
  process.stdout.write(out.join('\n') + '\n');
  return (missed.length > 0 && STRICT) || failures.length > 0 ? 1 : 0;
}

// `--multi` (or BENCH_MODE=multi): API replicas and worker processes sharing one server database (bench/engineMulti.ts).
const multi = process.argv.includes('--multi') || process.env.BENCH_MODE === 'multi';
(multi ? import('./engineMulti.js').then((m) => m.mainMulti()) : main()).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`[bench] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
