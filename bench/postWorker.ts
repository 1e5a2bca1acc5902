// The engine benchmark's clients, in a worker thread: N concurrent cluster POSTs sent from their own
// event loop, as real clients would be, so the server's loop does only the server's work (they still
// share the machine's two cores). workerData: PostJob; posts back one PostResult.
import { parentPort, workerData } from 'node:worker_threads';
import { request } from './common.js';

export interface PostJob {
  base: string;
  /** API replicas to spread the POSTs over, in turn (multi-process mode); default [base]. */
  bases?: string[];
  clusters: number;
  slaves: number;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

export interface PostOutcome {
  ok: boolean;
  /** Request duration. */
  ms: number;
  /** Epoch milliseconds when the answer arrived. */
  endAt: number;
  detail: string;
}

export interface PostResult {
  /** Epoch milliseconds when the first POST was sent. */
  t0: number;
  posts: PostOutcome[];
}

async function main(job: PostJob): Promise<PostResult> {
  const bases = job.bases?.length ? job.bases : [job.base];
  const t0 = Date.now();
  const posts = await Promise.all(
    Array.from({ length: job.clusters }, async (_, i): Promise<PostOutcome> => {
      const s = performance.now();
      try {
        const r = await request('POST', `${bases[i % bases.length]}/projects/bench/clusters`, { DisplayName: `c${String(i).padStart(5, '0')}`, NSlaves: job.slaves, Services: [] }, job.timeoutMs);
        return { ok: r.status === 201, ms: performance.now() - s, endAt: Date.now(), detail: r.status === 201 ? '' : `${r.status} ${r.text.slice(0, 200)}` };
      } catch (err) {
        return { ok: false, ms: performance.now() - s, endAt: Date.now(), detail: (err as Error).message };
      }
    }),
  );
  return { t0, posts };
}

if (!parentPort) throw new Error('bench/postWorker.js must be run as a worker thread');
const port = parentPort;
main(workerData as PostJob).then(
  (r) => port.postMessage(r),
  (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
