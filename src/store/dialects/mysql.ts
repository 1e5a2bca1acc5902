import { createPool } from 'mysql2';
import { MysqlDialect, sql } from 'kysely';
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
