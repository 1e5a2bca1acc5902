#!/usr/bin/python3
"""fetch-jars.py <maven base URL> <manifest> <destination>

Downloads every jar of the manifest (lines "<sha1>  <path below the Maven repository root>") into
<destination>.staging/lib, checks each against its SHA-1, and only when all match renames the
staging directory to <destination> (marked by MICHMAN-INSTALLED). A mismatch names the file and
both sums and leaves nothing behind.
"""
import hashlib
import os
import shutil
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main() -> int:
    base, manifest, dest = sys.argv[1].rstrip('/'), sys.argv[2], sys.argv[3]
    entries = [tuple(line.split(None, 1)) for line in open(manifest).read().splitlines() if line.strip()]
    stage = dest + '.staging'
    shutil.rmtree(stage, ignore_errors=True)
    lib = os.path.join(stage, 'lib')
    os.makedirs(lib)

    def fetch(entry):
        sha1, path = entry[0].lower(), entry[1].strip()
        url = f'{base}/{path}'
        h = hashlib.sha1()
        with urllib.request.urlopen(url, timeout=60) as r, open(os.path.join(lib, os.path.basename(path)), 'wb') as out:
            while chunk := r.read(1 << 20):
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
    with open(os.path.join(stage, 'MICHMAN-INSTALLED'), 'w') as f:
        f.write(f'{len(entries)} jars from {base}, each checked against its Maven Central SHA-1\n')
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(stage, dest)
    print(f'installed {len(entries)} jars into {dest}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
