#!/usr/bin/python3
"""fetch-jars.py <maven base URL> <manifest> <destination>

Downloads every jar of the manifest (lines "<sha1>  <path below the Maven repository root>") into
<destination>.staging/share/hadoop/common/lib, checks each against its SHA-1, and only when all
match renames the staging directory to <destination> (marked by MICHMAN-INSTALLED). A mismatch
names the file and both sums and leaves nothing behind.
"""
import hashlib
import os
import shutil
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main() -> int:
    base, manifest, dest = sys.argv[1].rstrip('/'), sys.argv[2], sys.argv[3]
    entries = []
    for line in open(manifest):
        line = line.strip()
        if line:
            sha1, path = line.split(None, 1)
            entries.append((sha1.lower(), path))
    stage = dest + '.staging'
    shutil.rmtree(stage, ignore_errors=True)
    lib = os.path.join(stage, 'share', 'hadoop', 'common', 'lib')
    os.makedirs(lib)

    def fetch(entry):
        sha1, path = entry
        url = f'{base}/{path}'
        target = os.path.join(lib, os.path.basename(path))
        h = hashlib.sha1()
        with urllib.request.urlopen(url, timeout=60) as r, open(target, 'wb') as out:
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
        got = h.hexdigest()
        return None if got == sha1 else f'{os.path.basename(path)} ({url}): expected SHA-1 {sha1}, got {got}'

    try:
        with ThreadPoolExecutor(4) as ex:
            problems = [p for p in ex.map(fetch, entries) if p]
    except Exception as e:  # noqa: BLE001 - any download error fails the install, named
        shutil.rmtree(stage, ignore_errors=True)
        print(f'download failed: {e}', file=sys.stderr)
        return 1
    if problems:
        shutil.rmtree(stage, ignore_errors=True)
        print('checksum mismatch: ' + '; '.join(problems), file=sys.stderr)
        return 1
    # The daemons' embedded web servers look up webapps/<name> on the class path; the tarball keeps
    # them (the HTML console) in share/hadoop/hdfs/webapps, Maven has no artifact with them. Empty
    # web applications are enough for what Michman uses: /jmx, WebHDFS and the DataNode protocols.
    for app in ('hdfs', 'datanode', 'secondary', 'journal'):
        web_inf = os.path.join(stage, 'share', 'hadoop', 'hdfs', 'webapps', app, 'WEB-INF')
        os.makedirs(web_inf)
        with open(os.path.join(web_inf, 'web.xml'), 'w') as f:
            f.write('<?xml version="1.0"?>\n<web-app version="2.5" xmlns="http://java.sun.com/xml/ns/javaee"/>\n')
        with open(os.path.join(web_inf, '..', 'index.html'), 'w') as f:
            f.write(f'<!DOCTYPE html><title>{app}</title><p>Hadoop from Maven jars: no HTML console; see <a href="/jmx">/jmx</a>.\n')
    with open(os.path.join(stage, 'MICHMAN-INSTALLED'), 'w') as f:
        f.write(f'{len(entries)} jars from {base}, each checked against its Maven Central SHA-1\n')
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(stage, dest)
    print(f'installed {len(entries)} jars into {dest}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
