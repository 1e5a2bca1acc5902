// Memory benchmark (`npm run bench:memory`): resident memory of an idle `michman serve` holding
// 10,000 clusters. The clusters (3 services each, ACTIVE, with URLs) are written straight into the
// SQLite database of a temp data dir — Store + clusters.insert in one transaction, after the
// built-in catalog is loaded — and then `node dist/src/cli.js serve` is spawned on that data dir,
// listening on 127.0.0.1 only. Its memory is read:
// - from inside, through a tiny preload (bench/memoryProbe.ts, `node --import`) that answers an IPC
//   message with process.memoryUsage() and VmRSS/VmHWM of /proc/self/status;
// - from outside, /proc/<pid>/status, as a cross-check.
// Points: after start-up (plus a settle pause), after GET /projects/bench/clusters?limit=100 (a page
// of clusters), and — for information, not a target — after a GET of the whole list without
// `limit`, which answers every cluster at once as the original API did.
// Variants: `--workers 0` (an API-only replica) and `--workers 4` (the default; the workers poll an
// empty queue). Target: < 200 MB resident after start-up and after the page GET.
//
// Environment: BENCH_CLUSTERS (default 10000), BENCH_VARIANTS (worker counts, default "0,4"),
// BENCH_SETTLE_MS (pause before each reading, default 2000), BENCH_STRICT=1 (exit 1 on a miss).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/store.js';
import { loadBuiltinCatalogIfEmpty } from '../src/catalog.js';
import { newId } from '../src/store/ids.js';
import type { StoredCluster } from '../src/store/repos/clusters.js';
import type { MemoryReport } from './memoryProbe.js';
import { Cleanup, envNumber, fix, log, request, sleep, table } from './common.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 10_000, { integer: true, min: 1 });
const VARIANTS = (process.env.BENCH_VARIANTS ?? '0,4').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_VARIANTS: '${s}' is not a worker count`);
  return n;
});
const SETTLE_MS = envNumber('BENCH_SETTLE_MS', 2000);
const STRICT = process.env.BENCH_STRICT === '1';
const TARGET_MB = 200;
const START_TIMEOUT_MS = 60_000;

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const PROBE = new URL('./memoryProbe.js', import.meta.url).href;
const MB = 1024 * 1024;

// ---- data ------------------------------------------------------------------------------------------

async function seed(dbFile: string): Promise<{ services: number }> {
  const store = await Store.open({ storage: 'sqlite', url: dbFile });
  try {
    await store.migrate();
    await loadBuiltinCatalogIfEmpty(store);
    await store.images.insert({ ID: newId(), Name: 'bench-image', AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' });
    await store.flavors.insert({ ID: newId(), Name: 'bench-flavor', VCPUs: 2, RAM: 4096, Disk: 40 });
    const projectId = newId();
    await store.projects.insert({
      ID: projectId,
      Name: 'bench',
      DisplayName: 'bench',
      GroupID: 'bench',
      Description: 'memory benchmark',
      DefaultImage: 'bench-image',
      DefaultMasterFlavor: 'bench-flavor',
      DefaultSlavesFlavor: 'bench-flavor',
      DefaultStorageFlavor: 'bench-flavor',
      DefaultMonitoringFlavor: 'bench-flavor',
    });
    let services = 0;
    await store.transaction(async (tx) => {
      for (let i = 0; i < CLUSTERS; i++) {
        const display = `c${String(i).padStart(6, '0')}`;
        const ip = `127.77.${(i >> 8) & 255}.${(i & 255) || 1}`;
        const svc = (type: string, version: string, port: number, config: Record<string, string>) => ({
          ID: newId(),
          Name: `${type}-${display}`,
          Type: type,
          Version: version,
          Config: config,
          DisplayName: type,
          Description: `${type} of cluster ${display}`,
          EntityStatus: '',
          URL: `${ip}:${port}`,
        });
        const cluster: StoredCluster = {
          ID: newId(),
          Name: `${display}-bench`,
          DisplayName: display,
          HostURL: '',
          EntityStatus: 'ACTIVE',
          ClusterType: '',
          Services: [
            svc('redis', '7.0', 6379, { db_password: 'not-a-real-secret' }),
            svc('postgresql', '15', 5432, { db_name: 'app', db_user: 'app' }),
            svc('jupyter', 'jupyter-notebook', 8888, {}),
          ],
          NSlaves: 0,
          MasterIP: ip,
          ProjectID: projectId,
          OwnerID: 'unauthorized',
          Description: `benchmark cluster number ${i}`,
          Image: 'bench-image',
          Keys: [],
          Monitoring: false,
          MasterFlavor: 'bench-flavor',
          SlavesFlavor: 'bench-flavor',
          StorageFlavor: 'bench-flavor',
          MonitoringFlavor: 'bench-flavor',
        };
        services += cluster.Services.length;
        await tx.clusters.insert(cluster);
      }
    });
    const n = await store.clusters.count(projectId);
    if (n !== CLUSTERS) throw new Error(`expected ${CLUSTERS} clusters in the database, found ${n}`);
    return { services };
  } finally {
    await store.close();
  }
}

// ---- the served process ----------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Served {
  child: ChildProcess;
  base: string;
  startMs: number;
  ask(): Promise<MemoryReport>;
  stop(): Promise<void>;
}

async function startServe(cwd: string, dataDir: string, workers: number): Promise<Served> {
  const port = await freePort();
  // Nothing of this process's MICHMAN_* settings may leak into the measured one.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MICHMAN_') && k !== 'NODE_OPTIONS') env[k] = v;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', PROBE, CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--workers', String(workers)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let exited = false;
  let tail = '';
  const keep = (b: Buffer) => void (tail = (tail + b.toString()).slice(-4000));
  child.stdout!.on('data', keep); // request logs: drained, the end kept for errors
  child.stderr!.on('data', keep);
  child.once('exit', () => (exited = true));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 200 && !exited; i++) await sleep(50);
    if (!exited) child.kill('SIGKILL');
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`michman serve did not listen within ${START_TIMEOUT_MS / 1000} s; output:\n${tail}`)), START_TIMEOUT_MS);
      const onData = (b: Buffer) => {
        if (b.toString().includes('listening on')) {
          clearTimeout(timer);
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`michman serve exited with code ${code}; output:\n${tail}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const startMs = performance.now() - t0;
  const ask = () =>
    new Promise<MemoryReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no memory report within 10 s')), 10_000);
      child.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as MemoryReport);
      });
      child.send('memory');
    });
  return { child, base: `http://127.0.0.1:${port}`, startMs, ask, stop };
}

