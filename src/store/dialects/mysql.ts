import { createPool } from 'mysql2';
import { CompiledQuery, MysqlDialect, sql } from 'kysely';
import type { DialectKit } from './kit.js';

export function mysqlKit(url: string): DialectKit {
  return {
    kind: 'mysql',
    longText: sql`mediumtext`,
    // MariaDB has no FOR SHARE; LOCK IN SHARE MODE is the same lock in older syntax.
    rowLock: { exclusive: sql`for update`, shared: sql`lock in share mode` },
    // MariaDB 10.6+ and MySQL 8.0+.
    skipLocked: sql`for update skip locked`,
    // Only for inserts whose other errors cannot happen (fixed keys and small values): INSERT IGNORE
    // would also swallow truncation errors.
    ignoreDuplicates: (qb) => qb.ignore(),
    // No UPDATE ... RETURNING here. For one counter, LAST_INSERT_ID(expr) makes the new value the
    // statement's insert ID, which comes back in the OK packet with no second query; for several,
    // a locking read after the upsert (the rows are already ours until commit).
    bumpSequences: async (db, counts) => {
      if (counts.size === 0) return new Map();
      if (counts.size === 1) {
        const [clusterId, n] = [...counts][0]!;
        const r = await db.executeQuery(
          CompiledQuery.raw(
            'insert into `event_sequences` (`cluster_id`, `last_id`) values (?, last_insert_id(?)) on duplicate key update `last_id` = last_insert_id(`last_id` + ?)',
            [clusterId, n, n],
          ),
        );
        if (r.insertId === undefined) throw new Error('event counter: no insert id from the server');
        return new Map([[clusterId, Number(r.insertId)]]);
      }
      // Sorted: two transactions lock shared counters in the same order, never in reverse.
      const rows = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([cluster_id, last_id]) => ({ cluster_id, last_id }));
      await db
        .insertInto('event_sequences')
        .values(rows)
        .onDuplicateKeyUpdate({ last_id: sql<number>`${sql.ref('last_id')} + values(${sql.ref('last_id')})` })
        .execute();
      const r = await db
        .selectFrom('event_sequences')
        .select(['cluster_id', 'last_id'])
        .where('cluster_id', 'in', rows.map((x) => x.cluster_id))
        .modifyEnd(sql`for update`)
        .execute();
      return new Map(r.map((x) => [x.cluster_id, Number(x.last_id)]));
    },
    // Binary collation: 'Spark' and 'spark' are different names, as on SQLite and PostgreSQL.
    tableOptions: sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    createDialect() {
      return new MysqlDialect({
        pool: createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 10, supportBigNumbers: true, charset: 'utf8mb4' }),
      });
    },
    isTransient(err) {
      const code = (err as { code?: string } | null)?.code;
      return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
    },
    isUniqueViolation(err) {
      return (err as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
    },
  };
}
