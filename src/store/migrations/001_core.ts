// The catalog, images, flavors, projects, templates, clusters and their services. Operations and
// events belong to the engine and arrive in later migrations next to this one.
import type { Kysely, CreateTableBuilder } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';

const ID = 'varchar(36)';
const NAME = 'varchar(255)';

export async function up(db: Kysely<unknown>, kit: DialectKit): Promise<void> {
  const table = (name: string) => {
    const t = db.schema.createTable(name);
    return (kit.tableOptions ? t.modifyEnd(kit.tableOptions) : t) as CreateTableBuilder<string, never>;
  };

  await table('images')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('name', NAME, (c) => c.notNull().unique())
    .addColumn('ansible_user', NAME, (c) => c.notNull())
    .addColumn('cloud_image_id', NAME, (c) => c.notNull())
    .execute();

  await table('flavors')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('name', NAME, (c) => c.notNull().unique())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('ram', 'integer', (c) => c.notNull())
    .addColumn('disk', 'integer', (c) => c.notNull())
    .execute();

  await table('projects')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('name', NAME, (c) => c.notNull().unique())
    .addColumn('display_name', NAME, (c) => c.notNull())
    .addColumn('group_id', NAME, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('default_image', NAME, (c) => c.notNull())
    .addColumn('default_master_flavor', NAME, (c) => c.notNull())
    .addColumn('default_slaves_flavor', NAME, (c) => c.notNull())
    .addColumn('default_storage_flavor', NAME, (c) => c.notNull())
    .addColumn('default_monitoring_flavor', NAME, (c) => c.notNull())
    .execute();

  await table('service_types')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('type', NAME, (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('default_version', NAME, (c) => c.notNull())
    .addColumn('class', 'varchar(32)', (c) => c.notNull())
    .addColumn('access_port', 'integer', (c) => c.notNull())
    .addColumn('ports', kit.longText, (c) => c.notNull())
    .addColumn('health_check', kit.longText, (c) => c.notNull())
    .execute();

  await table('service_versions')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('service_type_id', ID, (c) => c.notNull().references('service_types.id').onDelete('cascade'))
    .addColumn('version', NAME, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('download_url', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addUniqueConstraint('service_versions_type_version_uq', ['service_type_id', 'version'])
    .execute();

  await table('service_configs')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('version_id', ID, (c) => c.notNull().references('service_versions.id').onDelete('cascade'))
    .addColumn('parameter_name', NAME, (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('possible_values', kit.longText)
    .addColumn('default_value', 'text', (c) => c.notNull())
    .addColumn('required', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('ansible_var_name', NAME, (c) => c.notNull())
    .addColumn('is_list', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addUniqueConstraint('service_configs_version_param_uq', ['version_id', 'parameter_name'])
    .execute();

  await table('service_dependencies')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('version_id', ID, (c) => c.notNull().references('service_versions.id').onDelete('cascade'))
    .addColumn('service_type', NAME, (c) => c.notNull())
    .addColumn('service_versions', kit.longText, (c) => c.notNull())
    .addColumn('default_service_version', NAME, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addUniqueConstraint('service_dependencies_version_type_uq', ['version_id', 'service_type'])
    .execute();
  await db.schema.createIndex('service_dependencies_type_idx').on('service_dependencies').column('service_type').execute();

  // Bumped by every catalog write in the same transaction: readers compare it to what they cached,
  // so a cache in one replica never serves a catalog another replica has changed.
  await table('catalog_revision')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('revision', 'integer', (c) => c.notNull())
    .execute();
  await db.insertInto('catalog_revision' as never).values({ id: 1, revision: 0 } as never).execute();

  await table('templates')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('project_id', ID, (c) => c.notNull())
    .addColumn('name', NAME, (c) => c.notNull())
    .addColumn('display_name', NAME, (c) => c.notNull())
    .addColumn('n_slaves', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    // Unique per scope: "x-b" of project "a" and "x" of project "b-a" are both named "x-b-a".
    .addUniqueConstraint('templates_project_name_uq', ['project_id', 'name'])
    .execute();

  await table('clusters')
    .addColumn('id', ID, (c) => c.primaryKey())
    .addColumn('project_id', ID, (c) => c.notNull().references('projects.id'))
    .addColumn('name', NAME, (c) => c.notNull())
    .addColumn('display_name', NAME, (c) => c.notNull())
    .addColumn('entity_status', 'varchar(32)', (c) => c.notNull())
    .addColumn('cluster_type', NAME, (c) => c.notNull())
    .addColumn('host_url', 'text', (c) => c.notNull())
    .addColumn('n_slaves', 'integer', (c) => c.notNull())
    .addColumn('master_ip', NAME, (c) => c.notNull())
    .addColumn('owner_id', NAME, (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('image', NAME, (c) => c.notNull())
    .addColumn('keys', kit.longText, (c) => c.notNull())
    .addColumn('monitoring', 'integer', (c) => c.notNull())
    .addColumn('master_flavor', NAME, (c) => c.notNull())
    .addColumn('slaves_flavor', NAME, (c) => c.notNull())
    .addColumn('storage_flavor', NAME, (c) => c.notNull())
    .addColumn('monitoring_flavor', NAME, (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    // Cluster names are unique per project (the original's MySQL schema made them global).
    .addUniqueConstraint('clusters_project_name_uq', ['project_id', 'name'])
    .execute();

  for (const [name, owner] of [
    ['cluster_services', 'clusters.id'],
    ['template_services', 'templates.id'],
  ] as const) {
    await table(name)
      .addColumn('id', ID, (c) => c.primaryKey())
      .addColumn('owner_id', ID, (c) => c.notNull().references(owner).onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('name', NAME, (c) => c.notNull())
      .addColumn('display_name', NAME, (c) => c.notNull())
      .addColumn('type', NAME, (c) => c.notNull())
      .addColumn('version', NAME, (c) => c.notNull())
      .addColumn('config', kit.longText, (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('entity_status', 'varchar(32)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex(`${name}_owner_idx`).on(name).column('owner_id').execute();
    // "Is this service type / version in use?" must not scan every service.
    await db.schema.createIndex(`${name}_type_idx`).on(name).columns(['type', 'version']).execute();
  }
}
