// Every pinned file a service's role installs, by service type: one entry point over the per-service
// pin files (sparkArtifacts, jupyterArtifacts, jvmArtifacts, cassandraArtifacts, pipLocks), so that
// the nspawn provider's cache (before a deploy) and `michman artifacts fetch` (a warm-up) ask the
// same question and get the same files.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';
import { cassandraArtifacts, cassandraVersionProblem, readCassandraPins } from './cassandraArtifacts.js';
import { jupyterArtifacts, readJupyterLabLock } from './jupyterArtifacts.js';
import { elasticArtifacts, igniteArtifacts, readElasticPins, readIgnitePins } from './jvmArtifacts.js';
import { lockedArtifacts, lockedVersions, lockProblem } from './pipLocks.js';
import { readSparkPins, sparkArtifacts } from './sparkArtifacts.js';

/** A service's settings as the role sees them: the cluster's config, else the catalog default. */
export type Setting = (name: string) => string | undefined;

/** The types whose roles install pinned files (spark's versions are pyspark's, its lines Hadoop's). */
export const PINNED_TYPES = ['spark', 'jupyter', 'elastic', 'ignite', 'cassandra', 'tensorflow', 'jupyterhub'] as const;

/** The versions a type has pins for; undefined when its role installs nothing pinned. */
export function pinnedVersions(ansibleDir: string, type: string): string[] | undefined {
  switch (type) {
    case 'spark':
      return Object.keys(readSparkPins(ansibleDir).pyspark);
    case 'jupyter':
      return ['jupyter-lab', 'jupyter-notebook-7'];
    case 'elastic':
      return Object.keys(readElasticPins(ansibleDir).opensearch);
    case 'ignite':
      return Object.keys(readIgnitePins(ansibleDir).ignite);
    case 'cassandra':
      return Object.keys(readCassandraPins(ansibleDir).cassandra);
    default:
      return lockedVersions(ansibleDir, type);
  }
}

/**
 * The files one service version needs in the cache (empty when its role installs nothing pinned).
 * Spark takes its Hadoop line and YARN switch from the settings; Cassandra brings the Spark
 * Cassandra Connector's jars, which the role puts beside Spark when the cluster has it.
 */
export function serviceArtifacts(ansibleDir: string, type: string, version: string, setting: Setting = () => undefined): Artifact[] {
  switch (type) {
    case 'spark':
      return sparkArtifacts(readSparkPins(ansibleDir), version, setting('hadoop_version') || '3.3', { yarn: (setting('use_yarn') || 'false') === 'true' });
    case 'jupyter':
      return jupyterArtifacts(readJupyterLabLock(ansibleDir, version), version);
    case 'elastic':
      return elasticArtifacts(readElasticPins(ansibleDir), version);
    case 'ignite':
      return igniteArtifacts(readIgnitePins(ansibleDir), version);
    case 'cassandra':
      return cassandraArtifacts(readCassandraPins(ansibleDir), version, { connector: true });
    default:
      return lockedVersions(ansibleDir, type) ? lockedArtifacts(ansibleDir, type, version) : [];
  }
}

/**
 * Why a role cannot install this version on any provider (refused at POST), or undefined: a locked
 * role without a lock for it, or Cassandra's 4.1 line, which needs a Java that Debian 12 lacks.
 * Provider-specific refusals (nspawn installs only what it can fetch) are the machinery's.
 */
export function roleVersionProblem(ansibleDir: string, type: string, version: string): string | undefined {
  if (type === 'cassandra') {
    if (!existsSync(join(ansibleDir, 'roles', 'cassandra', 'vars', 'artifacts.json'))) return undefined;
    return cassandraVersionProblem(readCassandraPins(ansibleDir), version);
  }
  return lockProblem(ansibleDir, type, version);
}
