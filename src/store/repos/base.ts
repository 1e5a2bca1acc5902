import { CompiledQuery, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { DB } from '../schema.js';
import type { DialectKit } from '../dialects/kit.js';
import type { CatalogCache } from '../catalogCache.js';
import { decodeCursor, type PageRequest } from '../paging.js';
import { exists } from '../../domain/errors.js';
import { parseUuid } from '../ids.js';

export interface RepoContext {
  readonly db: Kysely<DB>;
  readonly kit: DialectKit;
  /** Shared by the store and its transactions; see catalogCache.ts. */
  readonly catalogCache?: CatalogCache;
}

/** Orders by a unique column and applies the cursor; fetches one extra row to detect a next page. */
export function paged<QB extends SelectQueryBuilder<DB, keyof DB, object>>(
  qb: QB,
  column: string,
  page: PageRequest,
): QB {
  // The column is one of our own constants, never user input.
  let q = qb.orderBy(column as never) as QB;
  if (page.after !== undefined) q = q.where(column as never, '>', decodeCursor(page.after) as never) as QB;
  if (page.limit !== undefined) q = q.limit(page.limit + 1) as QB;
  return q;
}

/** Turns the database's unique-key refusal into the API's "already exists". */
export async function insertUnique<T>(ctx: RepoContext, object: string, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (ctx.kit.isUniqueViolation(err)) throw exists(object, name);
    throw err;
  }
}

/**
 * The original's IdOrName rule, fixed: a UUID-looking value is tried as an ID first and then as a
 * name, so a name that happens to parse as a UUID can still be found.
 */
export async function byIdOrName<T>(
  value: string,
  byId: (id: string) => Promise<T | undefined>,
  byName: (name: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  const id = parseUuid(value);
  if (id !== undefined) {
    const row = await byId(id);
    if (row !== undefined) return row;
  }
  return byName(value);
}

/** One row of `table` by ID or by its unique name column, as the IdOrName rule above says. */
export function findRow<R>(ctx: RepoContext, table: keyof DB, nameColumn: string, value: string): Promise<R | undefined> {
  return byIdOrName(
    value,
    (id) => rowBy<R>(ctx, table, 'id', id),
    (name) => rowBy<R>(ctx, table, nameColumn, name),
  );
}

// The by-key lookups behind every GET of one object are compiled once per dialect and table/column:
// building and compiling the query each time cost more than running it.
const compiledLookups = new WeakMap<DialectKit, Map<string, CompiledQuery>>();

async function rowBy<R>(ctx: RepoContext, table: keyof DB, column: string, value: string): Promise<R | undefined> {
  let byKey = compiledLookups.get(ctx.kit);
  if (!byKey) compiledLookups.set(ctx.kit, (byKey = new Map()));
  const key = `${table}.${column}`;
  let compiled = byKey.get(key);
  if (!compiled) {
    // Table and column are our own constants; the casts only quiet Kysely's per-table typing.
    compiled = ctx.db.selectFrom(table as 'images').selectAll().where(column as 'name', '=', '').compile();
    byKey.set(key, compiled);
  }
  // Columns looked up here are unique, so the first row is the only one.
  return firstRow<R>(ctx, compiled.sql, [value]);
}

/** First row of a compiled read; outside transactions through the dialect's fast path if it has one. */
export async function firstRow<R>(ctx: RepoContext, sql: string, parameters: readonly unknown[]): Promise<R | undefined> {
  if (ctx.kit.readFirst && !ctx.db.isTransaction) return ctx.kit.readFirst(sql, parameters) as R | undefined;
  const result = await ctx.db.executeQuery<R>(CompiledQuery.raw(sql, [...parameters]));
  return result.rows[0];
}

export type LockMode = 'exclusive' | 'shared';

/** Adds the dialect's row-lock clause; undefined where the database needs none. */
export function locking<QB extends SelectQueryBuilder<DB, keyof DB, object>>(ctx: RepoContext, qb: QB, mode: LockMode): QB | undefined {
  const clause = ctx.kit.rowLock?.[mode];
  return clause ? (qb.modifyEnd(clause) as QB) : undefined;
}

/**
 * Locks the rows of `table` that `refs` name (by ID or by unique name) until the transaction ends.
 * Writers of a row take it exclusively; transactions that only rely on it existing share it.
 * Call before the transaction's first plain read: MariaDB's REPEATABLE READ snapshot starts there.
 */
export async function lockRows(ctx: RepoContext, table: keyof DB, nameColumn: string, refs: string[], mode: LockMode): Promise<void> {
  if (!ctx.kit.rowLock || refs.length === 0) return;
  // Table and column are our own constants; the casts only quiet Kysely's per-table typing.
  const q = ctx.db.selectFrom(table as 'images').select('id');
  const ids = refs.map(parseUuid).filter((id): id is string => id !== undefined);
  // Two statements so each uses its unique index; a stable order avoids lock-order deadlocks.
  if (ids.length > 0) await locking(ctx, q.where('id', 'in', ids).orderBy('id'), mode)!.execute();
  await locking(ctx, q.where(nameColumn as 'name', 'in', [...new Set(refs)]).orderBy(nameColumn as 'name'), mode)!.execute();
}

/** lockRows for a caller that holds the rows' IDs (not names that might look like IDs): one statement. */
export async function lockRowsById(ctx: RepoContext, table: keyof DB, ids: string[], mode: LockMode): Promise<void> {
  if (!ctx.kit.rowLock || ids.length === 0) return;
  const q = ctx.db.selectFrom(table as 'images').select('id');
  await locking(ctx, q.where('id', 'in', [...new Set(ids)]).orderBy('id'), mode)!.execute();
}

export const toBool = (v: number | boolean | null | undefined): boolean => Boolean(v);
export const fromBool = (v: boolean | undefined): number => (v ? 1 : 0);
