import type { Template } from '../../domain/wire.js';
import type { TemplateRow } from '../schema.js';
import { type RepoContext, paged, insertUnique } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';
import { loadServices, replaceServices } from './services.js';
import { parseUuid } from '../ids.js';

/** ProjectID of templates shared by every project (the original's literal). */
export const COMMON = 'None';

export type StoredTemplate = Required<Template>;

const base = (r: TemplateRow): Omit<StoredTemplate, 'Services'> => ({
  ID: r.id,
  ProjectID: r.project_id,
  Name: r.name,
  DisplayName: r.display_name,
  NSlaves: r.n_slaves,
  Description: r.description,
});

export class TemplateRepo {
  constructor(private readonly ctx: RepoContext) {}

  private async withServices(rows: TemplateRow[]): Promise<StoredTemplate[]> {
    const services = await loadServices(this.ctx, 'template_services', rows.map((r) => r.id));
    return rows.map((r) => ({ ...base(r), Services: services.get(r.id) ?? [] }));
  }

  async list(projectId: string, page: PageRequest): Promise<Page<StoredTemplate>> {
    const q = this.ctx.db.selectFrom('templates').selectAll().where('project_id', '=', projectId);
    const rows = await paged(q, 'name', page).execute();
    return toPage(await this.withServices(rows), page.limit, (t) => t.Name);
  }

  /** A template of this project (or common), by ID or name: another project's ID is not found. */
  async find(projectId: string, idOrName: string): Promise<StoredTemplate | undefined> {
    const q = this.ctx.db.selectFrom('templates').selectAll().where('project_id', '=', projectId);
    const id = parseUuid(idOrName);
    const row =
      (id !== undefined ? await q.where('id', '=', id).executeTakeFirst() : undefined) ??
      (await q.where('name', '=', idOrName).executeTakeFirst());
    return row && (await this.withServices([row]))[0];
  }

  async insert(t: StoredTemplate): Promise<void> {
    await insertUnique(this.ctx, 'template', t.Name, () =>
      this.ctx.db
        .insertInto('templates')
        .values({
          id: t.ID,
          project_id: t.ProjectID,
          name: t.Name,
          display_name: t.DisplayName,
          n_slaves: t.NSlaves,
          description: t.Description,
        })
        .execute(),
    );
    await replaceServices(this.ctx, 'template_services', t.ID, t.Services, true);
  }

  async update(t: StoredTemplate): Promise<void> {
    await insertUnique(this.ctx, 'template', t.Name, () =>
      this.ctx.db
        .updateTable('templates')
        .set({ name: t.Name, display_name: t.DisplayName, n_slaves: t.NSlaves, description: t.Description })
        .where('id', '=', t.ID)
        .execute(),
    );
    await replaceServices(this.ctx, 'template_services', t.ID, t.Services);
  }

  async delete(id: string): Promise<void> {
    await this.ctx.db.deleteFrom('templates').where('id', '=', id).execute();
  }
}
