import pg from 'pg';
import { PostgresDialect, sql } from 'kysely';
import type { DialectKit, QueuedListener } from './kit.js';
import { upsertSequencesReturning } from './sequences.js';

export function postgresKit(url: string): DialectKit {
  return {
    kind: 'postgres',
    longText: 'text',
    rowLock: { exclusive: sql`for update`, shared: sql`for share` },
    skipLocked: sql`for update skip locked`,
    ignoreDuplicates: (qb) => qb.onConflict((oc) => oc.doNothing()),
    bumpSequences: upsertSequencesReturning,
    createDialect() {
      return new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) });
    },
    isTransient(err) {
      const code = (err as { code?: string } | null)?.code;
      return code === '40001' || code === '40P01';
    },
    isUniqueViolation(err) {
      return (err as { code?: string } | null)?.code === '23505';
    },
    queued: {
      async announce(db) {
        // Several in one transaction are folded into one by PostgreSQL.
        await sql`select pg_notify(${QUEUED_CHANNEL}, '')`.execute(db);
      },
      listen: (onQueued, onError) => listenQueued(url, onQueued, onError),
    },
  };
}

/** The channel of QueuedSignal: a commit that queued operations notifies it. */
const QUEUED_CHANNEL = 'michman_operations_queued';
/** Pauses before reopening a lost listening connection: from 1 s, doubling, at most 30 s. */
const RELISTEN_MIN_MS = 1_000;
const RELISTEN_MAX_MS = 30_000;

/**
 * A connection of its own that LISTENs on QUEUED_CHANNEL (a pooled one would be handed to other
 * queries). Lost, it is reopened after a pause, and onQueued is called once it listens again.
 */
function listenQueued(url: string, onQueued: () => void, onError: (err: Error) => void): QueuedListener {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let pauseMs = RELISTEN_MIN_MS;
  let connecting: Promise<void> | undefined;
  const lost = (c: pg.Client, err: Error) => {
    if (client !== c) return; // already replaced
    client = undefined;
    c.removeAllListeners('notification');
    void c.end().catch(() => undefined);
    if (closed) return;
    onError(err);
    retry = setTimeout(open, pauseMs);
    retry.unref();
    pauseMs = Math.min(pauseMs * 2, RELISTEN_MAX_MS);
  };
  const open = (): void => {
    retry = undefined;
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on('notification', (n) => n.channel === QUEUED_CHANNEL && onQueued());
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('the listening connection ended')));
    connecting = (async () => {
      try {
        await c.connect();
        await c.query(`LISTEN ${QUEUED_CHANNEL}`);
        if (client !== c || closed) return;
        pauseMs = RELISTEN_MIN_MS;
        // Operations queued while no connection listened are found by this round.
        onQueued();
      } catch (err) {
        lost(c, err as Error);
      }
    })();
  };
  open();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await connecting;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
