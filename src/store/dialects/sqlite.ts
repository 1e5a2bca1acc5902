import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { DialectKit } from './kit.js';
import { upsertSequencesReturning } from './sequences.js';

// Kysely's SQLite driver prepares every query anew; preparing costs more than running a lookup by
// key, so statements are kept by SQL text. Kysely runs one query at a time on this connection and
// reads results with all()/run(), so sharing a prepared statement is safe.
const MAX_STATEMENTS = 500;

function withStatementCache(db: Database.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = db.prepare(sql) as unknown as SqliteStatement;
        // Queries with IN lists vary in text; drop the oldest when full rather than grow forever.
        if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

export function sqliteKit(file: string): DialectKit {
  // Opened lazily, after the writer has created the file and switched it to WAL.
  let reader: Database.Database | undefined;
  const readStatements = new Map<string, Database.Statement>();
  return {
    kind: 'sqlite',
    // A separate connection, so a read never sees the uncommitted rows of a transaction that the
    // writer connection has open between two awaits. In-memory databases cannot be shared: no fast path.
    ...(file === ':memory:'
      ? {}
      : {
          readFirst(sql: string, parameters: readonly unknown[]): unknown {
            if (!reader) {
              reader = new Database(file, { readonly: true, fileMustExist: true });
              reader.pragma('busy_timeout = 5000');
            }
            let stmt = readStatements.get(sql);
            if (!stmt) {
              stmt = reader.prepare(sql);
              if (readStatements.size >= MAX_STATEMENTS) readStatements.clear();
              readStatements.set(sql, stmt);
            }
            return stmt.get(...(parameters as unknown[]));
          },
        }),
    longText: 'text',
    ignoreDuplicates: (qb) => qb.onConflict((oc) => oc.doNothing()),
    bumpSequences: upsertSequencesReturning,
    createDialect() {
      if (file !== ':memory:') privateFile(file);
      const db = new Database(file);
      // WAL lets readers run while a writer commits; foreign keys are off by default in SQLite.
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.pragma('synchronous = NORMAL');
      const cached = withStatementCache(db);
      return new SqliteDialect({
        database: {
          prepare: cached.prepare,
          close() {
            reader?.close();
            reader = undefined;
            cached.close();
          },
        },
      });
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

/**
 * The database holds sessions, token hashes and the audit log: its directory is made 0700 and the
 * file 0600 before SQLite opens it (its -wal and -shm files take the file's mode). A file an older
 * version left readable by others is tightened.
 */
function privateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      // absent (-wal, -shm) or not ours to change: SQLite opens it as it is
    }
  }
}
