// The stores every API suite runs against: SQLite always; MariaDB/MySQL and PostgreSQL when
// MICHMAN_TEST_MYSQL_URL / MICHMAN_TEST_PG_URL point at a server. Each opened store gets a fresh,
// uniquely named database that is dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { Store } from '../../src/store/store.js';

export interface OpenedStore {
  store: Store;
  /** The URL/path the store was opened with, for tests that start a second process on it. */
  url: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'mysql' | 'postgres';
  open(): Promise<OpenedStore>;
}

const freshName = () => `michman_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const sqlite: Backend = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'michman-test-'));
    const url = join(dir, 'michman.sqlite');
    const store = await Store.open({ storage: 'sqlite', url });
    await store.migrate();
    return {
      store,
      url,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function mysql(adminUrl: string): Backend {
  return {
    name: 'mysql',
    async open() {
      const name = freshName();
      const admin = await createConnection({ uri: adminUrl.replace(/^mariadb:/, 'mysql:') });
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      const url = withDatabase(adminUrl, name);
      const store = await Store.open({ storage: 'mysql', url });
      await store.migrate();
      return {
        store,
        url,
        async cleanup() {
          await store.close();
          await admin.query(`DROP DATABASE \`${name}\``);
          await admin.end();
        },
      };
    },
  };
}

function postgres(adminUrl: string): Backend {
  return {
    name: 'postgres',
    async open() {
      const name = freshName();
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = withDatabase(adminUrl, name);
      const store = await Store.open({ storage: 'postgres', url });
      await store.migrate();
      return {
        store,
        url,
        async cleanup() {
          await store.close();
          await admin.query(`DROP DATABASE "${name}"`);
          await admin.end();
        },
      };
    },
  };
}

export function backends(): Backend[] {
  const out: Backend[] = [sqlite];
  const my = process.env.MICHMAN_TEST_MYSQL_URL;
  const pgUrl = process.env.MICHMAN_TEST_PG_URL;
  if (my) out.push(mysql(my));
  if (pgUrl) out.push(postgres(pgUrl));
  return out;
}
