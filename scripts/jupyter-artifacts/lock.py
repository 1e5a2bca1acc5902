#!/usr/bin/env python3
"""Writes ansible/roles/jupyter/vars/jupyterlab-lock.json: JupyterLab 4 and every package it needs,
resolved by pip for the node's interpreter (CPython 3.11, Debian 12) on linux x86_64, each wheel
with the sha256 the package index publishes for it (read from pip's installation report, never typed
in by hand). The jupyter role installs exactly these files with `pip install --require-hashes
--no-deps`; the nspawn provider's artifact cache fetches and checks the same list.

Run from anywhere with network access to pypi.org (pip of any Python 3 that has `--report`):
  python3 scripts/jupyter-artifacts/lock.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'ansible', 'roles', 'jupyter', 'vars', 'jupyterlab-lock.json')
REQUIREMENT = 'jupyterlab>=4,<5'
PYTHON = '3.11'
PLATFORMS = ['manylinux2014_x86_64', 'manylinux_2_17_x86_64', 'manylinux_2_28_x86_64', 'linux_x86_64']
FILES = 'https://files.pythonhosted.org/packages/'


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, 'report.json')
        cmd = [sys.executable, '-m', 'pip', 'install', '--quiet', '--dry-run', '--ignore-installed', '--report', report,
               '--target', os.path.join(tmp, 't'), '--only-binary=:all:', '--python-version', PYTHON,
               '--implementation', 'cp', '--abi', 'cp' + PYTHON.replace('.', '')]
        for p in PLATFORMS:
            cmd += ['--platform', p]
        subprocess.run(cmd + [REQUIREMENT], check=True)
        with open(report) as f:
            installs = json.load(f)['install']
    packages = []
    for i in installs:
        info = i['download_info']
        url = info['url']
        if not url.startswith(FILES):
            raise SystemExit(f'{url}: not on {FILES}')
        hashes = info['archive_info'].get('hashes') or dict([info['archive_info']['hash'].split('=', 1)])
        packages.append({
            'name': i['metadata']['name'],
            'version': i['metadata']['version'],
            'path': url[len(FILES):],
            'sha256': hashes['sha256'],
        })
    packages.sort(key=lambda p: p['name'].lower())
    lock = {
        'requirement': REQUIREMENT,
        'python': PYTHON,
        'platforms': PLATFORMS,
        'packages': packages,
    }
    with open(OUT, 'w') as f:
        json.dump(lock, f, indent=1)
        f.write('\n')
    jl = next(p for p in packages if p['name'].lower() == 'jupyterlab')
    print(f'{OUT}: jupyterlab {jl["version"]} and {len(packages) - 1} dependencies')


if __name__ == '__main__':
    main()
