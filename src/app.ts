// Start-up shared by the CLI and the benchmarks: config → store (migrated) → built-in catalog →
// provider, deployer and workers → API.
import { LogstashShipper } from './logs/logstash.js';
import { ElasticLogReader } from './logs/elastic.js';
import { clusterLogSink } from './logs/ship.js';
import type { ClusterLogSource } from './clusters/index.js';
import { join } from 'node:path';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { Store } from './store/store.js';
import { buildServer } from './api/server.js';
import { Metrics } from './metrics.js';
import { startAuth } from './auth/start.js';
import { requestSerializer } from './auth/redact.js';
import { databaseUrlFromSecrets } from './secrets/database.js';
import { loadBuiltinCatalogIfEmpty } from './catalog.js';
import { parseListen } from './config/load.js';
import type { MichmanConfig } from './config/schema.js';
import type { Provider } from './providers/types.js';
import type { Deployer } from './deploy/types.js';
import { FakeProvider } from './providers/fake.js';
import { NoopDeployer } from './deploy/noop.js';
import { LocalProvider } from './providers/local/index.js';
import { LocalDeployer } from './deploy/local/index.js';
import { Worker } from './engine/worker.js';
import { openstackFromConfig } from './providers/openstack/index.js';
import { nspawnMachinery } from './machinery/nspawn.js';
import { ansibleSettings, ourAnsibleVars } from './machinery/ansibleSettings.js';
import { AnsibleDeployer, catalogTypes } from './deploy/ansible/deployer.js';
import { StoredSshKey } from './deploy/ansible/storedKey.js';
import type { HostKeyPins } from './domain/hostKeys.js';
import { PACKAGE_ROOT } from './paths.js';
import { openSecretStore, type SecretStore } from './secrets/index.js';
import { PeriodicJanitor, storeDirectory } from './engine/janitor.js';
import { sealStoredPasswords, type QuotaCheck } from './clusters/index.js';
import { ExpirySweeper } from './clusters/expiry.js';
import type { ProjectLimits } from './clusters/lifecycle.js';

export interface Running {
  app: FastifyInstance;
  store: Store;
  url: string;
  worker?: Worker;
  log: Logger;
  /** Where the services' passwords are: the API seals given ones there, the workers deploy with them. */
  secrets: SecretStore;
  /**
   * Graceful stop: the API stops accepting and finishes in-flight requests while the worker stops
   * claiming and gives running operations `graceMs` (default: shutdown_grace_seconds) to finish
   * before handing them back; then the database is closed.
   */
  close(graceMs?: number): Promise<void>;
}

export async function openStore(config: MichmanConfig): Promise<Store> {
  // The data directory holds the database, secrets and keys: nobody else's to list (0700).
  if (!existsSync(config.data_dir)) mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const url = config.database_url || (config.storage !== 'sqlite' && config.mysql_key ? await databaseUrlFromSecrets(config.storage, config.mysql_key, openSecretStore(config)) : config.database_url);
  const store = await Store.open({ storage: config.storage, url });
  await store.migrate();
  return store;
}

/**
 * The service's log: JSON lines on stdout and, as the original, appended to
 * `<logs_file_path>/http_server.log` (the API) or `launcher.log` (the workers), which
 * GET /logs/http_server and /logs/launcher serve. A log file that cannot be opened leaves stdout.
 */
export function logger(config: MichmanConfig, file: 'http_server' | 'launcher' = 'http_server'): Logger {
  const opts = {
    level: config.log_level,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-auth-token"]', 'req.headers["x-subject-token"]'],
    serializers: { req: requestSerializer },
  };
  if (!config.logs_file_path || config.log_level === 'silent') return pino(opts);
  const dest = pino.destination({ dest: join(config.logs_file_path, `${file}.log`), append: true, mkdir: true, sync: false });
  logFiles.add(dest);
  dest.on('error', (err: Error) => process.stderr.write(`michman: ${file}.log not written: ${err.message}\n`));
  return pino(opts, pino.multistream([{ stream: process.stdout, level: config.log_level as pino.Level }, { stream: dest, level: config.log_level as pino.Level }]));
}

