// The engine benchmark's multi-process mode (`npm run bench:engine -- --multi`): Michman as it runs
// past one machine. On each server database (MariaDB/MySQL, PostgreSQL; SQLite has no place here),
// a fresh database is migrated first (as `michman migrate` would), then started as separate
// processes of the built CLI:
// - API replicas `michman serve --workers 0` (BENCH_REPLICAS, 2), the clients' POSTs spread over them;
// - launchers `michman worker` (BENCH_WORKER_PROCESSES, 3), each running BENCH_CONCURRENCY (400) operations at once;
// all with the fake provider (boot BENCH_BOOT_MS, 2000) recording its nodes in one shared directory
// (fake_state_dir), standing for the cloud, so a worker resuming another's operation finds the
// nodes already made, and every boot is logged: a node booted twice is counted.
//
// Two runs per database: BENCH_CLUSTERS (1000) concurrent creates of 1 master + BENCH_SLAVES (10)
// slaves; then the same with one worker process killed with SIGKILL once the creates are under way
// (its operations resume elsewhere when their lease, BENCH_LEASE_S (10 s), expires).
// Printed per run: makespan ÷ critical path, operations lost, nodes booted twice, the 1-minute load
// average at the start and end. No target is asserted unless BENCH_STRICT=1. BENCH_LOG_DIR=<dir>
// keeps each process's whole log there (slow lease renewals and fences are logged as warnings).
// BENCH_NODE_ARGS passes options to node in each of those processes (a CPU profile of each).
// Also printed: the CPU the whole machine used before the last cluster's boots started (what bounds
// the makespan from below on a machine this size), and with BENCH_TIMELINE=<ms> each process's CPU
// and the run's progress per slice of that many ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { backends as configuredBackends, type Backend } from '../test/helpers/stores.js';
import { Cleanup, cpuByProcess, cpuSince, cpuSnapshot, procTicks, envNumber, fix, log, percentile, postClient, postClientText, request, runSplit, sleep, table } from './common.js';
import type { PostJob, PostResult } from './postWorker.js';
import { requestsIn } from '../src/providers/fake.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 1000, { integer: true, min: 1 });
const SLAVES = envNumber('BENCH_SLAVES', 10, { integer: true, min: 1 });
const BOOT_MS = envNumber('BENCH_BOOT_MS', 2000, { integer: true, min: 1 });
const REPLICAS = envNumber('BENCH_REPLICAS', 2, { integer: true, min: 1 });
const WORKER_PROCESSES = envNumber('BENCH_WORKER_PROCESSES', 3, { integer: true, min: 2 });
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 400, { integer: true, min: 1 });
const LEASE_S = envNumber('BENCH_LEASE_S', 10, { integer: true, min: 2 });
const OP_TIMEOUT_MS = envNumber('BENCH_OP_TIMEOUT_S', 300, { min: 1 }) * 1000;
const STRICT = process.env.BENCH_STRICT === '1';
const CLIENT = postClient();
const LOG_DIR = process.env.BENCH_LOG_DIR;
const RATIO_TARGET = 1.3;
const CRITICAL_MS = BOOT_MS; // nodes boot in parallel; no services, so no deploy level
const CLI = resolve('dist/src/cli.js');
// BENCH_NODE_ARGS: options for node in every replica and worker (a profile: --cpu-prof --cpu-prof-dir=<dir>).
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
// BENCH_TIMELINE=<ms>: print, per slice of that many ms, each process's CPU and how many POSTs were
// answered, operations claimed and operations finished in it: where the CPU goes while the run waits.
const TIMELINE_MS = process.env.BENCH_TIMELINE ? envNumber('BENCH_TIMELINE', 250, { integer: true, min: 50 }) : 0;

interface Proc {
  name: string;
  child: ChildProcess;
  stderr: string;
  exited: Promise<unknown>;
}

