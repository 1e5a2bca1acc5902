// Start-up shared by the CLI and the benchmark: config → store (migrated) → built-in catalog → API.
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Store } from './store/store.js';
import { buildServer } from './api/server.js';
import { loadBuiltinCatalogIfEmpty } from './catalog.js';
import { parseListen } from './config/load.js';
import type { MichmanConfig } from './config/schema.js';

export interface Running {
  app: FastifyInstance;
  store: Store;
  url: string;
  close(): Promise<void>;
}

export async function openStore(config: MichmanConfig): Promise<Store> {
  const store = await Store.open({ storage: config.storage, url: config.database_url });
  await store.migrate();
  return store;
}

export async function serve(config: MichmanConfig): Promise<Running> {
  const log = pino({ level: config.log_level, redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-auth-token"]'] });
  const store = await openStore(config);
  const loaded = await loadBuiltinCatalogIfEmpty(store);
  if (loaded) {
    const failed = loaded.filter((r) => r.error);
    log.info({ loaded: loaded.length - failed.length }, 'built-in catalog loaded');
    for (const f of failed) log.error({ file: f.source }, `built-in catalog file refused: ${f.error}`);
  }
  const app = await buildServer({ store, logger: log, bodyLimit: config.body_limit });
  const { host, port } = parseListen(config.listen);
  const url = await app.listen({ host, port });
  return {
    app,
    store,
    url,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
