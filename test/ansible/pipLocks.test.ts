// The hash-pinned package sets of the jupyterhub and tensorflow roles (vars/locks/<version>.json,
// vars/chp-lock.json): well-formed pins, what the artifact cache fetches, and the refusal at POST of
// a version that has no lock.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { lockedArtifacts, lockedVersions, lockProblem, readNpmLock, readPipLock } from '../../src/deploy/ansible/pipLocks.js';
import { jupyterArtifacts, readJupyterLabLock } from '../../src/deploy/ansible/jupyterArtifacts.js';
import { loadConfig } from '../../src/config/load.js';
import { machinery } from '../../src/app.js';

const ANSIBLE = join(PACKAGE_ROOT, 'ansible');
const catalog = (type: string) => JSON.parse(readFileSync(join(PACKAGE_ROOT, 'catalog', `${type}.json`), 'utf8')) as { DefaultVersion: string; Versions: Array<{ Version: string }> };

describe('pip and npm locks of the jupyterhub and tensorflow roles', () => {
  it('lists the locked versions; roles without locks have none to refuse', () => {
    expect(lockedVersions(ANSIBLE, 'tensorflow')).toEqual(['2.20.0']);
    expect(lockedVersions(ANSIBLE, 'jupyterhub')).toEqual(['5.3.0', '5.4.3']);
    expect(lockedVersions(ANSIBLE, 'redis')).toBeUndefined();
    expect(lockProblem(ANSIBLE, 'redis', 'anything')).toBeUndefined();
  });

  it("locks the catalog's default versions and every JupyterHub version", () => {
    expect(lockedVersions(ANSIBLE, 'tensorflow')).toContain(catalog('tensorflow').DefaultVersion);
    expect(lockedVersions(ANSIBLE, 'jupyterhub')).toEqual(catalog('jupyterhub').Versions.map((v) => v.Version).sort());
  });

  it('refuses a version without a lock, naming it and the pinned ones', () => {
    expect(lockProblem(ANSIBLE, 'tensorflow', '2.20.0')).toBeUndefined();
    expect(lockProblem(ANSIBLE, 'tensorflow', '2.19.0')).toBe(
      "tensorflow version '2.19.0' is not pinned: the tensorflow role installs only hash-pinned package sets (ansible/roles/tensorflow/vars/locks/); pinned versions: 2.20.0",
    );
  });

  it('pins every wheel by sha256 on PyPI for CPython 3.11, the requested package at its version', () => {
    for (const [type, version, pkg] of [['tensorflow', '2.20.0', 'tensorflow_cpu'], ['jupyterhub', '5.4.3', 'jupyterhub'], ['jupyterhub', '5.3.0', 'jupyterhub']] as const) {
      const lock = readPipLock(ANSIBLE, type, version)!;
      expect(lock.python).toBe('3.11');
      expect(lock.packages.find((p) => p.name.toLowerCase().replace(/-/g, '_') === pkg)?.version).toBe(version);
      for (const p of lock.packages) {
        expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(p.path).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{60}\/[^/]+\.whl$/);
        expect(p.path).toMatch(/-(py3|py2\.py3|cp311|cp310|cp39|cp38|cp37)-(none|cp311|abi3)-(any|manylinux[^/]*x86_64|linux_x86_64)\.whl$/);
      }
    }
  });

  it("resolves JupyterHub with JupyterLab's locked versions, so the single-user extras change nothing of JupyterLab", () => {
    const lab = new Map(readJupyterLabLock(ANSIBLE).packages.map((p) => [p.name.toLowerCase(), p]));
    for (const v of ['5.4.3', '5.3.0']) {
      for (const p of readPipLock(ANSIBLE, 'jupyterhub', v)!.packages) {
        const l = lab.get(p.name.toLowerCase());
        if (l) expect({ name: p.name, version: p.version, sha256: p.sha256 }).toEqual({ name: p.name, version: l.version, sha256: l.sha256 });
      }
    }
  });

  it("pins Notebook 7 (jupyter-notebook-7) by sha256 with JupyterLab's locked versions", () => {
    const nb = readJupyterLabLock(ANSIBLE, 'jupyter-notebook-7');
    expect(nb.packages.find((p) => p.name.toLowerCase() === 'notebook')?.version).toMatch(/^7\./);
    const lab = new Map(readJupyterLabLock(ANSIBLE).packages.map((p) => [p.name.toLowerCase(), p.sha256]));
    for (const p of nb.packages) {
      expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (lab.has(p.name.toLowerCase())) expect(p.sha256).toBe(lab.get(p.name.toLowerCase()));
    }
    expect(jupyterArtifacts(nb, 'jupyter-notebook-7').length).toBe(nb.packages.length);
    expect(jupyterArtifacts(nb, 'jupyter-notebook')).toEqual([]);
  });

  it('pins configurable-http-proxy and its dependencies by the registry sha512, each at its node_modules place', () => {
    const chp = readNpmLock(ANSIBLE, 'jupyterhub', 'chp');
    expect(chp.packages.find((p) => p.dir === 'node_modules/configurable-http-proxy')?.version).toBe('4.6.3');
    expect(new Set(chp.packages.map((p) => p.dir)).size).toBe(chp.packages.length);
    for (const p of chp.packages) {
      expect(p.sha512).toMatch(/^[0-9a-f]{128}$/);
      expect(p.dir.endsWith(`node_modules/${p.name}`)).toBe(true);
      expect(p.tarball).toBe(`${p.name}/-/${p.name.split('/').pop()}-${p.version}.tgz`);
    }
  });

  it('gives the artifact cache the wheels (and the npm tarballs for jupyterhub) with their pins', () => {
    const tf = lockedArtifacts(ANSIBLE, 'tensorflow', '2.20.0');
    const wheel = tf.find((a) => a.path.includes('/tensorflow_cpu-2.20.0-cp311-'))!;
    expect(wheel.url).toBe(`https://files.pythonhosted.org/packages/${wheel.path.slice('pypi/'.length)}`);
    expect(wheel.sha256).toMatch(/^[0-9a-f]{64}$/);
    const hub = lockedArtifacts(ANSIBLE, 'jupyterhub', '5.4.3');
    expect(hub.find((a) => a.path === 'npm/configurable-http-proxy/-/configurable-http-proxy-4.6.3.tgz')).toMatchObject({
      url: 'https://registry.npmjs.org/configurable-http-proxy/-/configurable-http-proxy-4.6.3.tgz',
      sha512: expect.stringMatching(/^[0-9a-f]{128}$/),
    });
    expect(lockedArtifacts(ANSIBLE, 'tensorflow', '2.19.0')).toEqual([]);
  });
});

describe('the ansible deployer at POST', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'michman-piplocks-'));
    writeFileSync(
      join(dir, 'clouds.yaml'),
      'clouds:\n  t:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: p\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: R\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a tensorflow or jupyterhub version without a lock, by name, and passes the locked ones', async () => {
    const config = loadConfig({ env: {}, cwd: dir, overrides: { provider: 'openstack', data_dir: dir, os_cloud: 't', os_clouds_file: join(dir, 'clouds.yaml'), virtual_network: 'net' } });
    const { deployer } = machinery(config);
    const problems = await deployer.check([
      { type: 'tensorflow', version: '2.19.0' },
      { type: 'jupyterhub', version: '1.0.0' },
      { type: 'tensorflow', version: '2.20.0' },
      { type: 'jupyterhub', version: '5.4.3' },
    ]);
    const pins = problems.filter((p) => p.includes('is not pinned'));
    expect(pins).toEqual([expect.stringContaining("tensorflow version '2.19.0' is not pinned"), expect.stringContaining("jupyterhub version '1.0.0' is not pinned")]);
  });
});