/** A free port on 127.0.0.1 (listen refuses port 0). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function startProc(name: string, args: string[], env: Record<string, string>, ready: RegExp, cwd: string): Promise<Proc & { match: RegExpExecArray }> {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MICHMAN_')) childEnv[k] = v;
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, ...args], { env: childEnv, cwd, stdio: ['ignore', LOG_DIR ? 'pipe' : 'ignore', 'pipe'] });
  const p: Proc = { name, child, stderr: '', exited: new Promise((r) => child.once('exit', r)) };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (p.stderr = (p.stderr + s).slice(-20_000)));
  // BENCH_LOG_DIR keeps every process's whole log (the workers' slow-renewal and fence warnings).
  if (LOG_DIR) for (const out of [child.stdout!, child.stderr!]) out.on('data', (s: Buffer | string) => appendFileSync(join(LOG_DIR, `${name}.log`), s));
  const end = Date.now() + 60_000;
  for (;;) {
    const m = ready.exec(p.stderr);
    if (m) return { ...p, match: m };
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited before it was ready:\n${p.stderr}`);
    if (Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within 60 s:\n${p.stderr}`);
    }
    await sleep(20);
  }
}

interface Result {
  backend: string;
  kill: boolean;
  load0: number;
  load1: number;
  accepted: number;
  postP50: number;
  postP99: number;
  postSpan: number;
  /** p50/max s from accepted to claimed, and from claimed to finished. */
  queue: string;
  run: string;
  /** The run's split (runSplit): before the boots · the boots · after them. */
  split: string;
  makespanMs: number;
  succeeded: number;
  failed: number;
  unfinished: number;
  lost: number;
  boots: number;
  doubled: number;
  resumed: number;
  /** Operations a worker stopped at the fence (its lease not renewed in time), from their events. */
  fenced: number;
  killedAtMs: number;
  killedHeld: number;
  /** Every process's CPU seconds from the first POST to the last create seen ended, and their share of all cores. */
  cpuBusyS: number;
  cpuShare: number;
  /** From the first POST to the start of the last cluster's boots: its length, and the machine's CPU over it. */
  preBoot?: { s: number; cpuS: number; share: number };
  /** CPU seconds by process over the same span (the replicas, the workers, the database, the clients). */
  cpuBy: Array<[string, number]>;
  errors: string[];
}

