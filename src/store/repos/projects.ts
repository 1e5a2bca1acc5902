import type { Project } from '../../domain/wire.js';
import type { ProjectRow } from '../schema.js';
import { type RepoContext, paged, insertUnique, findRow, lockRows, lockRowsById } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';

export type StoredProject = Required<Project>;

const toWire = (r: ProjectRow): StoredProject => ({
  ID: r.id,
  Name: r.name,
  DisplayName: r.display_name,
  GroupID: r.group_id,
  Description: r.description,
  DefaultImage: r.default_image,
  DefaultMasterFlavor: r.default_master_flavor,
  DefaultSlavesFlavor: r.default_slaves_flavor,
  DefaultStorageFlavor: r.default_storage_flavor,
  DefaultMonitoringFlavor: r.default_monitoring_flavor,
});

const toRow = (p: StoredProject): ProjectRow => ({
  id: p.ID,
  name: p.Name,
  display_name: p.DisplayName,
  group_id: p.GroupID,
  description: p.Description,
  default_image: p.DefaultImage,
  default_master_flavor: p.DefaultMasterFlavor,
  default_slaves_flavor: p.DefaultSlavesFlavor,
  default_storage_flavor: p.DefaultStorageFlavor,
  default_monitoring_flavor: p.DefaultMonitoringFlavor,
});

export class ProjectRepo {
  constructor(private readonly ctx: RepoContext) {}

  /**
   * A page of projects by name; with `groups`, only projects of those groups, filtered in the query
   * so pages are full and cursors name only projects the caller sees.
   */
  async list(page: PageRequest, only?: { groups: readonly string[] }): Promise<Page<StoredProject>> {
    if (only && only.groups.length === 0) return { items: [] };
    let q = this.ctx.db.selectFrom('projects').selectAll();
    if (only) q = q.where('group_id', 'in', [...only.groups]).where('group_id', '<>', '');
    const rows = await paged(q, 'name', page).execute();
    return toPage(rows.map(toWire), page.limit, (p) => p.Name);
  }

  async find(idOrName: string): Promise<StoredProject | undefined> {
    const r = await findRow<ProjectRow>(this.ctx, 'projects', 'name', idOrName);
    return r && toWire(r);
  }

  /**
   * Takes the project's row exclusively until the transaction ends, so PUT/DELETE do not interleave
   * (lost updates, a delete passing the cluster check while a cluster is being added). Call it before
   * the transaction's first plain read (MariaDB's snapshot starts there); a missing project locks nothing.
   */
  lock(idOrName: string): Promise<void> {
    return lockRows(this.ctx, 'projects', 'name', [idOrName], 'exclusive');
  }

  /** Shares the project's row: it stays (and keeps its name) until the transaction ends. */
  lockShared(refs: string[]): Promise<void> {
    return lockRows(this.ctx, 'projects', 'name', refs, 'shared');
  }

  /** lockShared for rows the caller already read, by their IDs. */
  lockSharedById(ids: string[]): Promise<void> {
    return lockRowsById(this.ctx, 'projects', ids, 'shared');
  }

  async insert(p: StoredProject): Promise<void> {
    await insertUnique(this.ctx, 'project', p.Name, () => this.ctx.db.insertInto('projects').values(toRow(p)).execute());
  }

  async update(p: StoredProject): Promise<void> {
    const { id, name, ...rest } = toRow(p);
    void name; // Name never changes after creation: clusters' names are derived from it.
    await this.ctx.db.updateTable('projects').set(rest).where('id', '=', id).execute();
  }

  /** Deletes the project with its templates (the original left them behind). */
  async delete(id: string): Promise<void> {
    await this.ctx.db.deleteFrom('templates').where('project_id', '=', id).execute();
    await this.ctx.db.deleteFrom('projects').where('id', '=', id).execute();
  }

  async hasClusters(id: string): Promise<boolean> {
    const r = await this.ctx.db.selectFrom('clusters').select('id').where('project_id', '=', id).limit(1).executeTakeFirst();
    return r !== undefined;
  }
}
