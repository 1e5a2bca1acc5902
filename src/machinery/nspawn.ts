// The nspawn provider with the Ansible deployer, as `provider: nspawn` in the config sets them up:
// the deployer reaches nodes with the provider's per-cluster key, passes its apt cache to the roles,
// and refuses at POST what the provider cannot do on this host (root, packages).
import { join } from 'node:path';
import type { MichmanConfig } from '../config/schema.js';
import { PACKAGE_ROOT } from '../paths.js';
import { NspawnProvider } from '../providers/nspawn/index.js';
import type { SecretStore } from '../secrets/types.js';
import { AnsibleDeployer, catalogTypes } from '../deploy/ansible/deployer.js';
import { ansibleSettings, ourAnsibleVars, type AnsibleConfig } from './ansibleSettings.js';
import { jvmVersionProblem } from '../deploy/ansible/jvmArtifacts.js';
import { serviceArtifacts } from '../deploy/ansible/serviceArtifacts.js';

type NspawnConfig = Pick<MichmanConfig, 'data_dir' | 'nspawn_network' | 'nspawn_images_dir' | 'nspawn_mirror' | 'nspawn_apt_cache'> &
  Partial<Pick<MichmanConfig, 'ansible_task_timeout_seconds' | 'nspawn_artifacts_dir'>> &
  AnsibleConfig;

/**
 * Services whose role installs the distribution's package: nspawn nodes boot Debian 12 (bookworm),
 * which ships nats-server 2.9 (2.9.10); the nats role refuses any other series on the node, and this
 * refuses it at POST already.
 */
const DEBIAN_12_SERIES: Record<string, { pkg: string; series: string }> = { nats: { pkg: 'nats-server', series: '2.9' } };

export function debianVersionProblem(type: string, version: string): string | undefined {
  const d = DEBIAN_12_SERIES[type];
  if (!d || version === d.series) return undefined;
  return `${type} version '${version}' cannot be installed on nspawn nodes: the ${type} role installs ${d.pkg} from Debian 12, which ships ${d.series}; choose version ${d.series}`;
}

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
    versionProblem: (type, version) => jvmVersionProblem(ansibleDir, type, version) ?? debianVersionProblem(type, version),
    // Nodes reach nothing but the bridge: spark's jars come from the host's artifact cache, filled
    // (downloaded once, checked against the pins) before the role runs.
    beforeDeploy: async (ctx, d) => {
      const setting = (name: string) => d.config[name] || d.params.find((p) => p.ParameterName === name)?.DefaultValue;
      const items = serviceArtifacts(ansibleDir, d.type, d.version, setting);
      if (items.length === 0) return;
      ctx.emit({ level: 'info', phase: 'deploy', service: d.type, message: `artifact cache ${provider.artifacts.root}: ${items.length} file(s) for ${d.type} ${d.version}` });
      await provider.artifacts.fetch(items, (message) => ctx.emit({ level: 'info', phase: 'deploy', service: d.type, message }), ctx.signal);
    },
    extraVars: () => ({
      michman_pypi_mirror: `${provider.artifacts.url}/pypi`,
      michman_npm_mirror: `${provider.artifacts.url}/npm`,
      michman_maven_mirror: `${provider.artifacts.url}/maven2`,
      ...ourAnsibleVars(config),
    }),
    settings: ansibleSettings(config),
    knownTypes: catalogTypes(join(PACKAGE_ROOT, 'catalog')),
    ...(config.ansible_task_timeout_seconds !== undefined ? { taskTimeoutSeconds: config.ansible_task_timeout_seconds } : {}),
  });
  return { provider, deployer };
}
