// The versions of the programs this host really has, so the local provider runs a catalog version
// only when the host's program is that version: PostgreSQL 18 is not run by the host's postgres 15
// under the label 18. Each program is asked once per process (`<program> --version`, or the Debian
// package's version when the program has no such option), and the answer is kept.
import { execFile } from 'node:child_process';

export interface VersionProbe {
  /** Arguments that make the program print its version. */
  args: string[];
  /** Group 1: the version (digits and dots) in what it prints. */
  pattern: RegExp;
  /** Debian package to ask (dpkg-query) when the program does not tell (ClickHouse 18.16 has no --version). */
  debianPackage?: string;
}

const cache = new Map<string, Promise<string | undefined>>();

function output(program: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: 15_000, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' }, maxBuffer: 1024 * 1024 }, (_err, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}`),
    );
  });
}

/** The version of `program` (e.g. '7.0.15'), undefined when it cannot be read. */
export function programVersion(program: string, probe: VersionProbe): Promise<string | undefined> {
  const key = `${program}\0${probe.args.join(' ')}`;
  let v = cache.get(key);
  if (!v) {
    v = (async () => {
      const own = probe.pattern.exec(await output(program, probe.args))?.[1];
      if (own) return own;
      if (!probe.debianPackage) return undefined;
      return /^(?:\d+:)?(\d+(?:\.\d+)*)/.exec(await output('dpkg-query', ['-W', '-f=${Version}', probe.debianPackage]))?.[1];
    })();
    cache.set(key, v);
  }
  return v;
}

const NUMERIC = /^\d+(\.\d+)*$/;

/** Whether a catalog version is numeric (7.0, 15, 3.5.7), so that the host's version can be matched to it. */
export const isNumericVersion = (v: string): boolean => NUMERIC.test(v);

/**
 * The match rule: the host's version has the catalog version's components, as many as it names —
 * '15' is any 15.x, '7.0' is any 7.0.x, '3.5.7' is 3.5.7 only.
 */
export function versionMatches(catalogVersion: string, hostVersion: string): boolean {
  if (!isNumericVersion(catalogVersion)) return false;
  const have = hostVersion.split('.');
  return catalogVersion.split('.').every((part, i) => Number(part) === Number(have[i]));
}
