// What differs between the databases, and nothing else: how to connect, how a unique-key violation
// looks, and the few DDL details that must differ for the same logical schema. Repositories and
// migrations only talk to this interface, so they never ask which database they are on.
import type { Dialect, Expression, InsertQueryBuilder, Kysely } from 'kysely';
import type { DB } from '../schema.js';

export type StorageKind = 'sqlite' | 'mysql' | 'postgres';

export interface DialectKit {
  readonly kind: StorageKind;
  createDialect(): Dialect;
  /** True when err is the database refusing a duplicate in a unique index or primary key. */
  isUniqueViolation(err: unknown): boolean;
  /** True for failures worth retrying the whole transaction: deadlock, serialization, busy. */
  isTransient(err: unknown): boolean;
  /** Appended to CREATE TABLE (MySQL needs a binary collation so names are case-sensitive as elsewhere). */
  readonly tableOptions?: Expression<unknown>;
  /** Column type for JSON documents that may exceed 64 KiB (a service type's possible values). */
  readonly longText: 'text' | Expression<unknown>;
  /**
   * Reads one row outside any transaction without the query pipeline, where the driver can do it
   * much faster (SQLite: a second, read-only connection; WAL gives it the last committed state).
   * Absent elsewhere: callers then go through Kysely.
   */
  readFirst?(sql: string, parameters: readonly unknown[]): unknown;
  /** Runs once after the connection pool is open (pragmas). */
  afterOpen?(): Promise<void>;
  /**
   * Clauses that lock the rows a SELECT reads until the transaction ends, so read-check-write
   * sequences serialise. Absent where transactions already exclude each other (SQLite).
   */
  readonly rowLock?: { readonly exclusive: Expression<unknown>; readonly shared: Expression<unknown> };
  /**
   * Clause that locks the rows a SELECT reads and skips rows another transaction has locked, so
   * concurrent workers each take a different job without waiting. Absent where transactions
   * already exclude each other (SQLite).
   */
  readonly skipLocked?: Expression<unknown>;
  /**
   * Makes an INSERT leave out rows whose primary or unique key is already taken instead of failing,
   * so the surrounding transaction stays usable (PostgreSQL aborts a transaction on any error).
   */
  ignoreDuplicates<D, T extends keyof D & string, O>(qb: InsertQueryBuilder<D, T, O>): InsertQueryBuilder<D, T, O>;
  /**
   * Adds n to each cluster's event counter (creating it at n) and returns the new values, taking
   * the counters' row locks until commit, in one statement where the database allows (two on
   * MariaDB for several clusters). Appends are the engine's most frequent write, and every
   * statement is a round trip on a server database.
   */
  bumpSequences(db: Kysely<DB>, counts: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /**
   * Tells workers in other processes that operations were queued, where the database can carry it
   * (PostgreSQL: NOTIFY in the enqueueing transaction, delivered when it commits). Absent elsewhere:
   * those workers find new operations by polling.
   */
  readonly queued?: QueuedSignal;
}

export interface QueuedSignal {
  /** Runs in the transaction that queued operations; reaches listeners only if it commits. */
  announce(db: Kysely<DB>): Promise<void>;
  /**
   * Calls onQueued after each commit that queued operations, and once after each reconnection
   * (what was queued while the connection was down). onError gets each lost connection, which is
   * reopened after a pause.
   */
  listen(onQueued: () => void, onError: (err: Error) => void): QueuedListener;
}

export interface QueuedListener {
  close(): Promise<void>;
}
