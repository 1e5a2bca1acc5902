// The audit log: one row per mutating request (who, what, when, result). Never request bodies,
// query strings or headers, so no secret a client sends ends up here.
import { randomBytes } from 'node:crypto';
import type { RepoContext } from './base.js';
import { authDb } from './authTables.js';
import { encodeCursor, decodeCursor, type Page, type PageRequest } from '../paging.js';

export interface AuditEntry {
  id: string;
  at: number;
  userId: string;
  via: string;
  method: string;
  path: string;
  route: string;
  status: number;
  outcome: 'success' | 'failure';
  ip: string;
}

/** Sorts as time: 15 digits of milliseconds, then randomness for entries of the same millisecond. */
export const auditId = (at: number): string => `${String(at).padStart(15, '0')}-${randomBytes(6).toString('hex')}`;

/** 11 parameters a row: a statement stays far below PostgreSQL's and SQLite's limits. */
export const AUDIT_ROWS_PER_STATEMENT = 1000;

export class AuditRepo {
  constructor(private readonly ctx: RepoContext) {}

  async insert(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.insertMany([e]);
  }

  /** Many rows, AUDIT_ROWS_PER_STATEMENT to a statement (concurrent requests' entries share a commit). */
  async insertMany(entries: Array<Omit<AuditEntry, 'id'>>): Promise<void> {
    for (let i = 0; i < entries.length; i += AUDIT_ROWS_PER_STATEMENT) {
      const rows = entries.slice(i, i + AUDIT_ROWS_PER_STATEMENT).map((e) => ({
        id: auditId(e.at),
        at: e.at,
        user_id: e.userId,
        via: e.via,
        method: e.method,
        path: e.path,
        route: e.route,
        status: e.status,
        outcome: e.outcome,
        ip: e.ip,
      }));
      await authDb(this.ctx).insertInto('audit_log').values(rows).execute();
    }
  }

  /** Newest first; `after` is the cursor of the previous page. */
  async list(page: PageRequest, filter: { userId?: string } = {}): Promise<Page<AuditEntry>> {
    let q = authDb(this.ctx).selectFrom('audit_log').selectAll().orderBy('id', 'desc');
    if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
    if (page.after !== undefined) q = q.where('id', '<', decodeCursor(page.after));
    if (page.limit !== undefined) q = q.limit(page.limit + 1);
    const rows = await q.execute();
    const items = rows.map(
      (r): AuditEntry => ({
        id: r.id,
        at: Number(r.at),
        userId: r.user_id,
        via: r.via,
        method: r.method,
        path: r.path,
        route: r.route,
        status: Number(r.status),
        outcome: r.outcome === 'success' ? 'success' : 'failure',
        ip: r.ip,
      }),
    );
    if (page.limit === undefined || items.length <= page.limit) return { items };
    const cut = items.slice(0, page.limit);
    return { items: cut, next: encodeCursor(cut[cut.length - 1]!.id) };
  }
}
