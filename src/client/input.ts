// What the user hands the client to send: a JSON or YAML file (-f, `-` for stdin) and the shorthand
// flags. Only syntax is checked here; the server owns every rule and names the field it refuses.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './errors.js';

/** A JSON or YAML object from a file or stdin (`-`). YAML is a superset of JSON. */
export function readDocument(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(`-f ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`-f ${path}: neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`-f ${path}: must hold one object (e.g. {"DisplayName": ..., "Services": [...]})`);
  return doc as Record<string, unknown>;
}

export interface ServiceSpec {
  Type: string;
  Version?: string;
  Config?: Record<string, string>;
}

/** `type[:version][,key=value...]`, e.g. `spark:3.5.7,spark_worker_cores=2`. */
export function parseService(spec: string): ServiceSpec {
  const [head = '', ...pairs] = spec.split(',');
  const [type, version, extra] = head.split(':');
  if (!type || extra !== undefined || (version !== undefined && version === '')) throw new UsageError(`--service '${spec}': expected type[:version][,key=value...], e.g. redis:7.0 or spark,spark_worker_cores=2`);
  const s: ServiceSpec = { Type: type.trim() };
  if (version !== undefined) s.Version = version.trim();
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--service '${spec}': '${p}' is not key=value`);
    (s.Config ??= {})[p.slice(0, i).trim()] = p.slice(i + 1);
  }
  return s;
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];
