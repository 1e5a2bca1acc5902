// Load generator for bench/api.ts, run in a worker thread so autocannon has its own event loop
// and does not compete with the server's (the two still share the machine's CPU cores).
// workerData: LoadJob; posts back one LoadResult per phase (the warm-up, then the measurement).
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoadResult {
  phase: 'warmup' | 'measure';
  url: string;
  reqPerSecAvg: number;
  requestsTotal: number;
  latencyAvgMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  throughputBytesPerSecAvg: number;
  durationSeconds: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  statusCodes: Record<string, number>;
}

function run(url: string, connections: number, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, pipelining: 1 }, (err: unknown, result: autocannon.Result) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result),
    );
  });
}

function summarise(phase: LoadResult['phase'], r: autocannon.Result): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat?.count ?? 0;
  return {
    phase,
    url: r.url,
    reqPerSecAvg: r.requests.average,
    requestsTotal: r.requests.total,
    latencyAvgMs: r.latency.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    throughputBytesPerSecAvg: r.throughput.average,
    durationSeconds: r.duration,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    statusCodes,
  };
}

async function main(): Promise<void> {
  if (!parentPort) throw new Error('bench/loadWorker.js must be run as a worker thread');
  const job = workerData as LoadJob;
  if (job.warmupSeconds > 0) parentPort.postMessage(summarise('warmup', await run(job.url, job.connections, job.warmupSeconds)));
  parentPort.postMessage(summarise('measure', await run(job.url, job.connections, job.durationSeconds)));
}

await main();
