// Events of a cluster's operations, in order. An event's ID is the cluster's own counter
// (event_sequences), taken under the counter row's lock and committed with the events: a later
// commit always gets larger IDs, so a reader that has seen up to ID n (`?after=n`, SSE
// Last-Event-ID) never misses an event that commits afterwards. A global auto-increment would not
// promise that: IDs are handed out at insert time and transactions commit in any order.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, EventRow as EventTable } from '../schema.js';
import type { RepoContext } from './base.js';

type EventRow = Selectable<EventTable>;

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

/** An event as the engine reports it (the same fields as providers' EngineEvent). */
export interface EventInput {
  level: EventLevel;
  phase: string;
  node?: string;
  service?: string;
  message: string;
  /** Milliseconds since the epoch; the time of append when absent. */
  time?: number;
}

export interface StoredEvent {
  /** Strictly increasing within the cluster, from 1. */
  id: number;
  clusterId: string;
  operationId: string | null;
  time: number;
  level: EventLevel;
  phase: string;
  node?: string;
  service?: string;
  message: string;
}

export interface EventQuery {
  /** Only events with a greater ID. */
  after?: number;
  /** At most this many; all when absent. */
  limit?: number;
  /** Only this operation's events. */
  operationId?: string;
}

function toEvent(r: EventRow): StoredEvent {
  const e: StoredEvent = {
    id: Number(r.id),
    clusterId: r.cluster_id,
    operationId: r.operation_id,
    time: Number(r.time),
    level: r.level as EventLevel,
    phase: r.phase,
    message: r.message,
  };
  if (r.node !== null) e.node = r.node;
  if (r.service !== null) e.service = r.service;
  return e;
}

const ATTEMPTS = 5;

export class EventRepo {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * Appends events to the cluster's log with the next IDs and returns them as stored. Inside a
   * transaction the events commit with it (and other appends to this cluster wait for it); outside,
   * the append is its own transaction.
   */
  async append(clusterId: string, operationId: string | null, events: EventInput[], now = Date.now()): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const appendIn = async (db: Kysely<DB>) => (await appendRows(db, this.ctx.kit, [{ clusterId, operationId, events }], now)).map(toEvent);
    if (this.ctx.db.isTransaction) return appendIn(this.ctx.db);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ctx.db.transaction().execute(appendIn);
      } catch (err) {
        // Two first appends of a cluster may deadlock on MariaDB's gap locks; either wins on retry.
        if (attempt >= ATTEMPTS || !this.ctx.kit.isTransient(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5 * attempt)));
      }
    }
  }

  /**
   * Appends for many clusters in one go, inside the caller's transaction: one counter upsert for
   * all of them, then their rows in a few multi-row inserts. Appends of one cluster keep their
   * order.
   */
  async appendMany(items: Array<{ clusterId: string; operationId: string | null; events: EventInput[] }>, now = Date.now()): Promise<void> {
    await appendRows(this.ctx.db, this.ctx.kit, items, now);
  }

  /** The cluster's events in ID order. */
  async list(clusterId: string, q: EventQuery = {}): Promise<StoredEvent[]> {
    let s = this.ctx.db.selectFrom('events').selectAll().where('cluster_id', '=', clusterId);
    if (q.after !== undefined) s = s.where('id', '>', q.after);
    if (q.operationId !== undefined) s = s.where('operation_id', '=', q.operationId);
    s = s.orderBy('id');
    if (q.limit !== undefined) s = s.limit(q.limit);
    return (await s.execute()).map(toEvent);
  }

  /** ID of the cluster's last committed event; 0 when it has none. */
  async latestId(clusterId: string): Promise<number> {
    const r = await this.ctx.db
      .selectFrom('events')
      .select(sql<number | string | null>`max(id)`.as('id'))
      .where('cluster_id', '=', clusterId)
      .executeTakeFirst();
    return r?.id == null ? 0 : Number(r.id);
  }
}

/**
 * The rows of the appends, with the next IDs of each cluster's counter (whose row lock is then held
 * until commit: appends of one cluster serialise there), inserted in chunks.
 */
async function appendRows(
  db: Kysely<DB>,
  kit: RepoContext['kit'],
  items: Array<{ clusterId: string; operationId: string | null; events: EventInput[] }>,
  now: number,
): Promise<EventRow[]> {
  const counts = new Map<string, number>();
  for (const it of items) if (it.events.length > 0) counts.set(it.clusterId, (counts.get(it.clusterId) ?? 0) + it.events.length);
  if (counts.size === 0) return [];
  const last = await kit.bumpSequences(db, counts);
  const next = new Map([...counts].map(([clusterId, n]) => [clusterId, last.get(clusterId)! - n + 1]));
  const rows = items.flatMap((it) =>
    it.events.map((e) => {
      const id = next.get(it.clusterId)!;
      next.set(it.clusterId, id + 1);
      return {
        cluster_id: it.clusterId,
        id,
        operation_id: it.operationId,
        time: e.time ?? now,
        level: e.level,
        phase: e.phase,
        node: e.node ?? null,
        service: e.service ?? null,
        message: e.message,
      };
    }),
  );
  // 9 parameters a row: chunks stay far below PostgreSQL's 65,535 and SQLite's 32,766.
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('events').values(rows.slice(i, i + 1000)).execute();
  return rows;
}
