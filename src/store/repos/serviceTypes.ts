// The service-type aggregate: a type with its versions, each version's configs and dependencies.
// Rows are normalised so the database enforces every uniqueness rule (type, version within type,
// parameter within version, dependency type within version).
import type { ServicePort, HealthCheck } from '../../domain/wire.js';
import type {
  StoredServiceType,
  StoredVersion,
  StoredConfig,
  StoredDependency,
  ServiceTypeSummary,
} from '../../domain/stored.js';
import type { ServiceTypeRow, ServiceVersionRow, ServiceConfigRow, ServiceDependencyRow } from '../schema.js';
import { type RepoContext, paged, insertUnique, findRow, firstRow, lockRows, locking, toBool, fromBool } from './base.js';
import { toPage, type Page, type PageRequest } from '../paging.js';
import { parseUuid } from '../ids.js';

const summary = (r: ServiceTypeRow): ServiceTypeSummary => ({
  ID: r.id,
  Type: r.type,
  Description: r.description,
  DefaultVersion: r.default_version,
  Class: r.class,
  AccessPort: r.access_port,
});

const configToWire = (r: ServiceConfigRow): StoredConfig => ({
  ID: r.id,
  ParameterName: r.parameter_name,
  Type: r.type,
  ...(r.possible_values === null ? {} : { PossibleValues: JSON.parse(r.possible_values) as string[] }),
  DefaultValue: r.default_value,
  Required: toBool(r.required),
  Description: r.description,
  AnsibleVarName: r.ansible_var_name,
  IsList: toBool(r.is_list),
});

const dependencyToWire = (r: ServiceDependencyRow): StoredDependency => ({
  ServiceType: r.service_type,
  ServiceVersions: JSON.parse(r.service_versions) as string[],
  DefaultServiceVersion: r.default_service_version,
  Description: r.description,
});

const versionBase = (r: ServiceVersionRow): Omit<StoredVersion, 'Configs' | 'Dependencies'> => ({
  ID: r.id,
  Version: r.version,
  Description: r.description,
  DownloadURL: r.download_url,
});

export class ServiceTypeRepo {
  constructor(private readonly ctx: RepoContext) {}

  private get db() {
    return this.ctx.db;
  }

  // ---- reads ------------------------------------------------------------------------------------

  async listSummaries(page: PageRequest): Promise<Page<ServiceTypeSummary>> {
    const rows = await paged(this.db.selectFrom('service_types').selectAll(), 'type', page).execute();
    return toPage(rows.map(summary), page.limit, (t) => t.Type);
  }

  async list(page: PageRequest): Promise<Page<StoredServiceType>> {
    const rows = await paged(this.db.selectFrom('service_types').selectAll(), 'type', page).execute();
    return toPage(await this.assemble(rows), page.limit, (t) => t.Type);
  }

  async findRow(idOrName: string): Promise<ServiceTypeRow | undefined> {
    return findRow<ServiceTypeRow>(this.ctx, 'service_types', 'type', idOrName);
  }

  async find(idOrName: string): Promise<StoredServiceType | undefined> {
    // Inside a transaction the caller may be about to write: always read the rows themselves.
    const cache = this.db.isTransaction ? undefined : this.ctx.catalogCache;
    const revision = cache ? await this.revision() : 0;
    const hit = cache?.get(revision, idOrName);
    if (hit) return hit;
    const row = await this.findRow(idOrName);
    const t = row && (await this.assemble([row]))[0];
    if (t) cache?.set(revision, idOrName, t);
    return t;
  }

  private async revision(): Promise<number> {
    // Asked before every cached read, so compiled once.
    this.revisionSql ??= this.db.selectFrom('catalog_revision').select('revision').where('id', '=', 1).compile().sql;
    const r = await firstRow<{ revision: number }>(this.ctx, this.revisionSql, [1]);
    return Number(r?.revision ?? 0);
  }
  private revisionSql: string | undefined;

  /** Every write calls this first, in its transaction, so cached copies everywhere go stale. */
  private async touch(): Promise<void> {
    await this.db.updateTable('catalog_revision').set((eb) => ({ revision: eb('revision', '+', 1) })).where('id', '=', 1).execute();
  }

  async findSummary(idOrName: string): Promise<ServiceTypeSummary | undefined> {
    const row = await this.findRow(idOrName);
    return row && summary(row);
  }

  /**
   * Types by name, fully assembled; used to check dependencies, template and cluster services
   * against the types they name. Inside a transaction the type rows are read with a shared lock
   * (see lockShared), so a type cannot be deleted, nor its versions, between this check and the
   * caller's commit: without it a template could be stored for a type deleted at the same moment.
   */
  async findByNames(names: string[]): Promise<Map<string, StoredServiceType>> {
    if (names.length === 0) return new Map();
    const q = this.db.selectFrom('service_types').selectAll().where('type', 'in', [...new Set(names)]).orderBy('type');
    const rows = await ((this.db.isTransaction && locking(this.ctx, q, 'shared')) || q).execute();
    return new Map((await this.assemble(rows)).map((t) => [t.Type, t]));
  }

