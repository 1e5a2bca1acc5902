// Michman's own endpoints for operators and orchestrators: /healthz (the process answers),
// /readyz (the database answers and its schema is this version's), /metrics (Prometheus text).
// None needs a login (auth/plugin.ts lets them through): probes carry no credentials. /metrics
// shows counts and route patterns only, no names; with metrics_token set it wants that bearer token.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import type { Metrics } from '../../metrics.js';

export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

/** How long /readyz waits for the database before it answers 503. */
const READY_TIMEOUT_MS = 2_000;

const digest = (s: string) => createHash('sha256').update(s).digest();

export function opsRoutes(app: FastifyInstance, store: Store, metrics: Metrics, o: { metricsToken?: string } = {}): void {
  // Count every answer by its route pattern; unmatched URLs share one label.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const hide = { schema: { hide: true } };
  app.get('/healthz', hide, async (_req, reply) => reply.code(200).type('text/plain; charset=utf-8').send('ok\n'));

  app.get('/readyz', hide, async (_req, reply) => {
    const problem = await Promise.race([
      (async () => {
        try {
          const pending = await store.pendingMigrations();
          return pending.length > 0 ? `database schema is behind: migrations ${pending.join(', ')} not applied (run michman migrate)` : undefined;
        } catch (err) {
          return `database does not answer: ${(err as Error).message.split('\n')[0]}`;
        }
      })(),
      new Promise<string>((r) => setTimeout(() => r(`database does not answer within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS).unref()),
    ]);
    return reply.code(problem ? 503 : 200).type('text/plain; charset=utf-8').send(problem ? `not ready: ${problem}\n` : 'ready\n');
  });

  app.get('/metrics', hide, async (req, reply) => {
    if (o.metricsToken) {
      const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(String(req.headers.authorization ?? ''));
      if (!m || !timingSafeEqual(digest(m[1]!), digest(o.metricsToken))) {
        return reply.code(401).header('www-authenticate', 'Bearer').type('text/plain; charset=utf-8').send('metrics_token required\n');
      }
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
