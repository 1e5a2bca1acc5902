// Clusters with their services (rows of cluster_services). A cluster belongs to one project: every
// lookup is scoped by it, so an ID of another project's cluster is not found.
import { sql, type Selectable } from 'kysely';
import type { Cluster } from '../../domain/wire.js';
import type { ClusterRow as ClusterTable } from '../schema.js';

type ClusterRow = Selectable<ClusterTable>;
import { type RepoContext, paged, insertUnique, locking, toBool, fromBool } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';
import { insertServicesOf, loadServices, replaceServices } from './services.js';
import { parseUuid } from '../ids.js';

/** Every wire field but the request-only ones; ExpiresAt only when the cluster has a TTL. */
export type StoredCluster = Required<Omit<Cluster, 'ExpiresAt' | 'TTL' | 'Template'>> & { ExpiresAt?: string };

/** Status of a cluster that is gone from lists; its operations and events stay readable. */
const DELETED = 'DELETED';

const base = (r: ClusterRow): Omit<StoredCluster, 'Services'> => ({
  ID: r.id,
  Name: r.name,
  DisplayName: r.display_name,
  HostURL: r.host_url,
  EntityStatus: r.entity_status,
  ClusterType: r.cluster_type,
  NSlaves: r.n_slaves,
  MasterIP: r.master_ip,
  ProjectID: r.project_id,
  OwnerID: r.owner_id,
  Description: r.description,
  Image: r.image,
  Keys: JSON.parse(r.keys) as string[],
  Monitoring: toBool(r.monitoring),
  MasterFlavor: r.master_flavor,
  SlavesFlavor: r.slaves_flavor,
  StorageFlavor: r.storage_flavor,
  MonitoringFlavor: r.monitoring_flavor,
  ...(r.expires_at !== null && r.expires_at !== undefined ? { ExpiresAt: new Date(Number(r.expires_at)).toISOString() } : {}),
});

/** Every column but id, project_id and the timestamps: what an update may change. */
const fields = (c: StoredCluster) => ({
  name: c.Name,
  display_name: c.DisplayName,
  entity_status: c.EntityStatus,
  cluster_type: c.ClusterType,
  host_url: c.HostURL,
  n_slaves: c.NSlaves,
  master_ip: c.MasterIP,
  owner_id: c.OwnerID,
  description: c.Description,
  image: c.Image,
  keys: JSON.stringify(c.Keys),
  monitoring: fromBool(c.Monitoring),
  master_flavor: c.MasterFlavor,
  slaves_flavor: c.SlavesFlavor,
  storage_flavor: c.StorageFlavor,
  monitoring_flavor: c.MonitoringFlavor,
});

const iso = (now: number) => new Date(now).toISOString();

export interface FindOptions {
  /** Also find a cluster whose status is DELETED (default: not found, as in lists). */
  includeDeleted?: boolean;
}

export class ClusterRepo {
  constructor(private readonly ctx: RepoContext) {}

  private async withServices(rows: ClusterRow[]): Promise<StoredCluster[]> {
    const services = await loadServices(this.ctx, 'cluster_services', rows.map((r) => r.id));
    return rows.map((r) => ({ ...base(r), Services: services.get(r.id) ?? [] }));
  }

  /** The project's clusters by name, without DELETED ones. */
  async list(projectId: string, page: PageRequest): Promise<Page<StoredCluster>> {
    const q = this.ctx.db
      .selectFrom('clusters')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('entity_status', '<>', DELETED);
    const rows = await paged(q, 'name', page).execute();
    return toPage(await this.withServices(rows), page.limit, (c) => c.Name);
  }

  /** A cluster of this project by ID or name (the IdOrName rule); another project's ID is not found. */
  async find(projectId: string, idOrName: string, opts: FindOptions = {}): Promise<StoredCluster | undefined> {
    let q = this.ctx.db.selectFrom('clusters').selectAll().where('project_id', '=', projectId);
    if (!opts.includeDeleted) q = q.where('entity_status', '<>', DELETED);
    const id = parseUuid(idOrName);
    const row =
      (id !== undefined ? await q.where('id', '=', id).executeTakeFirst() : undefined) ??
      (await q.where('name', '=', idOrName).executeTakeFirst());
    return row && (await this.withServices([row]))[0];
  }

  /** By ID whatever the project and status: for the engine, which holds IDs from operation rows. */
  async get(id: string): Promise<StoredCluster | undefined> {
    const row = await this.ctx.db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst();
    return row && (await this.withServices([row]))[0];
  }

