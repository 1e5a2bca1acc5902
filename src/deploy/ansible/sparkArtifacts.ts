// The files the spark role installs from the registries (ansible/roles/spark/vars/artifacts.json,
// written by scripts/spark-artifacts/pins.py from PyPI's and Maven Central's own checksums), as
// the nspawn provider's artifact cache fetches them: the pyspark sdist of the Spark version and the
// HDFS class path of the Hadoop line, each with its upstream URL and pinned checksum.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';

export const PYPI_FILES = 'https://files.pythonhosted.org/packages';
export const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

interface Pins {
  pyspark: Record<string, { file: string; path: string; sha256: string; size: number }>;
  hadoop: Record<string, { version: string; jars: Array<{ path: string; sha1: string }>; yarn_jars?: Array<{ path: string; sha1: string }> }>;
}

export function readSparkPins(ansibleDir: string): Pins {
  return JSON.parse(readFileSync(join(ansibleDir, 'roles', 'spark', 'vars', 'artifacts.json'), 'utf8')) as Pins;
}

/** What a Spark service needs in the cache; throws, naming the choice, when nothing is pinned for it. */
export function sparkArtifacts(pins: Pins, sparkVersion: string, hadoopLine: string, opts: { yarn?: boolean } = {}, upstream = { pypi: PYPI_FILES, maven: MAVEN_CENTRAL }): Artifact[] {
  const sdist = pins.pyspark[sparkVersion];
  if (!sdist) throw new Error(`spark ${sparkVersion}: no pinned pyspark sdist (pinned: ${Object.keys(pins.pyspark).join(', ')})`);
  const hadoop = pins.hadoop[hadoopLine];
  if (!hadoop) throw new Error(`spark hadoop_version ${hadoopLine}: no pinned Hadoop jars (pinned: ${Object.keys(pins.hadoop).join(', ')})`);
  return [
    { path: `pypi/${sdist.path}`, url: `${upstream.pypi}/${sdist.path}`, sha256: sdist.sha256 },
    ...[...hadoop.jars, ...(opts.yarn ? (hadoop.yarn_jars ?? []) : [])].map((j) => ({ path: `maven2/${j.path}`, url: `${upstream.maven}/${j.path}`, sha1: j.sha1 })),
  ];
}
