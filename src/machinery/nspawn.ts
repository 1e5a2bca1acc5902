// The nspawn provider with the Ansible deployer, as `provider: nspawn` in the config sets them up:
// the deployer reaches nodes with the provider's per-cluster key, passes its apt cache to the roles,
// and refuses at POST what the provider cannot do on this host (root, packages).
import { join } from 'node:path';
import type { MichmanConfig } from '../config/schema.js';
import { PACKAGE_ROOT } from '../paths.js';
import { NspawnProvider } from '../providers/nspawn/index.js';
import type { SecretStore } from '../secrets/types.js';
import { AnsibleDeployer, catalogTypes } from '../deploy/ansible/deployer.js';
import { readSparkPins, sparkArtifacts } from '../deploy/ansible/sparkArtifacts.js';
import { ansibleSettings, ourAnsibleVars, type AnsibleConfig } from './ansibleSettings.js';
import { jupyterArtifacts, readJupyterLabLock } from '../deploy/ansible/jupyterArtifacts.js';
import { cassandraArtifacts, readCassandraPins } from '../deploy/ansible/cassandraArtifacts.js';

type NspawnConfig = Pick<MichmanConfig, 'data_dir' | 'nspawn_network' | 'nspawn_images_dir' | 'nspawn_mirror' | 'nspawn_apt_cache'> &
  Partial<Pick<MichmanConfig, 'ansible_task_timeout_seconds' | 'nspawn_artifacts_dir'>> &
  AnsibleConfig;

export function nspawnMachinery(
  config: NspawnConfig,
  opts: { secretStore?: SecretStore; ansibleDir?: string } = {},
): { provider: NspawnProvider; deployer: AnsibleDeployer } {
  const secretsDir = join(config.data_dir, 'secrets');
  const provider = new NspawnProvider({
    dir: join(config.data_dir, 'nspawn'),
    ...(config.nspawn_images_dir ? { imagesDir: config.nspawn_images_dir } : {}),
    secretsDir,
    ...(opts.secretStore ? { secretStore: opts.secretStore } : {}),
    network: config.nspawn_network,
    ...(config.nspawn_mirror ? { mirror: config.nspawn_mirror } : {}),
    aptCache: config.nspawn_apt_cache,
    ...(config.nspawn_artifacts_dir ? { artifactsDir: config.nspawn_artifacts_dir } : {}),
  });
  const ansibleDir = opts.ansibleDir ?? join(PACKAGE_ROOT, 'ansible');
  const deployer = new AnsibleDeployer({
    ansibleDir,
    callbackDir: join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
    keys: provider.keys,
    secretsDir,
    ...(opts.secretStore ? { secretStore: opts.secretStore } : {}),
    listNodes: (ctx) => provider.listNodes(ctx),
    aptProxy: () => provider.aptProxyUrl(),
    preflight: () => provider.problems(),
    // Nodes reach nothing but the bridge: spark's jars come from the host's artifact cache, filled
    // (downloaded once, checked against the pins) before the role runs.
    beforeDeploy: async (ctx, d) => {
      if (d.type === 'jupyter') {
        const wheels = jupyterArtifacts(readJupyterLabLock(ansibleDir), d.version);
        if (wheels.length === 0) return;
        ctx.emit({ level: 'info', phase: 'deploy', service: 'jupyter', message: `artifact cache ${provider.artifacts.root}: ${wheels.length} wheel(s) for ${d.version}` });
        await provider.artifacts.fetch(wheels, (message) => ctx.emit({ level: 'info', phase: 'deploy', service: 'jupyter', message }), ctx.signal);
        return;
      }
      if (d.type === 'cassandra') {
        // With the connector's jars: the role puts them beside Spark when the cluster has it.
        const items = cassandraArtifacts(readCassandraPins(ansibleDir), d.version, { connector: true });
        ctx.emit({ level: 'info', phase: 'deploy', service: 'cassandra', message: `artifact cache ${provider.artifacts.root}: ${items.length} file(s) for Cassandra ${d.version}` });
        await provider.artifacts.fetch(items, (message) => ctx.emit({ level: 'info', phase: 'deploy', service: 'cassandra', message }), ctx.signal);
        return;
      }
      if (d.type !== 'spark') return;
      const line = d.config.hadoop_version || d.params.find((p) => p.ParameterName === 'hadoop_version')?.DefaultValue || '3.3';
      const yarn = (d.config.use_yarn || d.params.find((p) => p.ParameterName === 'use_yarn')?.DefaultValue || 'false') === 'true';
      const items = sparkArtifacts(readSparkPins(ansibleDir), d.version, line, { yarn });
      ctx.emit({ level: 'info', phase: 'deploy', service: 'spark', message: `artifact cache ${provider.artifacts.root}: ${items.length} file(s) for Spark ${d.version} with Hadoop ${line}` });
      await provider.artifacts.fetch(items, (message) => ctx.emit({ level: 'info', phase: 'deploy', service: 'spark', message }), ctx.signal);
    },
    extraVars: () => ({
      michman_pypi_mirror: `${provider.artifacts.url}/pypi`,
      michman_maven_mirror: `${provider.artifacts.url}/maven2`,
      ...ourAnsibleVars(config),
    }),
    settings: ansibleSettings(config),
    knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')),
    ...(config.ansible_task_timeout_seconds !== undefined ? { taskTimeoutSeconds: config.ansible_task_timeout_seconds } : {}),
  });
  return { provider, deployer };
}