async function runOn(backend: Backend, kill: boolean, cleanup: Cleanup): Promise<Result> {
  const load0 = loadavg()[0] ?? NaN;
  // Migrations first: the database is migrated before any replica starts (test/helpers/stores.ts).
  const opened = await backend.open();
  const dir = mkdtempSync(join(tmpdir(), 'michman-bench-multi-'));
  const procs: Proc[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const p of procs) p.child.kill('SIGTERM');
    const t = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), 15_000);
    await Promise.all(procs.map((p) => p.exited));
    clearTimeout(t);
    await opened.cleanup().catch((e: Error) => log(`${backend.name}: cleanup: ${e.message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  cleanup.add(`${backend.name} processes`, close);
  try {
    const env = {
      MICHMAN_STORAGE: backend.name,
      MICHMAN_DATABASE_URL: opened.url,
      MICHMAN_DATA_DIR: join(dir, 'data'),
      MICHMAN_PROVIDER: 'fake',
      MICHMAN_FAKE_BOOT_MS: String(BOOT_MS),
      MICHMAN_FAKE_STATE_DIR: dir,
      MICHMAN_LEASE_SECONDS: String(LEASE_S),
      MICHMAN_LOG_LEVEL: 'warn',
      MICHMAN_HEALTH_INTERVAL: '0',
    };
    const bases: string[] = [];
    const replicas = await Promise.all(
      Array.from({ length: REPLICAS }, async (_, i) => {
        const port = await freePort();
        return startProc(`api-${i}`, ['serve', '--workers', '0'], { ...env, MICHMAN_LISTEN: `127.0.0.1:${port}` }, /listening on (\S+)/, dir);
      }),
    );
    for (const r of replicas) {
      procs.push(r);
      bases.push(r.match[1]!);
    }
    const workers = await Promise.all(
      Array.from({ length: WORKER_PROCESSES }, (_, i) => startProc(`worker-${i}`, ['worker'], { ...env, MICHMAN_WORKERS: String(CONCURRENCY) }, /michman worker (\S+) started/, dir)),
    );
    procs.push(...workers);
    const workerIds = workers.map((w) => w.match[1]!);

    const base = bases[0]!;
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
    await sleep(1000); // let every process settle (workers' first empty claims)

    log(`${backend.name}${kill ? ' (kill -9 one worker)' : ''}: ${CLUSTERS} concurrent POSTs over ${REPLICAS} replicas, ${WORKER_PROCESSES} worker processes × ${CONCURRENCY}, load ${fix(load0, 2)}`);
    const errors: string[] = [];
    const job: PostJob = { base, bases, clusters: CLUSTERS, slaves: SLAVES, timeoutMs: OP_TIMEOUT_MS, ...CLIENT };
    const cpu0 = cpuSnapshot();
    const ticks0 = procTicks();
    const samples: Array<{ at: number; ticks: ReturnType<typeof procTicks> }> = [{ at: Date.now(), ticks: ticks0 }];
    const sampler = TIMELINE_MS > 0 ? setInterval(() => samples.push({ at: Date.now(), ticks: procTicks() }), TIMELINE_MS) : undefined;
    // The whole machine's busy CPU every 50 ms (one read of /proc/stat): how much work came before
    // the last cluster's boots could start.
    const busy: Array<{ at: number; snap: ReturnType<typeof cpuSnapshot> }> = [{ at: Date.now(), snap: cpu0 }];
    const busySampler = setInterval(() => busy.push({ at: Date.now(), snap: cpuSnapshot() }), 50);
    const posting = new Promise<PostResult>((res, rej) => {
      const t = new Thread(new URL('./postWorker.js', import.meta.url), { workerData: job });
      t.once('message', (m: PostResult | { error: string }) => ('error' in m ? rej(new Error(m.error)) : res(m)));
      t.once('error', rej);
      t.once('exit', (code) => code !== 0 && rej(new Error(`post worker exited with ${code}`)));
    });

    // The kill: the last worker, once it holds at least a tenth of its room in running operations.
    let killedAtMs = NaN;
    let killedHeld = 0;
    const tStart = Date.now();
    if (kill) {
      const victim = workers[workers.length - 1]!;
      const victimId = workerIds[workerIds.length - 1]!;
      for (;;) {
        const row = await opened.store.db
          .selectFrom('operations')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('status', '=', 'running')
          .where('lease_owner', '=', victimId)
          .executeTakeFirst();
        killedHeld = Number(row?.n ?? 0);
        if (killedHeld >= Math.min(CONCURRENCY, CLUSTERS / WORKER_PROCESSES) / 10) break;
        if (Date.now() - tStart > 60_000) {
          errors.push('the worker to kill never held a tenth of its room');
          break;
        }
        await sleep(50);
      }
      victim.child.kill('SIGKILL');
      killedAtMs = Date.now();
      log(`${backend.name}: killed ${victimId} holding ${killedHeld} running operation(s)`);
    }
    const sent = await posting;
    const t0 = sent.t0;
    if (kill) killedAtMs -= t0;
    const posts = sent.posts.map((p) => ({ ...p, end: p.endAt - t0 }));
    const accepted = posts.filter((p) => p.ok).length;
    for (const p of posts.filter((x) => !x.ok).slice(0, 5)) errors.push(`POST refused: ${p.detail}`);

    // Wait, in the database, until every create has ended (bounded).
    for (;;) {
      const row = await opened.store.db
        .selectFrom('operations')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('kind', '=', 'create')
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (Number(row?.n ?? 0) === 0) break;
      if (Date.now() - t0 > OP_TIMEOUT_MS) {
        log(`${backend.name}: timed out with ${String(row?.n)} create(s) unfinished`);
        break;
      }
      await sleep(200);
    }

    const cpu = cpuSince(cpu0);
    clearInterval(sampler);
    clearInterval(busySampler);
    const names = new Map(procs.map((p) => [p.child.pid, p.name]));
    const label = (pid: number, comm: string) => names.get(pid) ?? (pid === process.pid ? 'bench (clients)' : comm.startsWith('postgres') ? 'postgres' : undefined);
    const cpuBy = cpuByProcess(ticks0, label);
    const ops = await opened.store.db.selectFrom('operations').select(['status', 'created_at', 'started_at', 'finished_at', 'attempt', 'steps']).where('kind', '=', 'create').execute();
    if (TIMELINE_MS > 0) printTimeline(backend.name, samples, label, t0, posts.map((p) => p.endAt), ops.map((o) => Number(o.started_at)), ops.map((o) => Number(o.finished_at)));
    const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));
    const done = ops.filter((o) => o.status === 'succeeded' && num(o.finished_at) - t0 <= OP_TIMEOUT_MS);
    const preBoot = beforeLastBoot(done.length === CLUSTERS ? done : [], busy, t0);
    const makespanMs = done.length === CLUSTERS ? Math.max(...done.map((o) => num(o.finished_at))) - t0 : NaN;
    const spread = (xs: number[]) => `${fix(percentile(xs, 50) / 1000, 2)}/${fix(Math.max(...xs) / 1000, 2)}`;
    const queue = spread(done.map((o) => num(o.started_at) - num(o.created_at)));
    const run = spread(done.map((o) => num(o.finished_at) - num(o.started_at)));
    // Every node the fake cloud was asked for, from its shared directory: a node asked for twice was booted twice.
    const requests = requestsIn(dir);
    const boots = [...requests.values()].reduce((a, ids) => a + ids.length, 0);
    const fencedRow = await opened.store.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('message', 'like', '%stopped this operation%s steps%')
      .executeTakeFirst();
    for (const p of procs) if (p.child.exitCode !== null && p.child.signalCode !== 'SIGKILL') errors.push(`${p.name} exited ${p.child.exitCode}: ${p.stderr.slice(-300)}`);
    const result: Result = {
      backend: backend.name,
      kill,
      load0,
      load1: loadavg()[0] ?? NaN,
      accepted,
      postP50: percentile(posts.map((p) => p.ms), 50),
      postP99: percentile(posts.map((p) => p.ms), 99),
      postSpan: Math.max(...posts.map((p) => p.end)),
      queue,
      run,
      split: runSplit(done),
      makespanMs,
      succeeded: done.length,
      failed: ops.filter((o) => o.status === 'failed' || o.status === 'cancelled').length,
      unfinished: ops.filter((o) => o.status === 'queued' || o.status === 'running').length,
      lost: CLUSTERS - done.length,
      boots,
      doubled: [...requests.values()].filter((ids) => ids.length > 1).length,
      resumed: ops.filter((o) => Number(o.attempt) > 1).length,
      fenced: Number(fencedRow?.n ?? 0),
      killedAtMs,
      killedHeld,
      cpuBusyS: cpu.busyS,
      cpuShare: cpu.share,
      preBoot,
      cpuBy,
      errors,
    };
    log(`${backend.name}: ${done.length}/${CLUSTERS} succeeded, makespan ${fix(makespanMs / 1000, 2)} s, load ${fix(result.load1, 2)}`);
    return result;
  } finally {
    await close();
  }
}

/**
 * The span from the first POST to the moment the last cluster's boots started (its first provision
 * step), and the CPU the whole machine used in it (from 50 ms samples of /proc/stat). Every create's
 * work before its boots (the client, the POST, the database, the claim, the node requests) falls in
 * it, so when the share is near 100 % the span cannot be shorter than that CPU ÷ the cores, and the
 * makespan not shorter than it + the boot.
 */
function beforeLastBoot(ops: ReadonlyArray<{ steps: unknown }>, busy: Array<{ at: number; snap: ReturnType<typeof cpuSnapshot> }>, t0: number): { s: number; cpuS: number; share: number } | undefined {
  if (ops.length === 0) return undefined;
  const starts = ops.map((o) => Math.min(...(JSON.parse(String(o.steps)) as Array<{ name: string; startedAt?: number }>).filter((x) => x.name.startsWith('provision:')).map((x) => x.startedAt ?? NaN)));
  const last = Math.max(...starts);
  const near = (at: number) => busy.reduce((best, b) => (Math.abs(b.at - at) < Math.abs(best.at - at) ? b : best));
  const a = near(t0).snap;
  const b = near(last).snap;
  const total = b.total - a.total;
  return { s: (last - t0) / 1000, cpuS: (b.busy - a.busy) / 100, share: total > 0 ? (b.busy - a.busy) / total : NaN };
}

/** BENCH_TIMELINE: CPU seconds per process group, and the run's progress, per slice of the run. */
function printTimeline(backend: string, samples: Array<{ at: number; ticks: ReturnType<typeof procTicks> }>, label: (pid: number, comm: string) => string | undefined, t0: number, answered: number[], claimed: number[], finished: number[]): void {
  // Each replica or worker counted with its kind (api-0, api-1 → apis).
  const byKind = (pid: number, comm: string) => (label(pid, comm) ?? comm).replace(/-\d+$/, 's');
  const count = (xs: number[], a: number, b: number) => xs.filter((x) => x >= a && x < b).length;
  const lines = [`  timeline [${backend}], per ${TIMELINE_MS} ms from the first POST: CPU ms by process group · POSTs answered · claimed · finished`];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const g = cpuByProcess(a.ticks, byKind, b.ticks)
      .map(([n, sec]): [string, number] => [n, Math.round(sec * 1000)])
      .filter(([, ms]) => ms >= 20);
    lines.push(`  ${fix((a.at - t0) / 1000, 2).padStart(6)} s  ${g.map(([n, ms]) => `${n} ${ms}`).join(', ').padEnd(70)} · ${count(answered, a.at, b.at)} · ${count(claimed, a.at, b.at)} · ${count(finished, a.at, b.at)}`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}

export async function mainMulti(): Promise<number> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  const all = configuredBackends('michman_bench').filter((b) => b.name !== 'sqlite');
  const only = process.env.BENCH_BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
  const list = only ? all.filter((b) => only.includes(b.name)) : all;
  if (list.length === 0) throw new Error('multi-process mode needs MICHMAN_TEST_MYSQL_URL and/or MICHMAN_TEST_PG_URL');
  const runs = (process.env.BENCH_KILL ?? 'no,yes').split(',').map((s) => s.trim() === 'yes');
  const cleanup = new Cleanup(list.length * runs.length * (OP_TIMEOUT_MS + 180_000));
  const results: Result[] = [];
  const failures: string[] = [];
  try {
    for (const b of list) {
      for (const kill of runs) {
        try {
          results.push(await runOn(b, kill, cleanup));
        } catch (err) {
          failures.push(`${b.name}${kill ? ' kill' : ''}: ${(err as Error).message}`);
          log(`${b.name}: FAILED: ${(err as Error).stack ?? (err as Error).message}`);
        }
      }
    }
  } finally {
    await cleanup.run();
  }

  const out: string[] = [''];
  out.push(
    `Michman engine benchmark, multi-process — ${REPLICAS} × \`michman serve --workers 0\` + ${WORKER_PROCESSES} × \`michman worker\` (workers ${CONCURRENCY} each, lease ${LEASE_S} s) on one database; ` +
      `fake provider (shared state dir), ${CLUSTERS} concurrent creates of 1 master + ${SLAVES} slaves, boot ${BOOT_MS} ms; ${postClientText(CLIENT)}; ${cpus().length} CPU(s), node ${process.version}`,
  );
  out.push(`critical path = one node's boot = ${fix(CRITICAL_MS / 1000, 2)} s; "kill" runs: the last worker process gets SIGKILL once it holds running operations`);
  out.push('');
  out.push(
    table(
      ['backend', 'run', 'load 1m start→end', 'accepted', 'POST p50/p99 ms', 'POSTs done s', 'queue p50/max s', 'run p50/max s', 'run = before boot · boots · after, p50/max s', 'makespan s', 'ratio', 'CPU s (share)', 'CPU ms/create', 'succeeded', 'failed', 'unfinished', 'lost', 'boots', 'nodes booted twice', 'resumed ops', 'fenced', 'killed at s (held)'],
      results.map((r) => [
        r.backend,
        r.kill ? 'kill -9' : 'plain',
        `${fix(r.load0, 2)} → ${fix(r.load1, 2)}`,
        `${r.accepted}/${CLUSTERS}`,
        `${fix(r.postP50, 0)}/${fix(r.postP99, 0)}`,
        fix(r.postSpan / 1000, 2),
        r.queue,
        r.run,
        r.split,
        fix(r.makespanMs / 1000, 2),
        fix(r.makespanMs / CRITICAL_MS, 3),
        `${fix(r.cpuBusyS, 1)} (${fix(r.cpuShare * 100, 0)}%)`,
        fix((r.cpuBusyS * 1000) / CLUSTERS, 1),
        String(r.succeeded),
        String(r.failed),
        String(r.unfinished),
        String(r.lost),
        `${r.boots}/${CLUSTERS * (SLAVES + 1)}`,
        String(r.doubled),
        String(r.resumed),
        String(r.fenced),
        r.kill ? `${fix(r.killedAtMs / 1000, 2)} (${r.killedHeld})` : '-',
      ]),
      [false, false, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
  );
  out.push('');
  out.push('makespan = first POST sent → last create finished; ratio = makespan ÷ critical path; queue = accepted → claimed (started_at, which a resume moves on), run = claimed → finished; lost = not succeeded within the time limit; boots = nodes the fake cloud was asked for; fenced = operations a worker stopped because its lease was not renewed in time. CPU = the CPU time of every process on the machine (Michman, the database, the clients) over that span, and its share of all cores: near 100% the run is bound by the CPU of this machine.');
  for (const r of results) {
    const p = r.preBoot;
    if (p) out.push(`  before the last boot [${r.backend}${r.kill ? ' kill' : ''}]: ${fix(p.s, 2)} s from the first POST, CPU ${fix(p.cpuS, 1)} s (${fix(p.share * 100, 0)}% of ${cpus().length} cores; at this CPU cost the last boot cannot start before ${fix(p.cpuS / cpus().length, 2)} s)`);
  }
  for (const r of results) out.push(`  CPU s by process [${r.backend}${r.kill ? ' kill' : ''}]: ${r.cpuBy.filter(([, s]) => s >= 0.05).map(([n, s]) => `${n} ${fix(s, 1)}`).join(', ')}`);
  for (const r of results) for (const e of r.errors.slice(0, 10)) out.push(`  note [${r.backend}${r.kill ? ' kill' : ''}]: ${e}`);
  const checks: Array<{ name: string; pass: boolean; detail: string }> = [];
  for (const r of results) {
    const name = `${r.backend} ${r.kill ? 'kill -9' : 'plain'}`;
    if (!r.kill) checks.push({ name: `${name} makespan ÷ critical path`, pass: r.makespanMs / CRITICAL_MS <= RATIO_TARGET, detail: `${fix(r.makespanMs / CRITICAL_MS, 3)} (target ≤ ${RATIO_TARGET})` });
    checks.push({ name: `${name} lost/doubled`, pass: r.lost === 0 && r.doubled === 0, detail: `${r.lost} lost, ${r.doubled} node(s) booted twice (target 0)` });
  }
  for (const f of failures) checks.push({ name: f.split(':')[0]!, pass: false, detail: `run failed: ${f}` });
  out.push('');
  for (const c of checks) out.push(`  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail}`);
  const missed = checks.filter((c) => !c.pass);
  out.push('');
  out.push(missed.length === 0 ? 'VERDICT: PASS' : `VERDICT: FAIL — missed: ${missed.map((c) => c.name).join('; ')}`);
  process.stdout.write(out.join('\n') + '\n');
  return (missed.length > 0 && STRICT) || failures.length > 0 ? 1 : 0;
}
