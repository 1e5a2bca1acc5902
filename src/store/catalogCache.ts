// Assembled service types (a type, its versions, configs and dependencies: four queries and a
// merge) kept in memory and keyed by the catalog revision, which every catalog write bumps in its
// own transaction. A reader checks the revision with one indexed query and drops the whole cache
// when it moved, so no replica ever serves a catalog that another one has changed.
import type { StoredServiceType } from '../domain/stored.js';

const MAX_ENTRIES = 2000;

export class CatalogCache {
  private revision = -1;
  private readonly entries = new Map<string, StoredServiceType>();

  get(revision: number, key: string): StoredServiceType | undefined {
    if (revision !== this.revision) {
      this.entries.clear();
      this.revision = revision;
      return undefined;
    }
    return this.entries.get(key);
  }

  set(revision: number, key: string, value: StoredServiceType): void {
    if (revision !== this.revision) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, Object.freeze(value));
  }
}
