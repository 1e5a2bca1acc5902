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
    bumpSequence: async (db, clusterId, n) => {
      const r = await db
        .insertInto('event_sequences')
        .values({ cluster_id: clusterId, last_id: n })
        .onConflict((oc) => oc.column('cluster_id').doUpdateSet({ last_id: sql<number>`event_sequences.last_id + ${n}` }))
        .returning('last_id')
        .executeTakeFirstOrThrow();
      return Number(r.last_id);
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
