// Keyset pagination over a unique column: a page costs one index range scan whatever the table size.
import { MichmanError, ErrorClass } from '../domain/errors.js';

export interface PageRequest {
  limit?: number;
  after?: string; // opaque cursor from the previous page
}
export interface Page<T> {
  items: T[];
  next?: string;
}

export const MAX_PAGE = 1000;

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!cursor || key.includes('\0') || encodeCursor(key) !== cursor) {
    throw new MichmanError(ErrorClass.InputIncorrect, `bad after param: '${cursor}' is not a cursor returned by this API`);
  }
  return key;
}

/** Cuts one extra row fetched to learn whether a next page exists. */
export function toPage<T>(rows: T[], limit: number | undefined, keyOf: (row: T) => string): Page<T> {
  if (limit === undefined || rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(keyOf(items[items.length - 1]!)) };
}