  /**
   * setStatus with `expected` for many clusters in one statement; returns the IDs now in `status`
   * (a second statement reads them only when some were not written).
   */
  async setStatusMany(ids: string[], status: string, expected: readonly string[], now = Date.now()): Promise<Set<string>> {
    if (ids.length === 0 || expected.length === 0) return new Set();
    const r = await this.ctx.db
      .updateTable('clusters')
      .set({ entity_status: status, updated_at: iso(now) })
      .where('id', 'in', ids)
      .where('entity_status', 'in', [...expected])
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === new Set(ids).size) return new Set(ids);
    const rows = await this.ctx.db.selectFrom('clusters').select('id').where('id', 'in', ids).where('entity_status', '=', status).execute();
    return new Set(rows.map((x) => x.id));
  }

  /**
   * What a create checks before its transaction, in one statement (each is a round trip on a server
   * database): the named images (their cloud image ID and login user) and which of the named
   * flavors do not exist (by ID or name, as `find`), and whether the project has a cluster of this
   * name (by ID or name, as `find`, DELETED ones aside).
   */
  async preflight(
    projectId: string,
    name: string,
    refs: { images: string[]; flavors: string[] },
  ): Promise<{ missing: Set<string>; images: Map<string, { CloudImageID: string; AnsibleUser: string }>; exists: boolean }> {
    const r = await this.preflightMany(projectId, [name], refs);
    return { missing: r.missing, images: r.images, exists: r.taken.has(name) };
  }

  /**
   * preflight for several new clusters of one project with the same image and flavors (a burst of
   * creates, clusters/createReads.ts): still one statement, one column per name. `taken`: the names
   * a live cluster of the project has (as its name, or as its ID for a UUID-like name).
   */
  async preflightMany(
    projectId: string,
    names: readonly string[],
    refs: { images: readonly string[]; flavors: readonly string[] },
  ): Promise<{ missing: Set<string>; images: Map<string, { CloudImageID: string; AnsibleUser: string }>; taken: Set<string> }> {
    const images = [...new Set(refs.images)];
    const flavors = [...new Set(refs.flavors)];
    const unique = [...new Set(names)];
    const cond = (value: string) => {
      const id = parseUuid(value);
      return id !== undefined ? sql`(${sql.ref('id')} = ${id} or ${sql.ref('name')} = ${value})` : sql`${sql.ref('name')} = ${value}`;
    };
    // By ID first, as find: a UUID-like value may be one image's ID and another's name.
    const first = (value: string) => {
      const id = parseUuid(value);
      return id !== undefined ? sql`order by case when ${sql.ref('id')} = ${id} then 0 else 1 end limit 1` : sql`limit 1`;
    };
    const count = (table: string, alias: string, where: ReturnType<typeof sql>) => sql`(select count(*) from ${sql.table(table)} where ${where}) as ${sql.ref(alias)}`;
    const imageField = (column: string, alias: string, v: string) =>
      sql`(select ${sql.ref(column)} from ${sql.table('images')} where ${cond(v)} ${first(v)}) as ${sql.ref(alias)}`;
    const columns = [
      ...images.flatMap((v, i) => [imageField('cloud_image_id', `ic${i}`, v), imageField('ansible_user', `iu${i}`, v)]),
      ...flavors.map((v, i) => count('flavors', `f${i}`, cond(v))),
      ...unique.map((n, i) => count('clusters', `c${i}`, sql`${sql.ref('project_id')} = ${projectId} and ${sql.ref('entity_status')} <> ${DELETED} and ${cond(n)}`)),
    ];
    const r = (await sql<Record<string, number | string | bigint | null>>`select ${sql.join(columns)}`.execute(this.ctx.db)).rows[0]!;
    const missing = new Set<string>();
    const found = new Map<string, { CloudImageID: string; AnsibleUser: string }>();
    images.forEach((v, i) => {
      const cloud = r[`ic${i}`];
      if (cloud === null || cloud === undefined) missing.add(`image:${v}`);
      else found.set(v, { CloudImageID: String(cloud), AnsibleUser: String(r[`iu${i}`] ?? '') });
    });
    flavors.forEach((v, i) => Number(r[`f${i}`]) === 0 && missing.add(`flavor:${v}`));
    return { missing, images: found, taken: new Set(unique.filter((_, i) => Number(r[`c${i}`]) > 0)) };
  }

  /** ID, name and status only (one statement, no services): what the engine needs to start. */
  async head(id: string): Promise<{ ID: string; Name: string; EntityStatus: string } | undefined> {
    const r = await this.ctx.db.selectFrom('clusters').select(['id', 'name', 'entity_status']).where('id', '=', id).executeTakeFirst();
    return r && { ID: r.id, Name: r.name, EntityStatus: r.entity_status };
  }

  /**
   * An operation's outcome: the status, and the master's address and service URLs it found, if the
   * cluster is still in one of `expected` (compare-and-set, as setStatus). Services keep their
   * other fields; a service not in `urls` keeps its URL. True if written.
   */
  async settle(id: string, status: string, expected: readonly string[], outcome: { masterIp?: string; urls?: Record<string, string>; hostUrl?: string } = {}, now = Date.now()): Promise<boolean> {
    return (await this.settleMany([{ id, status, expected, outcome }], now)).has(id);
  }

  /**
   * settle for many clusters (the operations a worker finishes together, engine/journalWriter.ts):
   * one UPDATE per target status (master IP and host URL by a CASE on the ID), one for their
   * services, and one per service URL. Returns the IDs settled; a second statement reads which
   * only when some were not.
   */
  async settleMany(items: ReadonlyArray<{ id: string; status: string; expected: readonly string[]; outcome?: { masterIp?: string; urls?: Record<string, string>; hostUrl?: string } }>, now = Date.now()): Promise<Set<string>> {
    const settled = new Set<string>();
    const groups = new Map<string, typeof items[number][]>();
    for (const i of items) {
      const key = JSON.stringify([i.status, [...i.expected].sort()]);
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    }
    for (const group of groups.values()) {
      const { status, expected } = group[0]!;
      const ids = group.map((i) => i.id);
      // A CASE keeps a column as it is for the clusters whose outcome does not name it.
      const byId = (column: 'master_ip' | 'host_url', value: (i: typeof items[number]) => string | undefined) => {
        const named = group.filter((i) => value(i) !== undefined);
        if (named.length === 0) return {};
        return { [column]: sql<string>`case ${sql.ref('id')} ${sql.join(named.map((i) => sql`when ${i.id} then ${value(i)!}`), sql` `)} else ${sql.ref(column)} end` };
      };
      const r = await this.ctx.db
        .updateTable('clusters')
        .set({ entity_status: status, updated_at: iso(now), ...byId('master_ip', (i) => i.outcome?.masterIp), ...byId('host_url', (i) => i.outcome?.hostUrl) })
        .where('id', 'in', ids)
        .where('entity_status', 'in', [...expected])
        .executeTakeFirst();
      const done =
        Number(r.numUpdatedRows) === new Set(ids).size
          ? ids
          : (await this.ctx.db.selectFrom('clusters').select('id').where('id', 'in', ids).where('entity_status', '=', status).where('updated_at', '=', iso(now)).execute()).map((x) => x.id);
      if (done.length === 0) continue;
      // Every service passed the operation's health phase; the health monitor takes it from here.
      if (status === 'ACTIVE') await this.ctx.db.updateTable('cluster_services').set({ entity_status: 'ACTIVE' }).where('owner_id', 'in', done).execute();
      for (const i of group.filter((x) => done.includes(x.id))) {
        for (const [serviceId, url] of Object.entries(i.outcome?.urls ?? {})) {
          await this.ctx.db.updateTable('cluster_services').set({ url }).where('owner_id', '=', i.id).where('id', '=', serviceId).execute();
        }
      }
      for (const id of done) settled.add(id);
    }
    return settled;
  }

  /**
   * Takes the cluster's row exclusively until the transaction ends, so concurrent PUT/DELETE/POST
   * on one cluster (and the engine writing its status) do not interleave. Call it before the
   * transaction's first plain read; a missing cluster locks nothing. No-op on SQLite.
   */
  async lock(projectId: string, idOrName: string): Promise<void> {
    if (!this.ctx.kit.rowLock) return;
    const q = this.ctx.db.selectFrom('clusters').select('id').where('project_id', '=', projectId);
    const id = parseUuid(idOrName);
    // Two statements so each uses its own unique index.
    if (id !== undefined) await locking(this.ctx, q.where('id', '=', id), 'exclusive')!.execute();
    await locking(this.ctx, q.where('name', '=', idOrName), 'exclusive')!.execute();
  }

  /** Writes the cluster and its services; run it in the transaction that enqueues its operation. */
  async insert(c: StoredCluster, now = Date.now()): Promise<void> {
    await insertUnique(this.ctx, 'cluster', c.Name, () =>
      this.ctx.db
        .insertInto('clusters')
        .values({ id: c.ID, project_id: c.ProjectID, ...fields(c), ...(c.ExpiresAt ? { expires_at: Date.parse(c.ExpiresAt) } : {}), created_at: iso(now), updated_at: iso(now) })
        .execute(),
    );
    await replaceServices(this.ctx, 'cluster_services', c.ID, c.Services, true);
  }

  /**
   * Several new clusters in two statements (their rows, then all their services): the API's
   * creates of one moment, committed together (clusters/createBatch.ts). A name taken fails the whole
   * call with the same "already exists" as insert; the caller then inserts them one by one.
   */
  async insertMany(cs: readonly StoredCluster[], now = Date.now()): Promise<void> {
    if (cs.length === 0) return;
    await insertUnique(this.ctx, 'cluster', cs.map((c) => c.Name).join(', '), () =>
      this.ctx.db
        .insertInto('clusters')
        .values(cs.map((c) => ({ id: c.ID, project_id: c.ProjectID, ...fields(c), ...(c.ExpiresAt ? { expires_at: Date.parse(c.ExpiresAt) } : {}), created_at: iso(now), updated_at: iso(now) })))
        .execute(),
    );
    await insertServicesOf(this.ctx, 'cluster_services', cs.map((c) => ({ ownerId: c.ID, services: c.Services })));
  }

  /** Rewrites every field but ID and ProjectID, and the services (by their IDs where given). */
  async update(c: StoredCluster, now = Date.now()): Promise<void> {
    await insertUnique(this.ctx, 'cluster', c.Name, () =>
      this.ctx.db
        .updateTable('clusters')
        .set({ ...fields(c), updated_at: iso(now) })
        .where('id', '=', c.ID)
        .execute(),
    );
    await replaceServices(this.ctx, 'cluster_services', c.ID, c.Services);
  }

  /**
   * Sets the status; with `expected`, only if the current status is one of them (compare-and-set,
   * e.g. an operation ending must not overwrite the STOPPING of a forced delete). True if written.
   */
  async setStatus(id: string, status: string, expected?: readonly string[], now = Date.now()): Promise<boolean> {
    let q = this.ctx.db.updateTable('clusters').set({ entity_status: status, updated_at: iso(now) }).where('id', '=', id);
    if (expected !== undefined) {
      if (expected.length === 0) return false;
      q = q.where('entity_status', 'in', [...expected]);
    }
    const r = await q.executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Deletes the cluster row (with `expected`, only in one of those statuses); its services go with it (foreign key cascade), its operations and events stay. */
  async remove(id: string, expected?: readonly string[]): Promise<boolean> {
    let q = this.ctx.db.deleteFrom('clusters').where('id', '=', id);
    if (expected !== undefined) q = q.where('entity_status', 'in', [...expected]);
    const r = await q.executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** Clusters that are not DELETED, in one project or in all. */
  /** IDs (and names) of clusters in the given statuses, ordered by ID, after `afterId`: the reconciler's pages. */
  async idsByStatus(statuses: readonly string[], afterId: string, limit: number): Promise<Array<{ id: string; name: string; status: string }>> {
    const rows = await this.ctx.db
      .selectFrom('clusters')
      .select(['id', 'name', 'entity_status'])
      .where('entity_status', 'in', [...statuses])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, status: r.entity_status }));
  }

  /** Sets or clears the expiry (the warning and the delete start over). */
  async setExpiry(id: string, expiresAt: number | null, now = Date.now()): Promise<void> {
    await this.ctx.db.updateTable('clusters').set({ expires_at: expiresAt, expiry_state: 0, updated_at: iso(now) }).where('id', '=', id).execute();
  }

  /** Clusters whose expiry state is below `state` and whose time for it (expires_at - before) has come. */
  async expiring(now: number, before: (expiresAt: number, createdAt: number) => number, state: 1 | 2, limit = 100): Promise<Array<{ id: string; projectId: string; name: string; status: string; expiresAt: number }>> {
    // The soonest first; the caller's rule (how early it warns) picks among them.
    const rows = await this.ctx.db
      .selectFrom('clusters')
      .select(['id', 'project_id', 'name', 'entity_status', 'expires_at', 'created_at'])
      .where('expires_at', 'is not', null)
      .where('expiry_state', '<', state)
      .where('entity_status', '<>', DELETED)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows
      .map((r) => ({ id: r.id, projectId: r.project_id, name: r.name, status: r.entity_status, expiresAt: Number(r.expires_at), createdAt: Date.parse(r.created_at) }))
      .filter((r) => r.expiresAt - before(r.expiresAt, r.createdAt) <= now)
      .map(({ createdAt: _c, ...r }) => r);
  }

  /** Compare-and-set of the expiry state; true for the one caller that moved it. */
  async advanceExpiry(id: string, state: 1 | 2): Promise<boolean> {
    const r = await this.ctx.db.updateTable('clusters').set({ expiry_state: state }).where('id', '=', id).where('expiry_state', '<', state).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Nodes of the project's clusters need their services; this is their number of clusters. */
  async count(projectId?: string): Promise<number> {
    let q = this.ctx.db
      .selectFrom('clusters')
      .select(sql<number | string>`count(*)`.as('n'))
      .where('entity_status', '<>', DELETED);
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    const r = await q.executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
