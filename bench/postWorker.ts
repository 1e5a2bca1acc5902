// The engine benchmark's clients, in a worker thread: N concurrent cluster POSTs sent from their own
// event loop, as real clients would be, so the server's loop does only the server's work (they still
// share the machine's two cores). workerData: PostJob; posts back one PostResult.
//
// How the requests reach the replicas (BENCH_CLIENT, passed in PostJob.client):
// - `keepalive` (default): over a pool of persistent connections per replica (BENCH_CONNECTIONS,
//   100), as a load balancer in front of the replicas holds them (nginx's upstream keepalive, HAProxy's
//   connection reuse): the replicas see few connections however many clients there are;
// - `fetch`: each request on a connection of its own (Node's fetch with 1,000 requests in flight),
//   as 1,000 clients reaching the replicas directly would. On the 2-core machine this alone costs
//   the machine about a second of CPU per 1,000 requests, in the clients and in the replicas.
import { Agent, request as httpRequest } from 'node:http';
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
  /** `keepalive` (default): persistent connections, `connections` per replica; `fetch`: a connection per request. */
  client?: 'keepalive' | 'fetch';
  connections?: number;
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

/** A POST with a JSON body over `agent`'s persistent connections: its status and body. */
function postKeepAlive(agent: Agent, url: string, body: unknown, timeoutMs: number): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function main(job: PostJob): Promise<PostResult> {
  const bases = job.bases?.length ? job.bases : [job.base];
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections ?? 100 });
  const timeoutMs = job.timeoutMs ?? 30_000;
  const post = job.client === 'fetch' ? (url: string, body: unknown) => request('POST', url, body, timeoutMs) : (url: string, body: unknown) => postKeepAlive(agent, url, body, timeoutMs);
  const t0 = Date.now();
  const posts = await Promise.all(
    Array.from({ length: job.clusters }, async (_, i): Promise<PostOutcome> => {
      const s = performance.now();
      try {
        const r = await post(`${bases[i % bases.length]}/projects/bench/clusters`, { DisplayName: `c${String(i).padStart(5, '0')}`, NSlaves: job.slaves, Services: [] });
        return { ok: r.status === 201, ms: performance.now() - s, endAt: Date.now(), detail: r.status === 201 ? '' : `${r.status} ${r.text.slice(0, 200)}` };
      } catch (err) {
        return { ok: false, ms: performance.now() - s, endAt: Date.now(), detail: (err as Error).message };
      }
    }),
  );
  agent.destroy();
  return { t0, posts };
}

if (!parentPort) throw new Error('bench/postWorker.js must be run as a worker thread');
const port = parentPort;
main(workerData as PostJob).then(
  (r) => port.postMessage(r),
  (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
