// The SQLite database and the data directory are private: file 0600, directories 0700.
import { it, expect, afterAll } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { openStore } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';

const root = mkdtempSync(join(tmpdir(), 'michman-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const mode = (p: string) => statSync(p).mode & 0o777;

it('creates the data directory 0700 and the SQLite file (and its WAL) 0600', async () => {
  const dataDir = join(root, 'data');
  const config = loadConfig({ overrides: { data_dir: dataDir, provider: 'fake' }, env: {} });
  const store = await openStore(config);
  try {
    await store.projects.find('x'); // a read and the migrations' writes: the WAL exists
    expect(mode(dataDir)).toBe(0o700);
    const file = join(dataDir, 'michman.sqlite');
    expect(mode(file)).toBe(0o600);
    for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) expect(mode(f), f).toBe(0o600);
  } finally {
    await store.close();
  }
});

it('tightens a database file an older version left readable', async () => {
  const file = join(root, 'old', 'db.sqlite');
  const store0 = await Store.open({ storage: 'sqlite', url: file });
  await store0.close();
  chmodSync(file, 0o644);
  const store = await Store.open({ storage: 'sqlite', url: file });
  await store.close();
  expect(mode(file)).toBe(0o600);
  expect(mode(join(root, 'old'))).toBe(0o700);
});
