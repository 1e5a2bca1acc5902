import pg from 'pg';
import { PostgresDialect, sql } from 'kysely';
import type { DialectKit } from './kit.js';
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
  };
}
