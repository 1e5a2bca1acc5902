// The store: one repository per aggregate over a Kysely instance. Inside `transaction` the same
// repositories are rebuilt on the transaction, so multi-row writes commit or roll back together.
import { Kysely, Migrator } from 'kysely';
import type { DB } from './schema.js';
import type { DialectKit, QueuedListener, StorageKind } from './dialects/kit.js';
import { sqliteKit } from './dialects/sqlite.js';
import { mysqlKit } from './dialects/mysql.js';
import { postgresKit } from './dialects/postgres.js';
import { migrationProvider } from './migrations/index.js';
import { ImageRepo } from './repos/images.js';
import { FlavorRepo } from './repos/flavors.js';
import { ProjectRepo } from './repos/projects.js';
import { ServiceTypeRepo } from './repos/serviceTypes.js';
import { TemplateRepo } from './repos/templates.js';
import { ClusterRepo } from './repos/clusters.js';
import { OperationRepo } from './repos/operations.js';
import { EventRepo } from './repos/events.js';
import { HostKeyRepo } from './repos/hostKeys.js';
import { CatalogCache } from './catalogCache.js';

export interface StoreOptions {
  storage: StorageKind;
  /** SQLite: file path (or ':memory:'); MySQL/PostgreSQL: connection URL. */
  url: string;
}

export function kitFor(o: StoreOptions): DialectKit {
  switch (o.storage) {
    case 'sqlite':
      return sqliteKit(o.url);
    case 'mysql':
      return mysqlKit(o.url);
    case 'postgres':
      return postgresKit(o.url);
  }
}

export class Store {
  readonly images: ImageRepo;
  readonly flavors: FlavorRepo;
  readonly projects: ProjectRepo;
  readonly serviceTypes: ServiceTypeRepo;
  readonly templates: TemplateRepo;
  readonly clusters: ClusterRepo;
  readonly operations: OperationRepo;
  readonly events: EventRepo;
  /** Pinned SSH host keys of cloud servers (the Ansible deployer's HostKeyPins). */
  readonly hostKeys: HostKeyRepo;

  private constructor(
    readonly db: Kysely<DB>,
    readonly kit: DialectKit,
    private readonly catalogCache = new CatalogCache(),
  ) {
    const ctx = { db, kit, catalogCache };
    this.images = new ImageRepo(ctx);
    this.flavors = new FlavorRepo(ctx);
    this.projects = new ProjectRepo(ctx);
    this.serviceTypes = new ServiceTypeRepo(ctx);
    this.templates = new TemplateRepo(ctx);
    this.clusters = new ClusterRepo(ctx);
    this.operations = new OperationRepo(ctx);
    this.events = new EventRepo(ctx);
    this.hostKeys = new HostKeyRepo(ctx);
  }

  static async open(o: StoreOptions): Promise<Store> {
    const kit = kitFor(o);
    const db = new Kysely<DB>({ dialect: kit.createDialect() });
    await kit.afterOpen?.();
    return new Store(db, kit);
  }

  /**
   * Calls onQueued when another process queues operations (a replica's creates), where the
   * database can say so (kit.queued: PostgreSQL); undefined elsewhere, where workers poll.
   */
  listenQueued(onQueued: () => void, onError: (err: Error) => void): QueuedListener | undefined {
    return this.kit.queued?.listen(onQueued, onError);
  }

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.kit) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  /** Migrations of this version not applied to the database (empty = the schema is current). */
  async pendingMigrations(): Promise<string[]> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.kit) });
    return (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
  }

  /**
   * Runs fn in one transaction. A deadlock or serialization failure (concurrent writers on
   * MariaDB/PostgreSQL) rolls back and runs fn again, a few times, before giving up.
   *
   * `readCommitted`, for transactions made only of single-statement compare-and-set writes (the
   * engine's claims and batched journal writes): on MariaDB, REPEATABLE READ keeps a lock on every
   * row an UPDATE scanned, and on a small table `WHERE id IN (…50 IDs…)` scans them all, so a
   * journal batch locked every queued operation and claims found nothing to take. READ COMMITTED
   * keeps only the rows written. PostgreSQL's default already; SQLite has one writer.
   */
  async transaction<T>(fn: (tx: Store) => Promise<T>, o: { readCommitted?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const begin = o.readCommitted && this.kit.kind === 'mysql' ? this.db.transaction().setIsolationLevel('read committed') : this.db.transaction();
        return await begin.execute((trx) => fn(new Store(trx, this.kit, this.catalogCache)));
      } catch (err) {
        if (attempt >= 4 || !this.kit.isTransient(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.floor(Math.random() * 10)));
      }
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