const logFiles = new Set<{ reopen(): void }>();

/** Reopens the log files (after logrotate moved them): what SIGHUP reloads. */
export function reopenLogFiles(): number {
  for (const f of logFiles) f.reopen();
  return logFiles.size;
}

/**
 * The provider and deployer the config names. `store` keeps what deploys must remember across
 * processes (the cloud nodes' pinned host keys); callers that only use the provider may omit it.
 */
export function machinery(config: MichmanConfig, store?: Pick<Store, 'hostKeys'>): { provider: Provider; deployer: Deployer } {
  if (config.provider === 'fake') return { provider: new FakeProvider({ bootLatencyMs: config.fake_boot_ms, stateDir: config.fake_state_dir || undefined }), deployer: new NoopDeployer() };
  if (config.provider === 'openstack') {
    const provider = openstackFromConfig(config);
    return { provider, deployer: openstackDeployer(config, provider, store?.hostKeys) };
  }
  if (config.provider === 'nspawn') return nspawnMachinery(config, { secretStore: openSecretStore(config) });
  if (config.provider !== 'local') throw new Error(`provider ${config.provider} is not available in this build`);
  if (process.getuid?.() === 0) searchable(config.data_dir);
  return { provider: new LocalProvider({ dataRoot: join(config.data_dir, 'nodes') }), deployer: new LocalDeployer() };
}

/**
 * Run as root, the local provider starts services as their own users (redis, postgres, ...), who
 * must pass through the data directory to their nodes' directories: it becomes 0711, traversable
 * but still unlistable; the database and secrets files in it stay 0600.
 */
function searchable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o011) !== 0o011) chmodSync(dir, mode | 0o011);
  } catch {
    // the provider's own checks name the directory a service user cannot reach
  }
}

/**
 * OpenStack nodes get their services from Ansible over SSH, with the operator's key. With
 * os_reachability: active (a fake hypervisor, or no route to the nodes) nothing can be installed,
 * so clusters with services are refused at POST rather than reported ACTIVE without them.
 */
function openstackDeployer(config: MichmanConfig, provider: Provider, hostKeys?: HostKeyPins): Deployer {
  if (config.os_reachability === 'active') return new MachinesOnlyDeployer();
  const secretStore = openSecretStore(config);
  const secretsDir = join(config.data_dir, 'secrets');
  return new AnsibleDeployer({
    ansibleDir: join(PACKAGE_ROOT, 'ansible'),
    callbackDir: join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
    keys: new StoredSshKey(join(secretsDir, 'ssh_key'), secretStore, config.ssh_key),
    secretsDir,
    secretStore,
    listNodes: (ctx) => provider.listNodes(ctx),
    knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')),
    // Cloud images log in as their own user (the Michman image's AnsibleUser), not root.
    loginAs: 'image-user',
    // Cloud servers' host keys: pinned at first contact, a changed one refused.
    ...(hostKeys ? { hostKeys } : {}),
    taskTimeoutSeconds: config.ansible_task_timeout_seconds,
    settings: ansibleSettings(config),
    extraVars: () => ourAnsibleVars(config),
  });
}

/** Machines without services: the no-op deployer, refusing any service at POST. */
class MachinesOnlyDeployer extends NoopDeployer {
  override async check(services: Array<{ type: string; version: string }> = []): Promise<string[]> {
    return services.map((s) => `service '${s.type}' cannot be installed: os_reachability is active, so Michman does not reach the nodes over SSH`);
  }
}

/** The provider's quota check as the clusters route uses it (cloud providers only). */
export function quotaCheck(config: MichmanConfig, provider: Provider): QuotaCheck | undefined {
  const check = provider.checkQuota?.bind(provider);
  return check ? { check: (plan) => check(plan, AbortSignal.timeout(15_000)), enforce: config.quota_check === 'enforce' } : undefined;
}

const janitors = new WeakMap<Worker, PeriodicJanitor>();
const shippers = new WeakMap<Worker, LogstashShipper>();
const sweepers = new WeakMap<Worker, ExpirySweeper>();
/** How often a process with workers looks for clusters whose TTL is near or past. */
const EXPIRY_SWEEP_MS = 5_000;

