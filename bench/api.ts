// API benchmark (`npm run bench:api`): Michman on SQLite with 10,000 projects and the full built-in
// catalog, against a bare Fastify hello-world in the same process; then the table grows to 100,000
// projects and the page of 100 is measured again, to show a page costs the same whatever the size.
//
// Loopback only; every server listens on 127.0.0.1 on an ephemeral port. autocannon runs in a worker
// thread (bench/loadWorker.ts) so it has its own event loop, but it shares the CPU cores with the
// server. Each measurement is preceded by a warm-up run, and each endpoint's run by a hello-world run
// whose req/s is the reference for its ratio (paired so both see the same machine load). Any non-2xx
// response or socket error fails the benchmark. The database lives in a temp dir removed on exit.
//
// Environment: BENCH_DURATION (seconds per measurement, default 5), BENCH_CONNECTIONS (default 10),
// BENCH_WARMUP (seconds, default 1), BENCH_STRICT=1 (exit 1 when a target is missed; default: report only).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Fastify, { type FastifyInstance } from 'fastify';
import { Store } from '../src/store/store.js';
import { buildServer } from '../src/api/server.js';
import { loadBuiltinCatalogIfEmpty } from '../src/catalog.js';
import { newId } from '../src/store/ids.js';
import { encodeCursor } from '../src/store/paging.js';
import type { LoadJob, LoadResult } from './loadWorker.js';

// ---- settings --------------------------------------------------------------------------------------

function envNumber(name: string, dflt: number, { integer = false, min = 0 } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name}=${raw}: expected a ${integer ? 'whole' : ''} number greater than ${min}`);
  }
  return n;
}

const DURATION = envNumber('BENCH_DURATION', 5);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 10, { integer: true });
const WARMUP = process.env.BENCH_WARMUP === '0' ? 0 : envNumber('BENCH_WARMUP', 1);
const STRICT = process.env.BENCH_STRICT === '1';

const SMALL = 10_000;
const LARGE = 100_000;
const PAGE = 100;
const SINGLE_TARGET = 0.5; // req/s of a single-object GET relative to hello-world
const PAGE_TOLERANCE = 0.2; // page-of-100 req/s at LARGE rows may be at most this much below SMALL

// Zero-padded so that name order (the pagination key) is insertion order.
const projectName = (i: number) => `bench-p${String(i).padStart(6, '0')}`;

// ---- data ------------------------------------------------------------------------------------------

interface Refs {
  image: string;
  flavor: string;
}

async function seedRefs(store: Store): Promise<Refs> {
  const image = { ID: newId(), Name: 'bench-image', AnsibleUser: 'ubuntu', CloudImageID: newId() };
  const flavor = { ID: newId(), Name: 'bench-flavor', VCPUs: 2, RAM: 4096, Disk: 40 };
  await store.images.insert(image);
  await store.flavors.insert(flavor);
  return { image: image.Name, flavor: flavor.Name };
}

/** Inserts projects [from, to) in one transaction. */
async function insertProjects(store: Store, refs: Refs, from: number, to: number): Promise<void> {
  await store.transaction(async (tx) => {
    for (let i = from; i < to; i++) {
      const name = projectName(i);
      await tx.projects.insert({
        ID: newId(),
        Name: name,
        DisplayName: name,
        GroupID: 'bench-group',
        Description: `Benchmark project number ${i}.`,
        DefaultImage: refs.image,
        DefaultMasterFlavor: refs.flavor,
        DefaultSlavesFlavor: refs.flavor,
        DefaultStorageFlavor: refs.flavor,
        DefaultMonitoringFlavor: refs.flavor,
      });
    }
  });
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await fn();
  log(`${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return v;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

// ---- checks ----------------------------------------------------------------------------------------

interface Envelope {
  Status?: number;
  Detail?: { Data?: unknown };
}

/** One request before the load: the endpoint must answer 200 with the data the benchmark means to measure. */
async function expectOk(url: string, check: (body: unknown, headers: Headers) => string | undefined): Promise<void> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  const problem = check(JSON.parse(text) as unknown, res.headers);
  if (problem) throw new Error(`GET ${url}: ${problem}`);
}

