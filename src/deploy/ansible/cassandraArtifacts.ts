// The files the cassandra role installs from Maven (ansible/roles/cassandra/vars/artifacts.json,
// written by scripts/cassandra-artifacts/lock.py from Maven Central's own .sha1 files), as the
// nspawn provider's artifact cache fetches them: Cassandra's run-time class path of the version and
// the Spark Cassandra Connector's jars, each with its upstream URL and pinned SHA-1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';
import { MAVEN_CENTRAL } from './sparkArtifacts.js';

interface Jar {
  path: string;
  sha1: string;
}
export interface CassandraPins {
  cassandra: Record<string, { jars: Jar[]; archive: { url: string; sha512_url: string } }>;
  connector: { version: string; jars: Jar[] };
}

export function readCassandraPins(ansibleDir: string): CassandraPins {
  return JSON.parse(readFileSync(join(ansibleDir, 'roles', 'cassandra', 'vars', 'artifacts.json'), 'utf8')) as CassandraPins;
}

/** Why a Cassandra version cannot be deployed by the role, or undefined when it can. */
export function cassandraVersionProblem(pins: CassandraPins, version: string): string | undefined {
  if (pins.cassandra[version]) return undefined;
  return `cassandra ${version} is not deployable here: the 4.1 line needs Java 8 or 11, which Debian 12 does not package; choose ${Object.keys(pins.cassandra).join(' or ')}`;
}

/** What a Cassandra service needs in the cache; throws, naming the version, when nothing is pinned for it. */
export function cassandraArtifacts(pins: CassandraPins, version: string, opts: { connector?: boolean } = {}, maven = MAVEN_CENTRAL): Artifact[] {
  const problem = cassandraVersionProblem(pins, version);
  if (problem) throw new Error(problem);
  const jars = [...pins.cassandra[version]!.jars, ...(opts.connector ? pins.connector.jars : [])];
  return jars.map((j) => ({ path: `maven2/${j.path}`, url: `${maven}/${j.path}`, sha1: j.sha1 }));
}
