// Local provider benchmark (`npm run bench:local`): how long Michman takes from POST to ACTIVE for a
// one-node Redis cluster on the local provider (a real redis-server on a 127.x address), against a
// bare `redis-server` started by hand on the same machine, from spawn to the first PONG.
//
// Michman side: the API (buildServer) on 127.0.0.1, SQLite in a temp dir, the built-in catalog, the
// local provider and deployer, and one in-process Worker configured as `michman serve` configures it
// (concurrency 4, lease 30 s, the Worker's default poll interval). Time = POST sent → GET …/status
// answers ACTIVE (polled every 10 ms). Each run is checked (AUTH + PING at the URL the API
// returned) and then deleted, and waits until the cluster is gone.
//
// Bare side: `redis-server` with the settings Michman's config file uses (bind to one loopback
// address, append-only file in a fresh dir, requirepass, no RDB saves), spawned directly; time =
// spawn → first +PONG after AUTH, trying every 2 ms. Then SIGTERM and the dir is removed.
//
// Target: median and p90 of Michman ≤ 3 × the bare one + 1 s. Loopback only: Michman's nodes come
// from BENCH_ADDRESS_BASE (default 127.91.0.0/16), bare servers listen on 127.92.0.x.
//
// Environment: BENCH_REPEATS (default 5), BENCH_POLL_MS (worker poll interval; default the Worker's
// default), BENCH_ADDRESS_BASE, BENCH_TIMEOUT_S (per POST → ACTIVE, default 60),
// BENCH_STRICT=1 (exit 1 when the target is missed; default: report only).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Store } from '../src/store/store.js';
import { buildServer } from '../src/api/server.js';
import { loadBuiltinCatalogIfEmpty } from '../src/catalog.js';
import { Worker } from '../src/engine/worker.js';
import { LocalProvider } from '../src/providers/local/index.js';
import { LocalDeployer } from '../src/deploy/local/index.js';
import { LOCAL_SERVICE_MODULES } from '../src/deploy/local/deployer.js';
import { findProcesses } from '../src/host/processes.js';
import { redisCommands } from '../src/deploy/local/net.js';
import { Cleanup, envNumber, fix, log, median, percentile, request, sleep, table } from './common.js';

const REPEATS = envNumber('BENCH_REPEATS', 5, { integer: true, min: 1 });
const POLL_MS = process.env.BENCH_POLL_MS ? envNumber('BENCH_POLL_MS', 500, { min: 1 }) : undefined;
const ADDRESS_BASE = process.env.BENCH_ADDRESS_BASE || '127.91.0.0/16';
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_S', 60, { min: 1 }) * 1000;
const STRICT = process.env.BENCH_STRICT === '1';
const REDIS = '/usr/bin/redis-server';
const BARE_PORT = 6379;
const bareAddress = (i: number) => `127.92.0.${10 + i}`;

// ---- bare redis-server -----------------------------------------------------------------------------

async function bareRun(root: string, i: number, cleanup: Cleanup): Promise<number> {
  const dir = join(root, `bare-${i}`);
  mkdirSync(dir, { recursive: true });
  const password = randomBytes(12).toString('hex');
  const address = bareAddress(i);
  const args = [
    '--bind', address, '--port', String(BARE_PORT), '--protected-mode', 'yes', '--daemonize', 'no',
    '--dir', dir, '--appendonly', 'yes', '--save', '', '--requirepass', password, '--logfile', '',
  ];
  let child: ChildProcess | undefined;
  let exited = false;
  const stop = async () => {
    if (child && !exited) {
      child.kill('SIGTERM');
      for (let k = 0; k < 100 && !exited; k++) await sleep(50);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  cleanup.add(`bare redis ${i}`, stop);
  const t0 = performance.now();
  child = spawn(REDIS, args, { stdio: 'ignore' });
  child.once('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`bare redis-server on ${address}:${BARE_PORT} exited during start-up`);
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`bare redis-server on ${address}:${BARE_PORT}: no PONG within ${TIMEOUT_MS / 1000} s`);
      try {
        const [auth, pong] = await redisCommands(address, BARE_PORT, [['AUTH', password], ['PING']], 1000);
        if (auth === '+OK' && pong === '+PONG') return performance.now() - t0;
      } catch {
        /* not listening yet */
      }
      await sleep(2);
    }
  } finally {
    await stop();
  }
}

// ---- Michman ---------------------------------------------------------------------------------------

interface MichmanRun {
  ms: number;
  queueMs: number;
  phases: Record<string, number>;
  finishLagMs: number;
  url: string;
  deleteMs: number;
}