  private async assemble(rows: ServiceTypeRow[]): Promise<StoredServiceType[]> {
    if (rows.length === 0) return [];
    const versions = await this.db
      .selectFrom('service_versions')
      .selectAll()
      .where('service_type_id', 'in', rows.map((r) => r.id))
      .orderBy('service_type_id')
      .orderBy('position')
      .execute();
    const details = await this.versionDetails(versions.map((v) => v.id));
    const byType = new Map<string, StoredVersion[]>(rows.map((r) => [r.id, []]));
    for (const v of versions) byType.get(v.service_type_id)?.push({ ...versionBase(v), ...details(v.id) });
    return rows.map((r) => ({
      ...summary(r),
      Versions: byType.get(r.id) ?? [],
      Ports: JSON.parse(r.ports) as ServicePort[],
      HealthCheck: JSON.parse(r.health_check) as HealthCheck[],
    }));
  }

  private async versionDetails(versionIds: string[]) {
    const configs = new Map<string, StoredConfig[]>(versionIds.map((id) => [id, []]));
    const deps = new Map<string, StoredDependency[]>(versionIds.map((id) => [id, []]));
    if (versionIds.length > 0) {
      const cRows = await this.db
        .selectFrom('service_configs')
        .selectAll()
        .where('version_id', 'in', versionIds)
        .orderBy('version_id')
        .orderBy('position')
        .execute();
      for (const c of cRows) configs.get(c.version_id)?.push(configToWire(c));
      const dRows = await this.db
        .selectFrom('service_dependencies')
        .selectAll()
        .where('version_id', 'in', versionIds)
        .orderBy('version_id')
        .orderBy('position')
        .execute();
      for (const d of dRows) deps.get(d.version_id)?.push(dependencyToWire(d));
    }
    return (id: string) => ({ Configs: configs.get(id) ?? [], Dependencies: deps.get(id) ?? [] });
  }

  async findVersion(typeId: string, idOrName: string): Promise<StoredVersion | undefined> {
    const q = this.db.selectFrom('service_versions').selectAll().where('service_type_id', '=', typeId);
    const id = parseUuid(idOrName);
    const row =
      (id !== undefined ? await q.where('id', '=', id).executeTakeFirst() : undefined) ??
      (await q.where('version', '=', idOrName).executeTakeFirst());
    if (!row) return undefined;
    return { ...versionBase(row), ...(await this.versionDetails([row.id]))(row.id) };
  }

  /** Versions of every type whose dependencies name `typeName`. */
  async dependents(typeName: string): Promise<Array<{ type: string; version: string; dependency: StoredDependency }>> {
    const rows = await this.db
      .selectFrom('service_dependencies as d')
      .innerJoin('service_versions as v', 'v.id', 'd.version_id')
      .innerJoin('service_types as t', 't.id', 'v.service_type_id')
      .selectAll('d')
      .select(['t.type as owner_type', 'v.version as owner_version'])
      .where('d.service_type', '=', typeName)
      .execute();
    return rows.map((r) => ({ type: r.owner_type, version: r.owner_version, dependency: dependencyToWire(r) }));
  }

  /** Whether a cluster or template uses the type (and the version, when given). */
  async isUsed(typeName: string, version?: string): Promise<boolean> {
    for (const table of ['cluster_services', 'template_services'] as const) {
      let q = this.db.selectFrom(table).select('id').where('type', '=', typeName);
      if (version !== undefined) q = q.where('version', '=', version);
      if (await q.limit(1).executeTakeFirst()) return true;
    }
    return false;
  }

  // ---- locks ------------------------------------------------------------------------------------

  /**
   * Takes the type's row exclusively for the rest of the transaction, so read-check-write sequences
   * on the aggregate (PUT/DELETE of the type, every version/config/dependency write) run one after
   * the other instead of losing each other's changes or passing each other's checks. Call it (and
   * lockShared) before the transaction's first plain read: MariaDB's REPEATABLE READ snapshot starts
   * there. A missing type locks nothing; the caller's lookup reports it. SQLite transactions already
   * exclude each other.
   */
  lock(idOrName: string): Promise<void> {
    return lockRows(this.ctx, 'service_types', 'type', [idOrName], 'exclusive');
  }

  /** Shares the rows of the types dependencies name, so their versions cannot be deleted meanwhile. */
  lockShared(names: string[]): Promise<void> {
    return lockRows(this.ctx, 'service_types', 'type', names, 'shared');
  }

  // ---- writes (callers run multi-row writes inside Store.transaction) ---------------------------

  async insert(t: StoredServiceType): Promise<void> {
    await this.touch();
    await insertUnique(this.ctx, 'service type', t.Type, () =>
      this.db
        .insertInto('service_types')
        .values({
          id: t.ID,
          type: t.Type,
          description: t.Description,
          default_version: t.DefaultVersion,
          class: t.Class,
          access_port: t.AccessPort,
          ports: JSON.stringify(t.Ports),
          health_check: JSON.stringify(t.HealthCheck),
        })
        .execute(),
    );
    for (const [i, v] of t.Versions.entries()) await this.insertVersion(t.ID, v, i);
  }

