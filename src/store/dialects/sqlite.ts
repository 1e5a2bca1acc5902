import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteDialect } from 'kysely';
import type { DialectKit } from './kit.js';

export function sqliteKit(file: string): DialectKit {
  return {
    kind: 'sqlite',
    longText: 'text',
    createDialect() {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      const db = new Database(file);
      // WAL lets readers run while a writer commits; foreign keys are off by default in SQLite.
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = NORMAL');
      return new SqliteDialect({ database: db });
    },
    isTransient(err) {
      return (err as { code?: string } | null)?.code === 'SQLITE_BUSY';
    },
    isUniqueViolation(err) {
      const code = (err as { code?: string } | null)?.code;
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
  };
}
