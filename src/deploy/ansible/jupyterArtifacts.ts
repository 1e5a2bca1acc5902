// The wheels the jupyter role installs for JupyterLab (ansible/roles/jupyter/vars/jupyterlab-lock.json,
// written by scripts/jupyter-artifacts/lock.py from pip's resolution and the index's sha256), as the
// nspawn provider's artifact cache fetches them: PyPI's files layout, each with its pinned sha256.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact } from '../../domain/artifacts.js';
import { PYPI_FILES } from './sparkArtifacts.js';

export interface JupyterLabLock {
  requirement: string;
  python: string;
  packages: Array<{ name: string; version: string; path: string; sha256: string }>;
}

export function readJupyterLabLock(ansibleDir: string, version = 'jupyter-lab'): JupyterLabLock {
  const file = version === 'jupyter-notebook-7' ? 'notebook7-lock.json' : 'jupyterlab-lock.json';
  return JSON.parse(readFileSync(join(ansibleDir, 'roles', 'jupyter', 'vars', file), 'utf8')) as JupyterLabLock;
}

/** What a Jupyter service needs in the cache: the locked wheels for jupyter-lab and jupyter-notebook-7 (the lock of that version), nothing otherwise. */
export function jupyterArtifacts(lock: JupyterLabLock, version: string, upstream = PYPI_FILES): Artifact[] {
  if (version !== 'jupyter-lab' && version !== 'jupyter-notebook-7') return [];
  return lock.packages.map((p) => ({ path: `pypi/${p.path}`, url: `${upstream}/${p.path}`, sha256: p.sha256 }));
}
