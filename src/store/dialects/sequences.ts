// The event counters' upsert where the database returns what it wrote (PostgreSQL, SQLite): one
// multi-row INSERT … ON CONFLICT DO UPDATE … RETURNING for every cluster of a batch.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';

export async function upsertSequencesReturning(db: Kysely<DB>, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  if (counts.size === 0) return new Map();
  // Sorted: two transactions lock shared counters in the same order, never in reverse.
  const rows = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([cluster_id, last_id]) => ({ cluster_id, last_id }));
  const r = await db
    .insertInto('event_sequences')
    .values(rows)
    .onConflict((oc) => oc.column('cluster_id').doUpdateSet({ last_id: sql<number>`event_sequences.last_id + excluded.last_id` }))
    .returning(['cluster_id', 'last_id'])
    .execute();
  return new Map(r.map((x) => [x.cluster_id, Number(x.last_id)]));
}
