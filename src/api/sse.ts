// Server-sent events of a cluster: everything after a given event, then new events as they are
// stored, until the cluster's operations end. Resumes from Last-Event-ID.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import type { StoredEvent } from '../store/repos/events.js';

export function eventView(e: StoredEvent) {
  return { ID: e.id, Time: new Date(e.time).toISOString(), Level: e.level, Phase: e.phase, Node: e.node ?? '', Service: e.service ?? '', Message: e.message, OperationID: e.operationId ?? '' };
}

/** Per server: aborted when it starts closing, so open streams end and the close does not wait an hour. */
const closing = new WeakMap<object, AbortSignal>();

/** Ends every event stream of `app` when it closes (a client reconnects with Last-Event-ID). */
export function endStreamsOnClose(app: FastifyInstance): void {
  const c = new AbortController();
  closing.set(app, c.signal);
  app.addHook('preClose', (done) => {
    c.abort();
    done();
  });
}

/** Bounded: at most an hour of polling per stream. */
const MAX_STREAM_MS = 3_600_000;
const POLL_MS = 300;
/**
 * A comment line after this long without an event: a long silent step (an Ansible task of minutes)
 * must not look like a dead connection to a proxy or load balancer in front (nginx's
 * proxy_read_timeout and most idle timeouts are 60 s). Clients skip comment lines.
 */
export const KEEPALIVE_MS = 15_000;

export async function streamEvents(store: Store, req: FastifyRequest, reply: FastifyReply, clusterId: string, after: number): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  // x-accel-buffering: nginx would otherwise hold the events back in its buffer.
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let wrote = Date.now();
  let last = Number(req.headers['last-event-id'] ?? after) || after;
  let closed = false;
  req.raw.on('close', () => (closed = true));
  const shutdown = closing.get(req.server);
  shutdown?.addEventListener('abort', () => (closed = true), { once: true });
  const until = Date.now() + MAX_STREAM_MS;
  while (!closed && Date.now() < until) {
    const batch = await store.events.list(clusterId, { after: last, limit: 500 });
    for (const e of batch) {
      res.write(`id: ${e.id}\nevent: ${e.level}\ndata: ${JSON.stringify(eventView(e))}\n\n`);
      last = e.id;
      wrote = Date.now();
    }
    if (batch.length === 0) {
      const active = await store.operations.active(clusterId);
      if (active.length === 0) break;
      if (Date.now() - wrote >= KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        wrote = Date.now();
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  if (!closed || shutdown?.aborted) res.end('event: end\ndata: {}\n\n');
}