function pageCheck(firstIndex: number) {
  return (body: unknown, headers: Headers): string | undefined => {
    const data = (body as Envelope).Detail?.Data;
    if (!Array.isArray(data)) return 'Data is not an array';
    if (data.length !== PAGE) return `expected ${PAGE} projects, got ${data.length}`;
    const first = (data[0] as { Name?: string }).Name;
    if (first !== projectName(firstIndex)) return `page starts at ${first}, expected ${projectName(firstIndex)}`;
    if (!headers.get('x-next-cursor')) return 'no X-Next-Cursor header on a full page';
    return undefined;
  };
}

// ---- load ------------------------------------------------------------------------------------------

interface Row {
  label: string;
  rows: string;
  result: LoadResult;
  /** The hello-world run made just before this one: the reference for its ratio. */
  hello: LoadResult;
  sizeBytes: number;
}

function load(url: string): Promise<LoadResult> {
  const job: LoadJob = { url, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION };
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./loadWorker.js', import.meta.url), { workerData: job });
    let measured: LoadResult | undefined;
    const bad = (r: LoadResult) =>
      r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.requestsTotal === 0
        ? `${r.phase} of GET ${url}: ${r.requestsTotal} requests, ${r.non2xx} non-2xx (status codes ${JSON.stringify(r.statusCodes)}), ${r.errors} errors, ${r.timeouts} timeouts`
        : undefined;
    worker.on('message', (r: LoadResult) => {
      const problem = bad(r);
      if (problem) {
        void worker.terminate();
        reject(new Error(problem));
      } else if (r.phase === 'measure') measured = r;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (measured) resolve(measured);
      else reject(new Error(`load worker for GET ${url} exited with code ${code} before reporting`));
    });
  });
}

const describeRun = (r: LoadResult) => `${Math.round(r.reqPerSecAvg)} req/s, p99 ${r.latencyP99Ms} ms`;

/**
 * Measures hello-world and then `url`, back to back, so the ratio compares two runs made under the
 * same machine load (other processes on a shared machine can halve or double req/s minute to minute).
 */
