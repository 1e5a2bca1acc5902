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

// Off the main thread autocannon hands back its raw result (encoded histograms, counters) for its
// own worker manager to aggregate. aggregateResult (exported, not in @types) decodes the latency
// histogram; the per-second request/byte histograms are kept by that manager from 'tick' events and
// come back empty here, so their averages are computed from the raw counters instead: autocannon's
// `requests.average` is the mean of one sample per second, i.e. totalCompletedRequests / samples.
interface RawResult {
  totalCompletedRequests: number;
  totalBytes: number;
  samples: number;
}
type Both = autocannon.Result & RawResult;
const aggregate = (autocannon as unknown as { aggregateResult(raw: unknown[], opts: autocannon.Options): autocannon.Result }).aggregateResult;

function run(url: string, connections: number, duration: number): Promise<Both> {
  const opts: autocannon.Options = { url, connections, duration, pipelining: 1 };
  return new Promise((resolve, reject) => {
    autocannon(opts, (err: unknown, result: autocannon.Result) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      try {
        const raw = result as unknown as RawResult & Partial<autocannon.Result>;
        if (typeof raw.totalCompletedRequests !== 'number' || typeof raw.samples !== 'number') {
          throw new Error('unexpected autocannon result: no raw counters (did it run on the main thread?)');
        }
        const agg = aggregate([result], opts);
        resolve({ ...agg, totalCompletedRequests: raw.totalCompletedRequests, totalBytes: raw.totalBytes, samples: raw.samples });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

function summarise(phase: LoadResult['phase'], r: Both): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat?.count ?? 0;
  const samples = Math.max(1, r.samples);
  return {
    phase,
    url: r.url,
    reqPerSecAvg: r.totalCompletedRequests / samples,
    requestsTotal: r.totalCompletedRequests,
    latencyAvgMs: r.latency.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    throughputBytesPerSecAvg: r.totalBytes / samples,
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
