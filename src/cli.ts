#!/usr/bin/env node
// The `michman` command: serve, worker, janitor, migrate, catalog import; and the HTTP client (src/client/).
import { Command } from 'commander';
import { loadConfig, ConfigError } from './config/load.js';
import { serve, openStore, logger, machinery, startWorker, stopWorker } from './app.js';
import { onShutdownSignals } from './lifecycle.js';
import { runJanitor, storeDirectory } from './engine/janitor.js';
import { importCatalogFiles } from './catalog.js';
import { VERSION } from './version.js';
import { nspawnMachinery } from './machinery/nspawn.js';
import { readSparkPins } from './deploy/ansible/sparkArtifacts.js';
import { pinnedVersions, serviceArtifacts, PINNED_TYPES } from './deploy/ansible/serviceArtifacts.js';
import type { Artifact } from './domain/artifacts.js';
import { PACKAGE_ROOT } from './paths.js';
import { join } from 'node:path';
import { issueApiToken, tokenRepo } from './auth/tokens.js';
import { registerClientCommands } from './client/index.js';
import { openSecretStore } from './secrets/index.js';
import { sealStoredPasswords } from './clusters/index.js';

const program = new Command('michman').version(VERSION).description('Clusters of services in your cloud project');
program.option('-c, --config <file>', 'YAML configuration file (default: configs/config.yaml when it exists)');

const config = (overrides: Record<string, unknown> = {}) => loadConfig({ configPath: program.opts().config, overrides });

program
  .command('serve')
  .description('run the API and the workers')
  .option('--listen <host:port>', 'address to listen on (config key listen)')
  .option('--data-dir <dir>', 'data directory (config key data_dir)')
  .option('--workers <n>', 'operations run at once in this process; 0 = API only (config key workers)')
  .action(async (o: { listen?: string; dataDir?: string; workers?: string }) => {
    const cfg = config({ listen: o.listen, data_dir: o.dataDir, workers: o.workers });
    const running = await serve(cfg);
    // Signals are handled before the process says it is ready: a SIGHUP or SIGTERM sent as soon as
    // it says so would otherwise meet the default action and end it at once.
    onShutdownSignals(running.log, cfg.shutdown_grace_seconds, (graceMs) => running.close(graceMs));
    process.stderr.write(`michman ${VERSION} listening on ${running.url}\n`);
  });

program
  .command('worker')
  .description('run workers only (no API), sharing the database with `michman serve --workers 0` replicas')
  .action(async () => {
    const cfg = config();
    const store = await openStore(cfg);
    const secrets = openSecretStore(cfg);
    await sealStoredPasswords(store, secrets);
    const worker = startWorker(store, { ...cfg, workers: Math.max(1, cfg.workers) }, logger(cfg, 'launcher'), machinery(cfg, store), secrets);
    onShutdownSignals(logger(cfg, 'launcher'), cfg.shutdown_grace_seconds, async (graceMs) => {
      await stopWorker(worker, graceMs);
      await store.close();
    });
    process.stderr.write(`michman worker ${worker?.id ?? ''} started\n`);
  });

program
  .command('janitor')
  .description('list cloud resources tagged for clusters that no longer exist (exit code 1 when there are any); --delete removes them')
  .option('--delete', 'remove the leaked resources')
  .action(async (o: { delete?: boolean }) => {
    const cfg = config();
    const { provider } = machinery(cfg);
    if (!provider.listTaggedClusters) {
      process.stdout.write(`provider ${provider.name} tags no cloud resources: nothing to check\n`);
      return;
    }
    const store = await openStore(cfg);
    try {
      const r = await runJanitor(provider, storeDirectory(store), { delete: o.delete, signal: AbortSignal.timeout(30 * 60_000) });
      for (const x of r.orphans) {
        process.stdout.write(`cluster ${x.clusterId} (gone): ${x.resources.length} resource(s)\n`);
        for (const res of x.resources) process.stdout.write(`  ${res}\n`);
      }
      for (const id of r.removed) process.stdout.write(`removed the resources of cluster ${id}\n`);
      for (const f of r.failed) process.stdout.write(`FAILED to remove the resources of cluster ${f.clusterId}: ${f.error}\n`);
      if (r.orphans.length === 0) process.stdout.write('no leaked resources\n');
      process.exitCode = r.failed.length > 0 || (!o.delete && r.orphans.length > 0) ? 1 : 0;
    } finally {
      await store.close();
    }
  });

program
  .command('migrate')
  .description('create or upgrade the database schema, then exit')
  .action(async () => {
    const store = await openStore(config());
    await store.close();
    process.stdout.write('database schema is up to date\n');
  });

program
  .command('catalog')
  .description('service catalog tools')
  .command('import')
  .argument('<files...>', 'service-type JSON files in the original Michman format')
  .description('load service types from files (dependencies first); existing types are reported, not changed')
  .action(async (files: string[]) => {
    const store = await openStore(config());
    try {
      const results = await importCatalogFiles(store, files);
      for (const r of results) {
        process.stdout.write(r.error ? `FAILED ${r.source}: ${r.error}\n` : `imported ${r.type} from ${r.source}\n`);
      }
      if (results.some((r) => r.error)) process.exitCode = 1;
    } finally {
      await store.close();
    }
  });

