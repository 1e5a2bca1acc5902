// Hash-pinned installs of PyPI and npm packages for roles that lock them per version
// (ansible/roles/<type>/vars/locks/<version>.json, written by scripts/pip-lock/lock.py; npm programs
// in ansible/roles/<type>/vars/<name>-lock.json, written by scripts/npm-lock/lock.py): which versions a
// role can install, the refusal at POST of the others, and the files the nspawn provider's artifact
// cache must hold (PyPI's and the npm registry's own layouts, each with its pinned checksum).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';
import { PYPI_FILES } from './sparkArtifacts.js';

export const NPM_REGISTRY = 'https://registry.npmjs.org';

export interface PipLock {
  requirement: string;
  python: string;
  packages: Array<{ name: string; version: string; path: string; sha256: string }>;
}

export interface NpmLock {
  package: string;
  version: string;
  packages: Array<{ name: string; version: string; dir: string; tarball: string; sha512: string }>;
}

const locksDir = (ansibleDir: string, type: string) => join(ansibleDir, 'roles', type, 'vars', 'locks');

/** The versions a role has locks for, or undefined when the role does not install from locks. */
export function lockedVersions(ansibleDir: string, type: string): string[] | undefined {
  const dir = locksDir(ansibleDir, type);
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function readPipLock(ansibleDir: string, type: string, version: string): PipLock | undefined {
  const versions = lockedVersions(ansibleDir, type);
  if (!versions?.includes(version)) return undefined;
  return JSON.parse(readFileSync(join(locksDir(ansibleDir, type), `${version}.json`), 'utf8')) as PipLock;
}

export function readNpmLock(ansibleDir: string, type: string, name: string): NpmLock {
  return JSON.parse(readFileSync(join(ansibleDir, 'roles', type, 'vars', `${name}-lock.json`), 'utf8')) as NpmLock;
}

/** Why a version cannot be installed (no lock), or undefined when it can or the role locks nothing. */
export function lockProblem(ansibleDir: string, type: string, version: string): string | undefined {
  const versions = lockedVersions(ansibleDir, type);
  if (versions === undefined || versions.includes(version)) return undefined;
  return `${type} version '${version}' is not pinned: the ${type} role installs only hash-pinned package sets (ansible/roles/${type}/vars/locks/); pinned versions: ${versions.join(', ') || 'none'}`;
}

export function pipLockArtifacts(lock: PipLock, upstream = PYPI_FILES): Artifact[] {
  return lock.packages.map((p) => ({ path: `pypi/${p.path}`, url: `${upstream}/${p.path}`, sha256: p.sha256 }));
}

export function npmLockArtifacts(lock: NpmLock, upstream = NPM_REGISTRY): Artifact[] {
  return lock.packages.map((p) => ({ path: `npm/${p.tarball}`, url: `${upstream}/${p.tarball}`, sha512: p.sha512 }));
}

/** Everything a locked service version needs in the artifact cache (none for a type without locks). */
export function lockedArtifacts(ansibleDir: string, type: string, version: string): Artifact[] {
  const lock = readPipLock(ansibleDir, type, version);
  if (!lock) return [];
  const items = pipLockArtifacts(lock);
  if (type === 'jupyterhub') items.push(...npmLockArtifacts(readNpmLock(ansibleDir, type, 'chp')));
  return items;
}
