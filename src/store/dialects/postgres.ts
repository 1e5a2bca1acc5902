import pg from 'pg';
import { PostgresDialect } from 'kysely';
import type { DialectKit } from './kit.js';

export function postgresKit(url: string): DialectKit {
  return {
    kind: 'postgres',
    longText: 'text',
    supportsForUpdate: true,
    createDialect() {
      return new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) });
    },
    isUniqueViolation(err) {
      return (err as { code?: string } | null)?.code === '23505';
    },
  };
}