function outsideStatus(pid: number): { vmRssKb?: number; vmHwmKb?: number; rssAnonKb?: number; rssFileKb?: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return { vmRssKb: kb('VmRSS'), vmHwmKb: kb('VmHWM'), rssAnonKb: kb('RssAnon'), rssFileKb: kb('RssFile') };
}

interface Reading {
  variant: string;
  point: string;
  target: boolean;
  inside: MemoryReport;
  outside: ReturnType<typeof outsideStatus>;
  extra: string;
}

// ---- main ------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cleanup = new Cleanup(VARIANTS.length * 180_000 + 300_000);
  const root = mkdtempSync(join(tmpdir(), 'michman-bench-memory-'));
  cleanup.add('temp dir', () => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, 'data');
  const readings: Reading[] = [];
  const starts: string[] = [];
  const load0 = loadavg();
  let dbSize = 0;
  let services = 0;
  try {
    const t = performance.now();
    ({ services } = await seed(join(dataDir, 'michman.sqlite')));
    dbSize = ['michman.sqlite', 'michman.sqlite-wal'].reduce((a, f) => {
      try {
        return a + statSync(join(dataDir, f)).size;
      } catch {
        return a;
      }
    }, 0);
    log(`${CLUSTERS.toLocaleString('en')} clusters with ${services.toLocaleString('en')} services inserted (${fix((performance.now() - t) / 1000, 1)} s, database ${fix(dbSize / MB, 1)} MB)`);

    for (const workers of VARIANTS) {
      const variant = `--workers ${workers}`;
      log(`starting michman serve ${variant}`);
      const s = await startServe(root, dataDir, workers);
      cleanup.add(`serve ${variant}`, () => s.stop());
      starts.push(`${variant}: listening ${fix(s.startMs, 0)} ms after spawn`);
      const read = async (point: string, target: boolean, extra: string) => {
        await sleep(SETTLE_MS);
        const inside = await s.ask();
        readings.push({ variant, point, target, inside, outside: outsideStatus(s.child.pid!), extra });
      };
      await read('after start-up', true, '');

      const page = await request('GET', `${s.base}/projects/bench/clusters?limit=100`);
      const pageData = page.json?.Detail?.Data as unknown[] | undefined;
      if (page.status !== 200 || pageData?.length !== Math.min(100, CLUSTERS)) throw new Error(`GET a page answered ${page.status} with ${pageData?.length} clusters`);
      await read('after GET ?limit=100', true, `${fix(page.text.length / 1024, 0)} kB response`);

      const all = await request('GET', `${s.base}/projects/bench/clusters`, undefined, 120_000);
      const allData = all.json?.Detail?.Data as unknown[] | undefined;
      if (all.status !== 200 || allData?.length !== CLUSTERS) throw new Error(`GET every cluster answered ${all.status} with ${allData?.length} clusters`);
      await read('after GET of all (no limit)', false, `${fix(all.text.length / MB, 1)} MB response`);
      await s.stop();
    }
  } finally {
    await cleanup.run();
  }
  const load1 = loadavg();

  const mb = (bytes?: number) => (bytes === undefined ? '-' : fix(bytes / MB, 1));
  const kbToMb = (kb?: number) => (kb === undefined ? '-' : fix(kb / 1024, 1));
  const out: string[] = [''];
  out.push(
    `Michman memory benchmark — idle \`michman serve\` (SQLite, provider local) holding ${CLUSTERS.toLocaleString('en')} clusters ` +
      `with ${services.toLocaleString('en')} services (database ${fix(dbSize / MB, 1)} MB), readings ${SETTLE_MS} ms after each step`,
  );
  out.push(`${cpus().length} CPU(s), node ${process.version}, load average ${fix(load0[0] ?? 0, 2)} → ${fix(load1[0] ?? 0, 2)}; ${starts.join('; ')}`);
  out.push('');
  out.push(
    table(
      ['variant', 'point', 'rss MB', 'VmRSS MB', 'VmHWM MB', 'heapUsed MB', 'heapTotal MB', 'external MB', 'outside VmRSS MB', 'RssAnon/RssFile MB', 'note'],
      readings.map((r) => [
        r.variant,
        r.point,
        mb(r.inside.usage.rss),
        kbToMb(r.inside.vmRssKb),
        kbToMb(r.inside.vmHwmKb),
        mb(r.inside.usage.heapUsed),
        mb(r.inside.usage.heapTotal),
        mb(r.inside.usage.external),
        kbToMb(r.outside.vmRssKb),
        `${kbToMb(r.outside.rssAnonKb)}/${kbToMb(r.outside.rssFileKb)}`,
        r.extra,
      ]),
      [false, false, true, true, true, true, true, true, true, true, false],
    ),
  );
  out.push('');
  out.push('rss = process.memoryUsage().rss and VmRSS/VmHWM = /proc/self/status, both read inside the serve process; outside = /proc/<pid>/status.');
  const checks = readings
    .filter((r) => r.target)
    .map((r) => {
      const worst = Math.max(r.inside.usage.rss, (r.inside.vmRssKb ?? 0) * 1024);
      return { name: `${r.variant} ${r.point}`, pass: worst < TARGET_MB * MB, detail: `${fix(worst / MB, 1)} MB resident (target < ${TARGET_MB} MB)` };
    });
  for (const r of readings.filter((x) => !x.target)) {
    out.push(`  [INFO] ${r.variant} ${r.point}: ${mb(r.inside.usage.rss)} MB resident, peak ${kbToMb(r.inside.vmHwmKb)} MB (${r.extra}; not a target)`);
  }
  for (const c of checks) out.push(`  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail}`);
  const missed = checks.filter((c) => !c.pass);
  out.push('');
  out.push(missed.length === 0 ? `VERDICT: PASS — idle michman serve with ${CLUSTERS.toLocaleString('en')} clusters stays under ${TARGET_MB} MB resident` : `VERDICT: FAIL — missed: ${missed.map((c) => c.name).join('; ')}`);
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
