import type { Flavor } from '../../domain/wire.js';
import type { FlavorRow } from '../schema.js';
import { type RepoContext, paged, insertUnique, findRow, lockRows } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';

const toWire = (r: FlavorRow): Flavor => ({ ID: r.id, Name: r.name, VCPUs: r.vcpus, RAM: r.ram, Disk: r.disk });

export class FlavorRepo {
  constructor(private readonly ctx: RepoContext) {}

  async list(page: PageRequest): Promise<Page<Flavor>> {
    const rows = await paged(this.ctx.db.selectFrom('flavors').selectAll(), 'name', page).execute();
    return toPage(rows.map(toWire), page.limit, (f) => f.Name!);
  }

  async find(idOrName: string): Promise<Flavor | undefined> {
    const r = await findRow<FlavorRow>(this.ctx, 'flavors', 'name', idOrName);
    return r && toWire(r);
  }

  // ---- locks (as for images: writers take the row exclusively, projects naming it share it) -----

  /** Takes the flavor's row exclusively until the transaction ends; a missing flavor locks nothing. */
  lock(idOrName: string): Promise<void> {
    return lockRows(this.ctx, 'flavors', 'name', [idOrName], 'exclusive');
  }

  /** Shares the rows of the flavors `refs` name (by ID or name), so they stay as they are until commit. */
  lockShared(refs: string[]): Promise<void> {
    return lockRows(this.ctx, 'flavors', 'name', refs, 'shared');
  }

  // ---- writes -----------------------------------------------------------------------------------

  async insert(f: Required<Flavor>): Promise<void> {
    await insertUnique(this.ctx, 'flavor', f.Name, () =>
      this.ctx.db
        .insertInto('flavors')
        .values({ id: f.ID, name: f.Name, vcpus: f.VCPUs, ram: f.RAM, disk: f.Disk })
        .execute(),
    );
  }

  async update(f: Required<Flavor>): Promise<void> {
    await insertUnique(this.ctx, 'flavor', f.Name, () =>
      this.ctx.db
        .updateTable('flavors')
        .set({ name: f.Name, vcpus: f.VCPUs, ram: f.RAM, disk: f.Disk })
        .where('id', '=', f.ID)
        .execute(),
    );
  }

  async delete(id: string): Promise<void> {
    await this.ctx.db.deleteFrom('flavors').where('id', '=', id).execute();
  }

  /** Any project default or cluster flavor naming this flavor by ID or name. */
  async isUsed(f: Flavor): Promise<boolean> {
    const refs = [f.ID!, f.Name!];
    const p = await this.ctx.db
      .selectFrom('projects')
      .select('id')
      .where((eb) =>
        eb.or([
          eb('default_master_flavor', 'in', refs),
          eb('default_slaves_flavor', 'in', refs),
          eb('default_storage_flavor', 'in', refs),
          eb('default_monitoring_flavor', 'in', refs),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    if (p) return true;
    const c = await this.ctx.db
      .selectFrom('clusters')
      .select('id')
      .where((eb) =>
        eb.or([
          eb('master_flavor', 'in', refs),
          eb('slaves_flavor', 'in', refs),
          eb('storage_flavor', 'in', refs),
          eb('monitoring_flavor', 'in', refs),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    return c !== undefined;
  }
}
