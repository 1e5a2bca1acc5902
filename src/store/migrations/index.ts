// Migrations in order. Each takes the dialect kit for the few DDL details that differ per database.
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { DialectKit } from '../dialects/kit.js';
import * as core from './001_core.js';
import * as operations from './002_operations.js';
import * as auth from './003_auth.js';
import * as health from './004_health.js';
import * as clusterExpiry from './005_cluster_expiry.js';
import * as hostKeys from './006_host_keys.js';

type Step = { up(db: Kysely<unknown>, kit: DialectKit): Promise<void> };
const steps: Record<string, Step> = { '001_core': core, '002_operations': operations, '003_auth': auth, '004_health': health, '005_cluster_expiry': clusterExpiry, '006_host_keys': hostKeys };

export function migrationProvider(kit: DialectKit): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, step] of Object.entries(steps)) out[name] = { up: (db) => step.up(db, kit) };
      return out;
    },
  };
}
