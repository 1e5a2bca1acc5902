// Small helpers shared by bench/engine.ts, bench/local.ts and bench/memory.ts: environment knobs,
// a plain-text table, percentiles, logging to stderr, and cleanup that also runs on SIGINT/SIGTERM
// or when a benchmark's overall time limit passes.

import { readdirSync, readFileSync } from 'node:fs';

export function envNumber(name: string, dflt: number, { integer = false, min = 0 } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name}=${raw}: expected a ${integer ? 'whole ' : ''}number of at least ${min}`);
  }
  return n;
}

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function table(header: string[], body: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const fix = (n: number, d: number) => (Number.isFinite(n) ? n.toFixed(d) : '-');

/**
 * Cleanup steps, run once, last registered first: at the end of main, on SIGINT/SIGTERM, and when
 * the overall deadline passes (then the process exits with code 2).
 */
export class Cleanup {
  private readonly steps: Array<{ what: string; fn: () => unknown }> = [];
  private done: Promise<void> | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(overallMs: number) {
    const onSignal = (sig: NodeJS.Signals) => {
      log(`${sig}: cleaning up`);
      void this.run().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    this.deadline = setTimeout(() => {
      log(`overall time limit of ${Math.round(overallMs / 1000)} s passed: cleaning up and giving up`);
      void this.run().finally(() => process.exit(2));
    }, overallMs);
    this.deadline.unref();
  }

  add(what: string, fn: () => unknown): void {
    this.steps.push({ what, fn });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      clearTimeout(this.deadline);
      for (const s of this.steps.splice(0).reverse()) {
        try {
          await s.fn();
        } catch (err) {
          log(`cleanup (${s.what}) failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.done;
  }
}

/** fetch with a timeout and a parsed JSON body (undefined when the body is not JSON). */
export async function request(
  method: string,
  url: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** The machine's CPU time so far, from /proc/stat's first line (every core; clock ticks of 10 ms). */
export interface CpuSnapshot {
  at: number;
  busy: number;
  total: number;
}

export function cpuSnapshot(): CpuSnapshot {
  // user nice system idle iowait irq softirq steal ...: idle and iowait are the time no process ran.
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { at: performance.now(), busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

/**
 * The CPU seconds every process on the machine used since `from` (the benchmark's own processes,
 * its database and anything else running), and their share of all cores over that time: a share
 * near 1 means the run was bound by the machine's CPU, not by waiting.
 */
export function cpuSince(from: CpuSnapshot): { busyS: number; share: number } {
  const now = cpuSnapshot();
  const busy = now.busy - from.busy;
  const total = now.total - from.total;
  return { busyS: busy / 100, share: total > 0 ? busy / total : NaN };
}

/**
 * Where a create's run time goes, from its journal (the operation row's steps and times): claimed →
 * first boot starts (before), the boots (first start → last end), last boot ends → finished (after:
 * the reachable steps, their journal saves and the finish). p50/max seconds of each, as text.
 */
export function runSplit(ops: ReadonlyArray<{ steps: unknown; started_at: unknown; finished_at: unknown }>): string {
  const num = (v: unknown) => (v === null || v === undefined ? NaN : Number(v));
  const phases = ops.map((o) => {
    const prov = (JSON.parse(String(o.steps)) as Array<{ name: string; startedAt?: number; finishedAt?: number }>).filter((s) => s.name.startsWith('provision:'));
    const first = Math.min(...prov.map((s) => s.startedAt ?? NaN));
    const last = Math.max(...prov.map((s) => s.finishedAt ?? NaN));
    return { before: first - num(o.started_at), boot: last - first, after: num(o.finished_at) - last };
  });
  return (['before', 'boot', 'after'] as const).map((k) => `${fix(percentile(phases.map((p) => p[k]), 50) / 1000, 2)}/${fix(Math.max(...phases.map((p) => p[k])) / 1000, 2)}`).join(' · ');
}

/** Each live process's CPU ticks (utime + stime) with its name, from /proc/<pid>/stat. */
export type ProcTicks = Map<number, { comm: string; ticks: number }>;

export function procTicks(): ProcTicks {
  const out: ProcTicks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ')'.
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      out.set(Number(name), { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

/**
 * CPU seconds per group of processes from `from` to `to` (default: now): `label` names a pid's group (undefined: by its
 * command name). Processes that ended meanwhile are not counted; the benchmarks read this before
 * they stop their processes.
 */
export function cpuByProcess(from: ProcTicks, label: (pid: number, comm: string) => string | undefined = () => undefined, to: ProcTicks = procTicks()): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const [pid, now] of to) {
    // Same pid, fewer ticks: a new process under a reused pid. (Kernel workers rename themselves, so
    // the name cannot tell.)
    const before = from.get(pid)?.ticks ?? 0;
    const delta = now.ticks >= before ? now.ticks - before : now.ticks;
    if (delta <= 0) continue;
    const key = label(pid, now.comm) ?? now.comm;
    sums.set(key, (sums.get(key) ?? 0) + delta / 100);
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
}

/** How the benchmarks' clients reach the API (bench/postWorker.ts): BENCH_CLIENT and BENCH_CONNECTIONS. */
export function postClient(): { client: 'keepalive' | 'fetch'; connections: number } {
  const client = process.env.BENCH_CLIENT ?? 'keepalive';
  if (client !== 'keepalive' && client !== 'fetch') throw new Error(`BENCH_CLIENT=${client}: expected keepalive or fetch`);
  return { client, connections: envNumber('BENCH_CONNECTIONS', 100, { integer: true, min: 1 }) };
}

/** The clients' part of a table's heading. */
export function postClientText(c: { client: string; connections: number }): string {
  return c.client === 'fetch' ? 'clients: a connection per request' : `clients: ${c.connections} keep-alive connection(s) per replica`;
}