async function measurePair(rowsOut: Row[], helloUrl: string, label: string, rows: string, url: string): Promise<Row> {
  log(`measuring ${label} [${rows}] and hello-world before it — each ${WARMUP}s warm-up + ${DURATION}s × ${CONNECTIONS} connections`);
  const hello = await load(helloUrl);
  log(`  hello-world: ${describeRun(hello)}`);
  const result = await load(url);
  log(`  ${label}: ${describeRun(result)}`);
  const row: Row = { label, rows, result, hello, sizeBytes: result.reqPerSecAvg > 0 ? result.throughputBytesPerSecAvg / result.reqPerSecAvg : 0 };
  rowsOut.push(row);
  return row;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---- output ----------------------------------------------------------------------------------------

function table(header: string[], body: string[][], rightAlign: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

const fix = (n: number, d: number) => n.toFixed(d);

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'michman-bench-'));
  let store: Store | undefined;
  let app: FastifyInstance | undefined;
  let hello: FastifyInstance | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await hello?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(`node ${process.version}, ${cpus().length} CPU(s), temp dir ${dir}`);
    store = await Store.open({ storage: 'sqlite', url: join(dir, 'michman.db') });
    await store.migrate();
    const loaded = await timed('built-in catalog loaded', () => loadBuiltinCatalogIfEmpty(store!));
    const refused = (loaded ?? []).filter((r) => r.error);
    if (!loaded || loaded.length === 0 || refused.length > 0) {
      throw new Error(`built-in catalog did not load cleanly: ${refused.map((r) => `${r.source}: ${r.error}`).join('; ') || 'nothing loaded'}`);
    }
    const refs = await seedRefs(store);
    await timed(`${SMALL.toLocaleString('en')} projects inserted`, () => insertProjects(store!, refs, 0, SMALL));

    app = await buildServer({ store, logger: false });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });

    hello = Fastify();
    hello.get('/', async () => ({ hello: 'world' }));
    const helloBase = await hello.listen({ host: '127.0.0.1', port: 0 });
    log(`michman at ${base}, hello-world at ${helloBase}`);

    const results: Row[] = [];
    const small = `${SMALL / 1000}k`;
    const large = `${LARGE / 1000}k`;

    // Requests, each checked once before the load.
    const oneName = projectName(SMALL / 2);
    const urlOne = `${base}/projects/${oneName}`;
    const urlSpark = `${base}/configs/spark?view=full`;
    const urlFirst = `${base}/projects?limit=${PAGE}`;
    const middleUrl = (rows: number) => `${base}/projects?limit=${PAGE}&after=${encodeCursor(projectName(rows / 2 - 1))}`;

    await expectOk(`${helloBase}/`, (b) => ((b as { hello?: string }).hello === 'world' ? undefined : 'not hello world'));
    await expectOk(urlOne, (b) => ((b as Envelope).Detail?.Data as { Name?: string } | undefined)?.Name === oneName ? undefined : `not project ${oneName}`);
    await expectOk(urlSpark, (b) => {
      const d = (b as Envelope).Detail?.Data as { Type?: string; Versions?: unknown[] } | undefined;
      if (d?.Type !== 'spark') return 'not the spark service type';
      return Array.isArray(d.Versions) && d.Versions.length > 0 ? undefined : 'spark without versions (view=full expected)';
    });
    await expectOk(urlFirst, pageCheck(0));
    await expectOk(middleUrl(SMALL), pageCheck(SMALL / 2));

    const load0 = loadavg();
    const hw = `${helloBase}/`;
    const a = await measurePair(results, hw, '(a) GET /projects/<name>', small, urlOne);
    const b = await measurePair(results, hw, '(b) GET /configs/spark?view=full', small, urlSpark);
    const c10 = await measurePair(results, hw, '(c) GET /projects?limit=100 (first page)', small, urlFirst);
    const d10 = await measurePair(results, hw, '(d) GET /projects?limit=100&after=<middle>', small, middleUrl(SMALL));

    await timed(`table grown to ${LARGE.toLocaleString('en')} projects`, () => insertProjects(store!, refs, SMALL, LARGE));
    const count = await store.db.selectFrom('projects').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(count.n) !== LARGE) throw new Error(`expected ${LARGE} projects, found ${count.n}`);
    await expectOk(urlFirst, pageCheck(0));
    await expectOk(middleUrl(LARGE), pageCheck(LARGE / 2));

    const c100 = await measurePair(results, hw, '(c) GET /projects?limit=100 (first page)', large, urlFirst);
    const d100 = await measurePair(results, hw, '(d) GET /projects?limit=100&after=<middle>', large, middleUrl(LARGE));
    const load1 = loadavg();

    // ---- report ----
    const ratio = (r: Row) => r.result.reqPerSecAvg / r.hello.reqPerSecAvg;
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${fix(x * 100, 1)}%`;
    const nCpu = cpus().length;
    const hellos = results.map((r) => r.hello);
    const helloRps = hellos.map((h) => h.reqPerSecAvg);
    const helloMedian = median(helloRps);
    const spread = (Math.max(...helloRps) - Math.min(...helloRps)) / helloMedian;
    const out: string[] = [];
    out.push('');
    out.push(`Michman API benchmark — SQLite, loopback, ${CONNECTIONS} connections, ${DURATION}s per run after ${WARMUP}s warm-up,`);
    out.push(`autocannon in a worker thread sharing ${nCpu} CPU core(s) with the servers; node ${process.version}`);
    out.push(`load average (1 min) at start ${fix(load0[0] ?? 0, 2)}, at end ${fix(load1[0] ?? 0, 2)}`);
    out.push('');
    out.push(
      table(
        ['endpoint', 'projects', 'req/s', 'p99 ms', 'avg ms', 'resp B', 'hello req/s', 'vs hello'],
        [
          [
            `hello-world (bare Fastify) GET /, median of ${hellos.length}`,
            '-',
            fix(helloMedian, 0),
            fix(median(hellos.map((h) => h.latencyP99Ms)), 0),
            fix(median(hellos.map((h) => h.latencyAvgMs)), 2),
            fix(median(hellos.map((h) => h.throughputBytesPerSecAvg / h.reqPerSecAvg)), 0),
            '',
            '1.00',
          ],
          ...results.map((r) => [
            r.label,
            r.rows,
            fix(r.result.reqPerSecAvg, 0),
            fix(r.result.latencyP99Ms, 0),
            fix(r.result.latencyAvgMs, 2),
            fix(r.sizeBytes, 0),
            fix(r.hello.reqPerSecAvg, 0),
            fix(ratio(r), 2),
          ]),
        ],
        [false, true, true, true, true, true, true, true],
      ),
    );
    out.push('');
    out.push('vs hello = req/s ÷ req/s of the hello-world run made just before (the "hello req/s" column).');
    const noisy = spread > 0.2 || Math.max(load0[0] ?? 0, load1[0] ?? 0) > nCpu;
    out.push(
      `hello-world req/s over the ${hellos.length} runs: ${fix(Math.min(...helloRps), 0)}–${fix(Math.max(...helloRps), 0)} (spread ${fix(spread * 100, 0)}% of median)` +
        (noisy ? '\n⚠ noisy machine (hello-world spread > 20% or load average > CPU count): raw req/s comparisons between runs are unreliable; prefer the ratios, and rerun on a quiet machine' : ''),
    );

    const checks: Array<{ name: string; pass: boolean; detail: string }> = [];
    for (const [name, row] of [
      ['(a) GET /projects/<name>', a],
      ['(b) GET /configs/spark?view=full', b],
    ] as const) {
      const r = ratio(row);
      checks.push({ name, pass: r >= SINGLE_TARGET, detail: `${fix(r, 2)}× hello-world (target ≥ ${SINGLE_TARGET})` });
    }
    for (const [name, at10, at100] of [
      ['page of 100, first page', c10, c100],
      ['page of 100, middle page', d10, d100],
    ] as const) {
      const rel = at100.result.reqPerSecAvg / at10.result.reqPerSecAvg - 1;
      const relNorm = ratio(at100) / ratio(at10) - 1;
      checks.push({
        name: `${name} ${large} vs ${small}`,
        pass: rel >= -PAGE_TOLERANCE,
        detail: `${fix(at100.result.reqPerSecAvg, 0)} vs ${fix(at10.result.reqPerSecAvg, 0)} req/s = ${pct(rel)} (target ≥ -${PAGE_TOLERANCE * 100}%; as ratios to their hello-world runs: ${fix(ratio(at100), 2)} vs ${fix(ratio(at10), 2)} = ${pct(relNorm)})`,
      });
    }
    out.push('');
    for (const c of checks) out.push(`  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail}`);
    const missed = checks.filter((c) => !c.pass);
    out.push('');
    out.push(
      missed.length === 0
        ? 'VERDICT: PASS — single-object GETs ≥ 0.5× hello-world; page of 100 at 100k rows within 20% of 10k rows'
        : `VERDICT: FAIL — missed: ${missed.map((c) => c.name).join('; ')}${noisy ? ' (machine was noisy, see the warning above)' : ''}`,
    );
    process.stdout.write(out.join('\n') + '\n');
    return missed.length > 0 && STRICT ? 1 : 0;
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
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
