#!/usr/bin/env python3
"""Writes the lock of one service version: the requirements and every package they need, resolved
by pip for the nodes' interpreter (CPython 3.11, Debian 12) on linux x86_64, each wheel with the
sha256 the package index publishes for it (read from pip's installation report, never typed in by
hand). Roles install exactly these files with `pip install --require-hashes --no-deps`; the nspawn
provider's artifact cache fetches and checks the same list. A version without a lock file is refused
at POST (src/deploy/ansible/pipLocks.ts).

  python3 scripts/pip-lock/lock.py OUT.json 'tensorflow-cpu==2.20.0' numpy pandas
  python3 scripts/pip-lock/lock.py OUT.json 'jupyterhub==5.4.3' --constraints-from ansible/roles/jupyter/vars/jupyterlab-lock.json

--constraints-from keeps every package another lock already pins at that lock's version (the
JupyterHub single-user server shares the jupyter service's virtualenv).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PYTHON = '3.11'
PLATFORMS = ['manylinux2014_x86_64', 'manylinux_2_17_x86_64', 'manylinux_2_27_x86_64', 'manylinux_2_28_x86_64', 'linux_x86_64']
FILES = 'https://files.pythonhosted.org/packages/'


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('requirements', nargs='+')
    ap.add_argument('--constraints-from')
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, 'report.json')
        cmd = [sys.executable, '-m', 'pip', 'install', '--quiet', '--dry-run', '--ignore-installed', '--report', report,
               '--target', os.path.join(tmp, 't'), '--only-binary=:all:', '--python-version', PYTHON,
               '--implementation', 'cp', '--abi', 'cp' + PYTHON.replace('.', '')]
        for p in PLATFORMS:
            cmd += ['--platform', p]
        if a.constraints_from:
            with open(a.constraints_from) as f:
                other = json.load(f)
            cfile = os.path.join(tmp, 'constraints.txt')
            with open(cfile, 'w') as f:
                for p in other['packages']:
                    f.write(f"{p['name']}=={p['version']}\n")
            cmd += ['-c', cfile]
        subprocess.run(cmd + a.requirements, check=True)
        with open(report) as f:
            installs = json.load(f)['install']
    packages = []
    for i in installs:
        info = i['download_info']
        url = info['url']
        if not url.startswith(FILES):
            raise SystemExit(f'{url}: not on {FILES}')
        hashes = info['archive_info'].get('hashes') or dict([info['archive_info']['hash'].split('=', 1)])
        packages.append({'name': i['metadata']['name'], 'version': i['metadata']['version'], 'path': url[len(FILES):], 'sha256': hashes['sha256']})
    packages.sort(key=lambda p: p['name'].lower())
    lock = {'requirement': ' '.join(a.requirements), 'python': PYTHON, 'platforms': PLATFORMS, 'packages': packages}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(lock, f, indent=1)
        f.write('\n')
    print(f'{a.out}: {len(packages)} packages')


if __name__ == '__main__':
    main()
