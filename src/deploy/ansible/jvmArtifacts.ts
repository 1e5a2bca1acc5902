// The files the elastic (OpenSearch) and ignite roles install from Maven Central
// (ansible/roles/{elastic,ignite}/vars/artifacts.json, written by scripts/jvm-artifacts/pins.py
// from Maven Central's own .sha512/.sha1 files), as the nspawn provider's artifact cache fetches
// them: the Maven repository layout, each with its pinned checksum.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';
import { MAVEN_CENTRAL } from './sparkArtifacts.js';

export interface ElasticPins {
  opensearch: Record<string, { path: string; sha512: string }>;
}
export interface IgnitePins {
  ignite: Record<string, { jars: Array<{ path: string; sha1: string }> }>;
}

function read<T>(ansibleDir: string, role: string): T | undefined {
  const file = join(ansibleDir, 'roles', role, 'vars', 'artifacts.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

export const readElasticPins = (ansibleDir: string) => read<ElasticPins>(ansibleDir, 'elastic') ?? { opensearch: {} };
export const readIgnitePins = (ansibleDir: string) => read<IgnitePins>(ansibleDir, 'ignite') ?? { ignite: {} };

/** OpenSearch's minimal distribution zip of a version; throws, naming it, when it is not pinned. */
export function elasticArtifacts(pins: ElasticPins, version: string, maven = MAVEN_CENTRAL): Artifact[] {
  const z = pins.opensearch[version];
  if (!z) throw new Error(`elastic ${version}: no pinned OpenSearch distribution (pinned: ${Object.keys(pins.opensearch).join(', ') || 'none'})`);
  return [{ path: `maven2/${z.path}`, url: `${maven}/${z.path}`, sha512: z.sha512 }];
}

/** An Ignite server node's class path of a version; throws, naming it, when it is not pinned. */
export function igniteArtifacts(pins: IgnitePins, version: string, maven = MAVEN_CENTRAL): Artifact[] {
  const v = pins.ignite[version];
  if (!v) throw new Error(`ignite ${version}: no pinned jars (pinned: ${Object.keys(pins.ignite).join(', ') || 'none'})`);
  return v.jars.map((j) => ({ path: `maven2/${j.path}`, url: `${maven}/${j.path}`, sha1: j.sha1 }));
}

/**
 * Why a version cannot be deployed from the pins (undefined when it can): what the deployer
 * answers at POST and in GET /configs' DeployableReason. OpenSearch 3.x needs Java 21, which the
 * nodes' Debian 12 does not carry.
 */
export function jvmVersionProblem(ansibleDir: string, type: string, version: string): string | undefined {
  if (type === 'elastic') {
    const pins = readElasticPins(ansibleDir);
    if (!pins.opensearch[version]) return `elastic version ${version} cannot be deployed: no OpenSearch distribution is pinned for it (pinned: ${Object.keys(pins.opensearch).join(', ') || 'none'})`;
    if (Number(version.split('.')[0]) >= 3) return `elastic version ${version} cannot be deployed: OpenSearch 3.x needs Java 21, and the nodes' Debian 12 offers Java 17 (use 2.19.3)`;
  }
  if (type === 'ignite') {
    const pins = readIgnitePins(ansibleDir);
    if (!pins.ignite[version]) return `ignite version ${version} cannot be deployed: no Ignite jars are pinned for it (pinned: ${Object.keys(pins.ignite).join(', ') || 'none'})`;
  }
  return undefined;
}
