import type { Image } from '../../domain/wire.js';
import type { ImageRow } from '../schema.js';
import { type RepoContext, paged, insertUnique, findRow, lockRows } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';

const toWire = (r: ImageRow): Image => ({
  ID: r.id,
  Name: r.name,
  AnsibleUser: r.ansible_user,
  CloudImageID: r.cloud_image_id,
});

export class ImageRepo {
  constructor(private readonly ctx: RepoContext) {}

  async list(page: PageRequest): Promise<Page<Image>> {
    const rows = await paged(this.ctx.db.selectFrom('images').selectAll(), 'name', page).execute();
    return toPage(rows.map(toWire), page.limit, (i) => i.Name!);
  }

  async find(idOrName: string): Promise<Image | undefined> {
    const r = await findRow<ImageRow>(this.ctx, 'images', 'name', idOrName);
    return r && toWire(r);
  }

  // ---- locks ------------------------------------------------------------------------------------
  // "Is it used?" (PUT/DELETE here) and "does it exist?" (a project naming it) are reads followed by
  // writes in other tables; without locks a project could be created on an image deleted or renamed
  // at the same moment. Writers of the image take its row exclusively, users share it. Call them
  // before the transaction's first plain read: MariaDB's REPEATABLE READ snapshot starts there.
  // SQLite transactions already exclude each other.

  /** Takes the image's row exclusively until the transaction ends; a missing image locks nothing. */
  lock(idOrName: string): Promise<void> {
    return lockRows(this.ctx, 'images', 'name', [idOrName], 'exclusive');
  }

  /** Shares the rows of the images `refs` name (by ID or name), so they stay as they are until commit. */
  lockShared(refs: string[]): Promise<void> {
    return lockRows(this.ctx, 'images', 'name', refs, 'shared');
  }

  // ---- writes -----------------------------------------------------------------------------------

  async insert(i: Required<Image>): Promise<void> {
    await insertUnique(this.ctx, 'image', i.Name, () =>
      this.ctx.db
        .insertInto('images')
        .values({ id: i.ID, name: i.Name, ansible_user: i.AnsibleUser, cloud_image_id: i.CloudImageID })
        .execute(),
    );
  }

  async update(i: Required<Image>): Promise<void> {
    await insertUnique(this.ctx, 'image', i.Name, () =>
      this.ctx.db
        .updateTable('images')
        .set({ name: i.Name, ansible_user: i.AnsibleUser, cloud_image_id: i.CloudImageID })
        .where('id', '=', i.ID)
        .execute(),
    );
  }

  async delete(id: string): Promise<void> {
    await this.ctx.db.deleteFrom('images').where('id', '=', id).execute();
  }

  /** Projects and clusters may name an image by ID or by name; both count as use. */
  async isUsed(i: Image): Promise<boolean> {
    const refs = [i.ID!, i.Name!];
    const p = await this.ctx.db.selectFrom('projects').select('id').where('default_image', 'in', refs).limit(1).executeTakeFirst();
    if (p) return true;
    const c = await this.ctx.db.selectFrom('clusters').select('id').where('image', 'in', refs).limit(1).executeTakeFirst();
    return c !== undefined;
  }
}
