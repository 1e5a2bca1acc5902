#!/usr/bin/env python3
"""Writes the lock of an npm program the nodes run without npm (configurable-http-proxy for
JupyterHub): npm resolves the package and its dependencies (`npm install --package-lock-only`, no
download, no scripts), and every package is written with its place in node_modules, its tarball
under the registry and the sha512 of the registry's `integrity` (as hex). The jupyterhub role unpacks
exactly these tarballs, each checked by that sha512; the nspawn provider's artifact cache fetches the
same list.

  python3 scripts/npm-lock/lock.py ansible/roles/jupyterhub/vars/chp-lock.json configurable-http-proxy 4.6.3
"""
import base64
import json
import os
import subprocess
import sys
import tempfile


def main() -> None:
    out, name, version = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'package.json'), 'w') as f:
            json.dump({'name': 'michman-lock', 'version': '1.0.0', 'private': True, 'dependencies': {name: version}}, f)
        subprocess.run(['npm', 'install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], cwd=tmp, check=True)
        with open(os.path.join(tmp, 'package-lock.json')) as f:
            lock = json.load(f)
    packages = []
    for where, p in sorted(lock['packages'].items()):
        if not where:
            continue
        if p.get('hasInstallScript'):
            raise SystemExit(f'{where}: has an install script; unpacking its tarball would not install it')
        pkg = where.rsplit('node_modules/', 1)[1]
        algo, b64 = p['integrity'].split('-', 1)
        if algo != 'sha512':
            raise SystemExit(f'{where}: integrity {algo}, not sha512')
        base = pkg.split('/')[-1]
        packages.append({'name': pkg, 'version': p['version'], 'dir': where,
                         'tarball': f"{pkg}/-/{base}-{p['version']}.tgz", 'sha512': base64.b64decode(b64).hex()})
    with open(out, 'w') as f:
        json.dump({'package': name, 'version': version, 'registry': 'https://registry.npmjs.org', 'packages': packages}, f, indent=1)
        f.write('\n')
    print(f'{out}: {name} {version} and {len(packages) - 1} dependencies')


if __name__ == '__main__':
    main()