  async updateType(t: StoredServiceType): Promise<void> {
    await this.touch();
    await this.db
      .updateTable('service_types')
      .set({
        description: t.Description,
        default_version: t.DefaultVersion,
        class: t.Class,
        access_port: t.AccessPort,
        ports: JSON.stringify(t.Ports),
        health_check: JSON.stringify(t.HealthCheck),
      })
      .where('id', '=', t.ID)
      .execute();
  }

  async delete(id: string): Promise<void> {
    await this.touch();
    await this.db.deleteFrom('service_types').where('id', '=', id).execute();
  }

  async insertVersion(typeId: string, v: StoredVersion, position?: number): Promise<void> {
    await this.touch();
    const pos = position ?? (await this.nextPosition('service_versions', 'service_type_id', typeId));
    await insertUnique(this.ctx, 'service type version', v.Version, () =>
      this.db
        .insertInto('service_versions')
        .values({
          id: v.ID,
          service_type_id: typeId,
          version: v.Version,
          description: v.Description,
          download_url: v.DownloadURL,
          position: pos,
        })
        .execute(),
    );
    for (const [i, c] of v.Configs.entries()) await this.insertConfig(v.ID, c, i);
    for (const [i, d] of v.Dependencies.entries()) await this.insertDependency(v.ID, d, i);
  }

  async updateVersion(v: StoredVersion): Promise<void> {
    await this.touch();
    await this.db
      .updateTable('service_versions')
      .set({ description: v.Description, download_url: v.DownloadURL })
      .where('id', '=', v.ID)
      .execute();
  }

  async deleteVersion(versionId: string): Promise<void> {
    await this.touch();
    await this.db.deleteFrom('service_versions').where('id', '=', versionId).execute();
  }

  async insertConfig(versionId: string, c: StoredConfig, position?: number): Promise<void> {
    await this.touch();
    const pos = position ?? (await this.nextPosition('service_configs', 'version_id', versionId));
    await insertUnique(this.ctx, 'service type version config', c.ParameterName, () =>
      this.db
        .insertInto('service_configs')
        .values({ ...configRow(c), id: c.ID, version_id: versionId, parameter_name: c.ParameterName, position: pos })
        .execute(),
    );
  }

  async updateConfig(versionId: string, c: StoredConfig): Promise<void> {
    await this.touch();
    await this.db
      .updateTable('service_configs')
      .set(configRow(c))
      .where('version_id', '=', versionId)
      .where('parameter_name', '=', c.ParameterName)
      .execute();
  }

  async deleteConfig(versionId: string, parameterName: string): Promise<void> {
    await this.touch();
    await this.db
      .deleteFrom('service_configs')
      .where('version_id', '=', versionId)
      .where('parameter_name', '=', parameterName)
      .execute();
  }

  async insertDependency(versionId: string, d: StoredDependency, position?: number): Promise<void> {
    await this.touch();
    const pos = position ?? (await this.nextPosition('service_dependencies', 'version_id', versionId));
    await insertUnique(this.ctx, 'service type version dependency', d.ServiceType, () =>
      this.db
        .insertInto('service_dependencies')
        .values({
          ...dependencyRow(d),
          id: crypto.randomUUID(),
          version_id: versionId,
          service_type: d.ServiceType,
          position: pos,
        })
        .execute(),
    );
  }

  async updateDependency(versionId: string, d: StoredDependency): Promise<void> {
    await this.touch();
    await this.db
      .updateTable('service_dependencies')
      .set(dependencyRow(d))
      .where('version_id', '=', versionId)
      .where('service_type', '=', d.ServiceType)
      .execute();
  }

  async deleteDependency(versionId: string, serviceType: string): Promise<void> {
    await this.touch();
    await this.db
      .deleteFrom('service_dependencies')
      .where('version_id', '=', versionId)
      .where('service_type', '=', serviceType)
      .execute();
  }

  private async nextPosition(
    table: 'service_versions' | 'service_configs' | 'service_dependencies',
    parent: string,
    parentId: string,
  ): Promise<number> {
    const r = await this.db
      .selectFrom(table as 'service_configs')
      .select((eb) => eb.fn.max('position').as('m'))
      .where(parent as 'version_id', '=', parentId)
      .executeTakeFirst();
    return r?.m === null || r?.m === undefined ? 0 : Number(r.m) + 1;
  }
}

const configRow = (c: StoredConfig) => ({
  type: c.Type,
  possible_values: c.PossibleValues === undefined ? null : JSON.stringify(c.PossibleValues),
  default_value: c.DefaultValue,
  required: fromBool(c.Required),
  description: c.Description,
  ansible_var_name: c.AnsibleVarName,
  is_list: fromBool(c.IsList),
});

const dependencyRow = (d: StoredDependency) => ({
  service_versions: JSON.stringify(d.ServiceVersions),
  default_service_version: d.DefaultServiceVersion,
  description: d.Description,
});