async function michmanRun(base: string, store: Store, i: number): Promise<MichmanRun> {
  const name = `r${i}-bench`;
  const password = randomBytes(12).toString('hex');
  const t0 = performance.now();
  const wall0 = Date.now();
  const r = await request('POST', `${base}/projects/bench/clusters`, { DisplayName: `r${i}`, Services: [{ Type: 'redis', Config: { db_password: password } }] });
  if (r.status !== 201) throw new Error(`POST answered ${r.status}: ${r.text.slice(0, 400)}`);
  const clusterId = r.json.Detail.Data.ID as string;
  let ms = NaN;
  for (;;) {
    const s = await request('GET', `${base}/projects/bench/clusters/${name}/status`);
    const status = s.json?.Detail?.Data as string | undefined;
    if (status === 'ACTIVE') {
      ms = performance.now() - t0;
      break;
    }
    if (status === 'FAILED') {
      const ops = await request('GET', `${base}/projects/bench/clusters/${name}/operations`);
      throw new Error(`cluster ${name} FAILED: ${JSON.stringify(ops.json?.Detail?.Data?.[0]?.Error ?? ops.text).slice(0, 600)}`);
    }
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`cluster ${name} not ACTIVE within ${TIMEOUT_MS / 1000} s (status ${status})`);
    await sleep(10);
  }

  // Where the time went, from the operation's row and step journal.
  const op = await store.operations.latest(clusterId, 'create');
  const phases: Record<string, number> = {};
  for (const s of op?.steps ?? []) {
    const phase = s.name.split(':')[0]!;
    if (s.startedAt !== undefined && s.finishedAt !== undefined) phases[phase] = Math.max(phases[phase] ?? 0, s.finishedAt - s.startedAt);
  }
  const queueMs = op?.startedAt != null ? op.startedAt - wall0 : NaN;
  const lastStep = Math.max(...(op?.steps ?? []).map((s) => s.finishedAt ?? 0));
  const finishLagMs = op?.finishedAt != null ? op.finishedAt - lastStep : NaN;

  // It is a real Redis: AUTH + PING at the URL the API returned.
  const c = await request('GET', `${base}/projects/bench/clusters/${name}`);
  const url = (c.json?.Detail?.Data?.Services ?? []).find((s: { Type: string }) => s.Type === 'redis')?.URL as string | undefined;
  const m = url ? /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(url) : null;
  if (!m) throw new Error(`cluster ${name}: redis URL '${url}' is not a loopback host:port`);
  const [auth, pong] = await redisCommands(m[1]!, Number(m[2]), [['AUTH', password], ['PING']], 3000);
  if (auth !== '+OK' || pong !== '+PONG') throw new Error(`redis at ${url} answered ${auth} / ${pong}`);

  // Delete and wait until it is gone (not part of the measurement).
  const d0 = performance.now();
  const d = await request('DELETE', `${base}/projects/bench/clusters/${name}`);
  if (d.status !== 200) throw new Error(`DELETE answered ${d.status}: ${d.text.slice(0, 300)}`);
  for (;;) {
    const s = await request('GET', `${base}/projects/bench/clusters/${name}/status`);
    if (s.status === 404) break;
    if (performance.now() - d0 > TIMEOUT_MS) throw new Error(`cluster ${name} not deleted within ${TIMEOUT_MS / 1000} s`);
    await sleep(20);
  }
  return { ms, queueMs, phases, finishLagMs, url: url!, deleteMs: performance.now() - d0 };
}

