// The stores the suites and benchmarks run against: SQLite always; MariaDB/MySQL and PostgreSQL
// when MICHMAN_TEST_MYSQL_URL / MICHMAN_TEST_PG_URL point at a server. Each opened store gets a
// fresh, uniquely named database that is dropped afterwards. No vitest here: bench/ imports it too.
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

const freshName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Opens and migrates a store on `url`; on failure runs `drop` so nothing is left behind. */
async function openOn(storage: Backend['name'], url: string, drop: () => Promise<void>): Promise<OpenedStore> {
  try {
    const store = await Store.open({ storage, url });
    await store.migrate();
    return {
      store,
      url,
      async cleanup() {
        await store.close().catch(() => undefined);
        await drop();
      },
    };
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  }
}

function sqlite(prefix: string): Backend {
  return {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), `${prefix.replaceAll('_', '-')}-`));
      return openOn('sqlite', join(dir, 'michman.sqlite'), async () => rmSync(dir, { recursive: true, force: true }));
    },
  };
}

function mysql(adminUrl: string, prefix: string): Backend {
  return {
    name: 'mysql',
    async open() {
      const name = freshName(prefix);
      const admin = await createConnection({ uri: adminUrl.replace(/^mariadb:/, 'mysql:') });
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      return openOn('mysql', withDatabase(adminUrl, name), async () => {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.end();
      });
    },
  };
}

function postgres(adminUrl: string, prefix: string): Backend {
  return {
    name: 'postgres',
    async open() {
      const name = freshName(prefix);
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      // pg-pool's end() resolves before its sockets are closed; a DROP … WITH (FORCE) that
      // terminates them then makes the pool emit an unhandled 'error'. So: plain DROP, retried
      // while the store's sessions go away, and FORCE only as the last resort.
      return openOn('postgres', withDatabase(adminUrl, name), async () => {
        for (let i = 0; ; i++) {
          try {
            await admin.query(`DROP DATABASE IF EXISTS "${name}"${i < 50 ? '' : ' WITH (FORCE)'}`);
            break;
          } catch (err) {
            if (i >= 50 || (err as { code?: string }).code !== '55006') throw err; // 55006: in use by other sessions
            await sleep(100);
          }
        }
        await admin.end();
      });
    },
  };
}

/** `prefix` names the scratch databases and directories (tests and benchmarks use their own). */
export function backends(prefix = 'michman_t'): Backend[] {
  const out: Backend[] = [sqlite(prefix)];
  const my = process.env.MICHMAN_TEST_MYSQL_URL;
  const pgUrl = process.env.MICHMAN_TEST_PG_URL;
  if (my) out.push(mysql(my, prefix));
  if (pgUrl) out.push(postgres(pgUrl, prefix));
  return out;
}