/** Stops a worker and the janitor started with it; running operations get graceMs, then are handed back. */
export async function stopWorker(worker: Worker | undefined, graceMs = 0): Promise<void> {
  if (!worker) return;
  await janitors.get(worker)?.stop();
  await sweepers.get(worker)?.stop();
  await worker.stop(graceMs);
  await shippers.get(worker)?.close();
}

export function startWorker(store: Store, config: MichmanConfig, log: Logger, m: { provider: Provider; deployer: Deployer }, secrets: SecretStore = openSecretStore(config), metrics?: Metrics): Worker | undefined {
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
  // logs_output: logstash: every committed event of an operation also goes to Logstash (json_lines over TCP).
  const shipper = config.logs_output === 'logstash' && config.logstash_addr ? new LogstashShipper(config.logstash_addr, { log }) : undefined;
  const worker = new Worker(store, {
    ...m,
    ...(shipper ? { onEvents: clusterLogSink(store, shipper, log) } : {}),
    concurrency: config.workers,
    wakeOnQueued: true,
    leaseMs: s(config.lease_seconds),
    deadlines,
    log,
    secrets,
    healthIntervalMs: s(config.health_interval),
    healthTimeoutMs: Math.min(s(config.health_deadline_seconds), 30_000),
    ...(metrics ? { onClaim: (op: { kind: string; attempt: number; createdAt: number }, now: number) => op.attempt === 1 && metrics.claimed(op.kind, op.createdAt, now) } : {}),
  });
  if (shipper) shippers.set(worker, shipper);
  worker.start();
  if (m.provider.listTaggedClusters && config.janitor_interval_seconds > 0) {
    janitors.set(worker, new PeriodicJanitor(m.provider, storeDirectory(store), { intervalMs: s(config.janitor_interval_seconds), remove: config.janitor_delete, log }).start());
  }
  sweepers.set(worker, new ExpirySweeper({ store, onEnqueue: () => worker.notify() }, { intervalMs: EXPIRY_SWEEP_MS, warnBeforeMs: s(config.cluster_ttl_warning_seconds), log }).start());
  return worker;
}

/** GET /logs/projects/{p}/clusters/{c} through the search API at elastic_addr. */
export function elasticLogSource(addr: string): ClusterLogSource {
  const reader = new ElasticLogReader(addr);
  return { name: 'elasticsearch', read: (clusterId, action, operationId) => reader.read(clusterId, action, operationId) };
}

/** The per-project limits of the config (0 = none). */
export const projectLimits = (config: MichmanConfig): ProjectLimits => ({ maxClusters: config.project_max_clusters, maxNodes: config.project_max_nodes });

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
  const m = machinery(config, store);
  // One secret store for the API (passwords given at POST) and the workers (that deploy with them).
  const secrets = openSecretStore(config);
  const sealed = await sealStoredPasswords(store, secrets);
  if (sealed > 0) log.info({ services: sealed }, 'passwords stored in plain text by an older version moved to the secret store');
  const metrics = new Metrics(store);
  const worker = startWorker(store, config, logger(config, 'launcher'), m, secrets, metrics);
  const app = await buildServer({ store, logger: log, logsDir: config.logs_file_path, bodyLimit: config.body_limit, deployer: m.deployer, onEnqueue: () => worker?.notify(), auth, quota: quotaCheck(config, m.provider), secrets, metrics, metricsToken: config.metrics_token, projectRefsRequired: m.provider.name !== 'local', limits: projectLimits(config), ...(config.elastic_addr ? { logSource: elasticLogSource(config.elastic_addr) } : {}) });
  const { host, port } = parseListen(config.listen);
  const url = await app.listen({ host, port });
  return {
    app,
    store,
    url,
    worker,
    log,
    secrets,
    async close(graceMs = config.shutdown_grace_seconds * 1000) {
      // Both at once: the worker stops claiming at the first moment, requests in flight finish.
      await Promise.all([app.close(), stopWorker(worker, graceMs)]);
      await store.close();
    },
  };
}
