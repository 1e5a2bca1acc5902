import pg from 'pg';
import { PostgresDialect, sql } from 'kysely';
import type { DialectKit } from './kit.js';

export function postgresKit(url: string): DialectKit {
  return {
    kind: 'postgres',
    longText: 'text',
    rowLock: { exclusive: sql`for update`, shared: sql`for share` },
    skipLocked: sql`for update skip locked`,
    ignoreDuplicates: (qb) => qb.onConflict((oc) => oc.doNothing()),
    bumpSequences: async (db, counts) => {
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
    },
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
  };
}
