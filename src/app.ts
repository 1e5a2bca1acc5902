// Start-up shared by the CLI and the benchmarks: config → store (migrated) → built-in catalog →
// provider, deployer and workers → API.
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { Store } from './store/store.js';
import { buildServer } from './api/server.js';
import { startAuth } from './auth/start.js';
import { loadBuiltinCatalogIfEmpty } from './catalog.js';
import { parseListen } from './config/load.js';
import type { MichmanConfig } from './config/schema.js';
import type { Provider } from './providers/types.js';
import type { Deployer } from './deploy/types.js';
import { FakeProvider, NoopDeployer } from './providers/fake.js';
import { LocalProvider } from './providers/local/index.js';
import { LocalDeployer } from './deploy/local/index.js';
import { Worker } from './engine/worker.js';

export interface Running {
  app: FastifyInstance;
  store: Store;
  url: string;
  worker?: Worker;
  close(): Promise<void>;
}

export async function openStore(config: MichmanConfig): Promise<Store> {
  const store = await Store.open({ storage: config.storage, url: config.database_url });
  await store.migrate();
  return store;
}

export function logger(config: MichmanConfig): Logger {
  return pino({ level: config.log_level, redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-auth-token"]'] });
}

/** The provider and deployer the config names. */
export function machinery(config: MichmanConfig): { provider: Provider; deployer: Deployer } {
  if (config.provider === 'fake') return { provider: new FakeProvider({ bootLatencyMs: 200 }), deployer: new NoopDeployer() };
  // openstack: (wired by the OpenStack provider)
  // nspawn: (wired by the nspawn provider)
  if (config.provider !== 'local') throw new Error(`provider ${config.provider} is not available in this build`);
  return { provider: new LocalProvider({ dataRoot: join(config.data_dir, 'nodes') }), deployer: new LocalDeployer() };
}

export function startWorker(store: Store, config: MichmanConfig, log: Logger, m: { provider: Provider; deployer: Deployer }): Worker | undefined {
  if (config.workers === 0) return undefined;
  const s = (n: number) => n * 1000;
  const deadlines = {
    provision: s(config.provision_deadline_seconds),
    reachable: s(config.provision_deadline_seconds),
    deploy: s(config.deploy_deadline_seconds),
    health: s(config.health_deadline_seconds),
    remove: s(config.delete_deadline_seconds),
    deprovision: s(config.delete_deadline_seconds),
  };
  const worker = new Worker(store, { ...m, concurrency: config.workers, leaseMs: s(config.lease_seconds), deadlines, log });
  worker.start();
  return worker;
}

export async function serve(config: MichmanConfig): Promise<Running> {
  const log = logger(config);
  const store = await openStore(config);
  const loaded = await loadBuiltinCatalogIfEmpty(store);
  if (loaded) {
    const failed = loaded.filter((r) => r.error);
    log.info({ loaded: loaded.length - failed.length }, 'built-in catalog loaded');
    for (const f of failed) log.error({ file: f.source }, `built-in catalog file refused: ${f.error}`);
  }
  const auth = await startAuth(config, log);
  const m = machinery(config);
  const worker = startWorker(store, config, log, m);
  const app = await buildServer({ store, logger: log, bodyLimit: config.body_limit, deployer: m.deployer, onEnqueue: () => worker?.notify(), auth });
  const { host, port } = parseListen(config.listen);
  const url = await app.listen({ host, port });
  return {
    app,
    store,
    url,
    worker,
    async close() {
      await app.close();
      await worker?.stop();
      await store.close();
    },
  };
}
