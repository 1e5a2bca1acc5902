// Services embedded in clusters and templates: rows of cluster_services / template_services.
import type { Service } from '../../domain/wire.js';
import type { ServiceRow } from '../schema.js';
import type { RepoContext } from './base.js';
import { newId } from '../ids.js';

export type ServiceTable = 'cluster_services' | 'template_services';

export function serviceToWire(r: ServiceRow): Service {
  return {
    ID: r.id,
    Name: r.name,
    Type: r.type,
    Version: r.version,
    Config: JSON.parse(r.config) as Record<string, string>,
    DisplayName: r.display_name,
    Description: r.description,
    EntityStatus: r.entity_status,
    URL: r.url,
  };
}

export async function loadServices(ctx: RepoContext, table: ServiceTable, ownerIds: string[]): Promise<Map<string, Service[]>> {
  const out = new Map<string, Service[]>(ownerIds.map((id) => [id, []]));
  if (ownerIds.length === 0) return out;
  const rows = await ctx.db
    .selectFrom(table)
    .selectAll()
    .where('owner_id', 'in', ownerIds)
    .orderBy('owner_id')
    .orderBy('position')
    .execute();
  for (const r of rows) out.get(r.owner_id)?.push(serviceToWire(r));
  return out;
}

/**
 * Replaces an owner's services; callers run it inside the owner's transaction. `fresh`: the owner
 * was just inserted, so there is nothing to delete.
 */
export async function replaceServices(ctx: RepoContext, table: ServiceTable, ownerId: string, services: Service[], fresh = false): Promise<void> {
  if (!fresh) await ctx.db.deleteFrom(table).where('owner_id', '=', ownerId).execute();
  await insertServicesOf(ctx, table, [{ ownerId, services }]);
}

/** The services of several new owners, in one statement (none when none has a service). */
export async function insertServicesOf(ctx: RepoContext, table: ServiceTable, owners: ReadonlyArray<{ ownerId: string; services: readonly Service[] }>): Promise<void> {
  const rows = owners.flatMap(({ ownerId, services }) =>
    services.map((s, i) => ({
      id: s.ID || newId(),
      owner_id: ownerId,
      position: i,
      name: s.Name ?? '',
      display_name: s.DisplayName ?? '',
      type: s.Type ?? '',
      version: s.Version ?? '',
      config: JSON.stringify(s.Config ?? {}),
      url: s.URL ?? '',
      entity_status: s.EntityStatus ?? '',
      description: s.Description ?? '',
    })),
  );
  if (rows.length === 0) return;
  await ctx.db.insertInto(table).values(rows).execute();
}
