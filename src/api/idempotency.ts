// Idempotency-Key as a hook, for routes whose config says `idempotent: true` (cluster create,
// update, delete). Stripe's semantics:
// - the first request with a key claims it (a row marked in flight) and runs;
// - its 2xx response is stored and replayed, with `Idempotent-Replayed: true`, to every repeat of
//   the same request under the same key for IDEMPOTENCY_RETENTION (24 h by default, then purged);
// - a repeat that arrives while the first is still running gets 409 naming the key: retry later;
// - the same key with a different request (body or URL) is a 400;
// - a request that fails (4xx, 5xx) frees its key, so the client may retry with it.
// Keys are scoped by caller, method and path. A key whose request died with its process is taken
// over once it is older than the request timeout.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { MichmanError, ErrorClass, validation } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the Idempotency-Key header on this route. */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotency?: { scope: string; key: string };
  }
}

export const IDEMPOTENCY_RETENTION_MS = 24 * 3_600_000;

export interface IdempotencyOptions {
  /** How long a stored response is replayed; older keys are purged. Default 24 h. */
  retentionMs?: number;
  /** How often the purge runs; default 10 minutes. 0 = never. */
  purgeEveryMs?: number;
  /** An in-flight key older than this belonged to a request that died; default 2 minutes. */
  staleMs?: number;
}

export function registerIdempotency(app: FastifyInstance, store: Store, o: IdempotencyOptions = {}): void {
  const retentionMs = o.retentionMs ?? IDEMPOTENCY_RETENTION_MS;
  const staleMs = o.staleMs ?? 120_000;
  app.decorateRequest('idempotency', undefined);

  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config?.idempotent) return;
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return;
    if (key.length > 200) throw validation('Idempotency-Key must be at most 200 characters');
    const scope = scopeOf(req);
    const requestHash = createHash('sha256').update(JSON.stringify(req.body ?? null)).update(req.url).digest('hex');
    const now = Date.now();
    const got = await store.operations.claimIdempotencyKey({ scope, key, requestHash }, now, now - staleMs);
    if (got.claimed) {
      req.idempotency = { scope, key };
      return;
    }
    if (got.record.requestHash !== requestHash) throw validation('Idempotency-Key was already used for a different request');
    if (got.record.response.status === 0) {
      throw new MichmanError(ErrorClass.Conflict, `a request with Idempotency-Key '${key}' is still in progress; retry after it has finished`);
    }
    return reply.code(got.record.response.status).header('Idempotent-Replayed', 'true').send(got.record.response.body);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const k = req.idempotency;
    if (!k) return payload;
    req.idempotency = undefined;
    try {
      if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
        await store.operations.completeIdempotencyKey(k.scope, k.key, { status: reply.statusCode, body: JSON.parse(payload) });
      } else {
        await store.operations.releaseIdempotencyKey(k.scope, k.key);
      }
    } catch (err) {
      req.log.error({ err }, 'idempotency key not recorded');
    }
    return payload;
  });

  // A request that never reached onSend (client gone) must not hold its key until it turns stale.
  app.addHook('onResponse', async (req) => {
    const k = req.idempotency;
    if (k) await store.operations.releaseIdempotencyKey(k.scope, k.key).catch(() => undefined);
  });

  const every = o.purgeEveryMs ?? 600_000;
  if (every > 0) {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    app.addHook('onReady', async () => {
      const purge = () => {
        running ??= store.operations
          .purgeIdempotencyKeys(Date.now() - retentionMs)
          .catch((err: unknown) => app.log.error({ err }, 'idempotency keys not purged'))
          .finally(() => (running = undefined));
      };
      purge();
      timer = setInterval(purge, every);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await running;
    });
  }
}

/** Keys are the caller's own: the same key from two users names two requests. */
function scopeOf(req: FastifyRequest): string {
  const path = req.url.split('?')[0];
  const who = req.identity?.userId;
  return who === undefined ? `${req.method} ${path}` : `${who} ${req.method} ${path}`;
}