program
  .command('machines')
  .description("the nspawn provider's machines on this host")
  .command('image')
  .description("the image nspawn nodes boot from")
  .command('build')
  .description('build it with debootstrap (about 75 s, once per host) unless a usable one is cached; prints its directory')
  .action(async () => {
    const { provider } = nspawnMachinery(config());
    const problems = await provider.problems();
    if (problems.length > 0) throw new Error(problems.join('; '));
    const root = await provider.buildImage((line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`${root}\n`);
  });

program
  .command('artifacts')
  .description("the nspawn provider's artifact cache (files nodes install from PyPI and Maven Central)")
  .command('fetch')
  .argument('<type>', `service type (${PINNED_TYPES.join(', ')})`)
  .option('--spark-version <v>', 'spark version (default: every pinned version)')
  .option('--hadoop-version <line>', 'spark: Hadoop line 3.3 or 3.4 (default: every pinned line)')
  .option('--service-version <v>', 'any other type: the version (default: every pinned version)')
  .description('download into nspawn_artifacts_dir, and check against the pins, what a service needs (a cache warm-up; deploys do it on demand)')
  .action(async (type: string, o: { sparkVersion?: string; hadoopVersion?: string; serviceVersion?: string }) => {
    const ansibleDir = join(PACKAGE_ROOT, 'ansible');
    const pinned = pinnedVersions(ansibleDir, type);
    if (!pinned) throw new Error(`no artifacts are pinned for '${type}' (${PINNED_TYPES.join(', ')})`);
    const { provider } = nspawnMachinery(config());
    // Every pinned version (or the one asked for), and for spark every Hadoop line with YARN's jars;
    // each file once (tensorflow's big wheel is kept once per host).
    const items = new Map<string, Artifact>();
    const lines = type === 'spark' ? (o.hadoopVersion ? [o.hadoopVersion] : Object.keys(readSparkPins(ansibleDir).hadoop)) : [''];
    const asked = type === 'spark' ? o.sparkVersion : o.serviceVersion;
    for (const v of asked ? [asked] : pinned) {
      for (const line of lines) {
        const setting = (name: string): string | undefined => ({ hadoop_version: line, use_yarn: 'true' } as Record<string, string>)[name];
        for (const a of serviceArtifacts(ansibleDir, type, v, setting)) items.set(a.path, a);
      }
    }
    await provider.artifacts.fetch([...items.values()], (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`${provider.artifacts.root}: ${items.size} file(s) present and checked\n`);
  });

const token = program.command('token').description('API tokens, created straight in the database (e.g. the first admin\'s, before any login)');
token
  .command('create')
  .requiredOption('--user <id>', 'the user the token acts as')
  .option('--groups <list>', 'comma-separated groups (include admin_group for an admin token)', '')
  .option('--name <name>', 'a name to recognise it by', 'cli')
  .option('--days <n>', 'expires after n days (default: never)')
  .description('create an API token; prints it once on stdout')
  .action(async (o: { user: string; groups: string; name: string; days?: string }) => {
    const days = o.days === undefined ? undefined : Number(o.days);
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) throw new Error('--days must be an integer from 1 to 3650');
    const store = await openStore(config());
    try {
      const groups = o.groups.split(',').map((g) => g.trim()).filter(Boolean);
      const { token: t, record } = await issueApiToken(tokenRepo(store), { userId: o.user, groups, name: o.name, expiresInDays: days });
      process.stderr.write(`token ${record.id} for ${o.user} created; it is shown once:\n`);
      process.stdout.write(`${t}\n`);
    } finally {
      await store.close();
    }
  });
token
  .command('list')
  .requiredOption('--user <id>', 'whose tokens')
  .description("list a user's tokens (never the tokens themselves)")
  .action(async (o: { user: string }) => {
    const store = await openStore(config());
    try {
      for (const t of await tokenRepo(store).listByUser(o.user)) {
        const state = t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'active';
        process.stdout.write(`${t.id}\t${t.name}\t${state}\t${t.groups.join(',')}\n`);
      }
    } finally {
      await store.close();
    }
  });
token
  .command('revoke')
  .argument('<id>', 'token ID (from create or list)')
  .description('revoke a token')
  .action(async (id: string) => {
    const store = await openStore(config());
    try {
      const repo = tokenRepo(store);
      if (!(await repo.get(id))) throw new Error(`token ${id} does not exist`);
      await repo.revoke(id, Date.now());
      process.stdout.write(`token ${id} revoked\n`);
    } finally {
      await store.close();
    }
  });

registerClientCommands(program);

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`michman: configuration error: ${err.message}\n`);
  else process.stderr.write(`michman: ${(err as Error).message}\n`);
  process.exit(2);
});