/** SIGKILLs every service process whose arguments point under dir (the last-resort sweep). */
async function killEverythingUnder(dir: string): Promise<number> {
  const programs = LOCAL_SERVICE_MODULES.flatMap((m) => [m.processName, ...(m.helperProcesses ?? [])]);
  const pids = await findProcesses({ programs, marker: dir });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (!existsSync(REDIS)) throw new Error(`${REDIS} is missing: apt-get install redis-server`);
  const cleanup = new Cleanup(REPEATS * (3 * TIMEOUT_MS) + 120_000);
  const root = mkdtempSync(join(tmpdir(), 'michman-bench-local-'));
  chmodSync(root, 0o711); // the redis user must traverse it
  cleanup.add('temp dir', () => rmSync(root, { recursive: true, force: true }));
  cleanup.add('leftover processes', async () => {
    const n = await killEverythingUnder(root);
    if (n > 0) log(`killed ${n} leftover service process(es) under ${root}`);
  });
  const load0 = loadavg();
  const bare: number[] = [];
  const runs: MichmanRun[] = [];
  try {
    const store = await Store.open({ storage: 'sqlite', url: join(root, 'michman.sqlite') });
    cleanup.add('store', () => store.close());
    await store.migrate();
    await loadBuiltinCatalogIfEmpty(store);
    const provider = new LocalProvider({ dataRoot: join(root, 'nodes'), addressBase: ADDRESS_BASE });
    const deployer = new LocalDeployer();
    // As in `michman serve`: committing an operation wakes the in-process worker.
    let worker: Worker | undefined;
    const app: FastifyInstance = await buildServer({ store, logger: false, deployer, onEnqueue: () => worker?.notify() });
    cleanup.add('api', () => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const errors: string[] = [];
    worker = new Worker(store, {
      provider,
      deployer,
      concurrency: 4,
      leaseMs: 30_000,
      pollMs: POLL_MS,
      log: { info: () => undefined, error: (obj, msg) => void errors.push(`${msg}: ${String((obj as { err?: Error }).err?.message ?? '')}`) },
    });
    worker.start();
    cleanup.add('worker', () => worker!.stop());

    for (const [path, body] of [
      ['/images', { Name: 'host', AnsibleUser: 'root', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' }],
      ['/flavors', { Name: 'local', VCPUs: 1, RAM: 1024, Disk: 1 }],
      ['/projects', { DisplayName: 'bench', GroupID: 'bench', Description: 'local benchmark', DefaultImage: 'host', DefaultMasterFlavor: 'local', DefaultSlavesFlavor: 'local', DefaultStorageFlavor: 'local', DefaultMonitoringFlavor: 'local' }],
    ] as const) {
      const r = await request('POST', `${base}${path}`, body);
      if (r.status !== 201) throw new Error(`POST ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
    }

    // One unmeasured round of each to warm caches (program pages, JIT, the SQLite file).
    log('warm-up: one bare start and one Michman cluster (not measured)');
    await bareRun(root, 0, cleanup);
    await michmanRun(base, store, 0);

    for (let i = 1; i <= REPEATS; i++) {
      const b = await bareRun(root, i, cleanup);
      bare.push(b);
      const m = await michmanRun(base, store, i);
      runs.push(m);
      log(`run ${i}/${REPEATS}: bare ${fix(b, 0)} ms, Michman ${fix(m.ms, 0)} ms (${m.url}; delete took ${fix(m.deleteMs, 0)} ms)`);
    }
    for (const e of errors) log(`worker: ${e}`);
  } finally {
    await cleanup.run();
  }
  const load1 = loadavg();

  const mich = runs.map((r) => r.ms);
  const stats = (xs: number[]) => ({ med: median(xs), p90: percentile(xs, 90), min: Math.min(...xs), max: Math.max(...xs) });
  const sb = stats(bare);
  const sm = stats(mich);
  const out: string[] = [''];
  out.push(`Michman local-provider benchmark — one-node Redis cluster, POST → ACTIVE vs bare redis-server spawn → first PONG; ${REPEATS} runs each after one warm-up`);
  out.push(
    `worker as in \`michman serve\` (concurrency 4, poll ${POLL_MS ?? 'default (500)'} ms), SQLite; ${cpus().length} CPU(s), node ${process.version}, ` +
      `load average ${fix(load0[0] ?? 0, 2)} → ${fix(load1[0] ?? 0, 2)}`,
  );
  out.push('');
  out.push(
    table(
      ['', 'median ms', 'p90 ms', 'min ms', 'max ms', 'runs ms'],
      [
        ['bare redis-server → PONG', fix(sb.med, 0), fix(sb.p90, 0), fix(sb.min, 0), fix(sb.max, 0), bare.map((x) => fix(x, 0)).join(' ')],
        ['Michman POST → ACTIVE', fix(sm.med, 0), fix(sm.p90, 0), fix(sm.min, 0), fix(sm.max, 0), mich.map((x) => fix(x, 0)).join(' ')],
        ['ratio Michman ÷ bare', fix(sm.med / sb.med, 1), fix(sm.p90 / sb.p90, 1), '', '', ''],
      ],
      [false, true, true, true, true, false],
    ),
  );
  out.push('');
  const phaseNames = ['provision', 'reachable', 'deploy', 'health'];
  out.push('Where Michman\'s time went (per run; queue = POST sent → claimed by the worker, finish = last step → operation committed):');
  out.push(
    table(
      ['run', 'total ms', 'queue ms', ...phaseNames.map((p) => `${p} ms`), 'finish ms'],
      runs.map((r, i) => [String(i + 1), fix(r.ms, 0), fix(r.queueMs, 0), ...phaseNames.map((p) => fix(r.phases[p] ?? NaN, 0)), fix(r.finishLagMs, 0)]),
      [true, true, true, true, true, true, true, true],
    ),
  );
  const checks = [
    { name: 'median', m: sm.med, b: sb.med },
    { name: 'p90', m: sm.p90, b: sb.p90 },
  ].map((c) => {
    const limit = 3 * c.b + 1000;
    return { name: `${c.name} POST → ACTIVE`, pass: c.m <= limit, detail: `${fix(c.m, 0)} ms vs limit 3 × ${fix(c.b, 0)} + 1000 = ${fix(limit, 0)} ms` };
  });
  out.push('');
  for (const c of checks) out.push(`  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail}`);
  const missed = checks.filter((c) => !c.pass);
  out.push('');
  out.push(missed.length === 0 ? 'VERDICT: PASS — POST → ACTIVE ≤ 3 × bare redis-server start + 1 s (median and p90)' : `VERDICT: FAIL — missed: ${missed.map((c) => c.name).join('; ')}`);
  process.stdout.write(out.join('\n') + '\n');
  return missed.length > 0 && STRICT ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`[bench] FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
