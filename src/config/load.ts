import { existsSync, readFileSync } from 'node:fs';
import { parseHostPort } from '../logs/lines.js';
import path from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isMap, isScalar, parseDocument } from 'yaml';
import { ConfigSchema, STORAGES, describeType, keySchema, type MichmanConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    // Callers grep logs for the key, so make sure it is there even if a message forgot it.
    super(message.includes(key) ? message : `${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  configPath?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Values from CLI flags; `undefined` means "flag not given" and is skipped. */
  overrides?: Record<string, unknown>;
}

export const DEFAULT_CONFIG_PATH = 'configs/config.yaml';
const ENV_PREFIX = 'MICHMAN_';
// Test settings share the prefix but are not configuration; everything else must be a known key
// so that a typo like MICHMAN_STORGE fails loudly instead of silently using the default.
const ENV_IGNORED_PREFIX = 'MICHMAN_TEST_';
// Secrets of the env secret store (src/secrets/env.ts), not configuration keys.
const ENV_SECRET_PREFIX = 'MICHMAN_SECRET_';
// The client's variables (src/client/context.ts): a shell that sets them may also run `michman serve`.
const ENV_CLIENT = new Set(['MICHMAN_URL', 'MICHMAN_API_TOKEN']);

/** Replaces the password of a URL (userinfo or `password=` query parameter) with `***`. */
export function redactUrl(url: string): string {
  // Up to the last '@': an unencoded '/' or '@' in a password must not leave a tail visible.
  // Over-masking a URL that has '@' only in its query is the acceptable side to err on.
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):.*@([^@]*)$/i, '$1:***@$2')
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

type Raw = Record<string, unknown>;

export function loadConfig(opts: LoadConfigOptions = {}): MichmanConfig {
  const cwd = opts.cwd ?? process.cwd();
  const raw: Raw = {};
  // Where each value came from, so an error points at the file, the variable or the flag to fix.
  const origin: Record<string, string> = {};
  const set = (key: string, value: unknown, from: string) => {
    raw[key] = value;
    origin[key] = from;
  };

  const file = locateFile(opts.configPath, cwd);
  if (file) for (const [key, value] of Object.entries(readYaml(file))) set(key, value, file);

  for (const [name, text] of Object.entries(opts.env ?? process.env)) {
    if (text === undefined || !name.startsWith(ENV_PREFIX) || name.startsWith(ENV_IGNORED_PREFIX) || name.startsWith(ENV_SECRET_PREFIX) || ENV_CLIENT.has(name)) continue;
    const key = name.slice(ENV_PREFIX.length).toLowerCase();
    if (!keySchema(key)) throw new ConfigError(name, `unknown environment variable ${name}: no configuration key '${key}'`);
    set(key, fromText(key, text, `environment variable ${name}`), name);
  }

  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value === undefined) continue;
    if (!keySchema(key)) throw new ConfigError(key, `unknown configuration key '${key}' (command-line override)`);
    set(key, typeof value === 'string' ? fromText(key, value, 'command-line value') : value, 'command line');
  }

  for (const key of Object.keys(raw)) raw[key] = checkKey(key, raw[key], origin[key] ?? '');

  const config = Value.Default(ConfigSchema, raw);
  if (!Value.Check(ConfigSchema, config)) {
    // Unreachable unless a key check above is missing; still refuse to run on an invalid config.
    const first = Value.Errors(ConfigSchema, config).First();
    const key = first?.path.split('/')[1] ?? 'config';
    throw new ConfigError(key, `invalid configuration key '${key}': ${first?.message ?? 'unknown error'}`);
  }
  return finish(config, cwd);
}

function locateFile(configPath: string | undefined, cwd: string): string | undefined {
  if (configPath !== undefined) {
    const file = path.resolve(cwd, configPath);
    if (!existsSync(file)) throw new ConfigError(file, `configuration file not found: ${file}`);
    return file;
  }
  const file = path.resolve(cwd, DEFAULT_CONFIG_PATH);
  return existsSync(file) ? file : undefined;
}

function readYaml(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, `cannot read configuration file ${file}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text);
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    // Only the first line of the message: the rest quotes the source, which may hold a token.
    const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(file, `${file}:${pos?.line ?? '?'}:${pos?.col ?? '?'}: invalid YAML: ${what}`);
  }
  if (doc.contents === null) return {}; // an empty file is a valid "all defaults" config
  if (!isMap(doc.contents)) throw new ConfigError(file, `${file}: expected a mapping of 'key: value' at the top level`);

  const out: Raw = {};
  for (const [key, value] of Object.entries(doc.toJS() as Raw)) {
    if (!keySchema(key)) throw new ConfigError(key, `unknown configuration key '${key}' in ${file}`);
    // `key:` with nothing after it means "not set" in the original, so it must not defeat the default.
    if (value === null) continue;
    const node = doc.get(key, true);
    // The original's Go decoder keeps the literal text when a number lands in a string field
    // (ports, `token: 0123`); use the source so leading zeros and exponents survive.
    out[key] =
      keySchema(key)!.type === 'string' && isScalar(node) && typeof node.value === 'number'
        ? (node.source ?? String(node.value))
        : value;
  }
  return out;
}

/** Converts text (environment, CLI) to the key's type; enums stay strings and are checked later. */
function fromText(key: string, text: string, where: string): unknown {
  const type = keySchema(key)!.type;
  if (type === 'boolean') {
    const b = { true: true, false: false, '1': true, '0': false, yes: true, no: false }[text.trim().toLowerCase()];
    if (b === undefined) throw new ConfigError(key, `${where} for '${key}' must be true/false/1/0/yes/no, got '${text}'`);
    return b;
  }
  if (type === 'integer') {
    if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new ConfigError(key, `${where} for '${key}' must be an integer, got '${text}'`);
    return Number(text);
  }
  return text;
}

function show(key: string, value: unknown): string {
  const schema = keySchema(key);
  if (schema?.secret) return key === 'database_url' && typeof value === 'string' ? `'${redactUrl(value)}'` : '***';
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function checkKey(key: string, value: unknown, from: string): unknown {
  const schema = keySchema(key)!;
  if (schema.type === 'string' && typeof value === 'number') value = String(value);
  if (key === 'storage' && typeof value === 'string' && value.toLowerCase() === 'couchbase') {
    throw new ConfigError(key, `couchbase is not supported for '${key}' (from ${from}); use one of: ${STORAGES.join(', ')}`);
  }
  if (!Value.Check(schema, value)) {
    throw new ConfigError(
      key,
      `invalid value ${show(key, value)} for '${key}' (from ${from}); allowed: ${describeType(schema)}`,
    );
  }
  return value;
}

const missing = (v: string | undefined) => v === undefined || v.trim() === '';

// Cross-key rules: the ones the original enforced at startup, plus database_url for the new engines.
function finish(c: Static<typeof ConfigSchema>, cwd: string): MichmanConfig {
  parseListen(c.listen);
  const dataDir = path.resolve(cwd, c.data_dir);
  // mysql_key without database_url: the credentials come from the secret store at start (app.ts).
  const fromSecrets = c.storage !== 'sqlite' && missing(c.database_url) && !missing(c.mysql_key);
  const databaseUrl = fromSecrets ? '' : resolveDatabaseUrl(c.storage, c.database_url, dataDir, cwd);

  refuseNotYet(c);
  checkMirrors(c);
  checkLogShipping(c);
  if (c.use_auth && c.authorization_model === 'oauth2' && missing(c.oidc_issuer) && missing(c.hydra_client)) {
    throw new ConfigError('oidc_issuer', `'oidc_issuer' (or the original's 'hydra_client') is required when use_auth is true and authorization_model is oauth2`);
  }
  if (c.secrets_store === 'vault' && missing(c.vault_addr)) {
    throw new ConfigError('vault_addr', `'vault_addr' is required when secrets_store is vault`);
  }
  if (c.use_auth && c.authorization_model === 'keystone' && missing(c.keystone_addr)) {
    throw new ConfigError('keystone_addr', `'keystone_addr' is required when use_auth is true and authorization_model is keystone`);
  }

  return {
    ...c,
    data_dir: dataDir,
    database_url: databaseUrl,
  };
}

/** A key whose feature is missing (KeyAnnotations.notYet) may be given only as asking for nothing. */
function refuseNotYet(c: Static<typeof ConfigSchema>): void {
  for (const [key, value] of Object.entries(c)) {
    const schema = keySchema(key);
    if (!schema?.notYet) continue;
    const asksNothing = value === undefined || value === schema.default || (typeof value === 'string' && value.trim() === '');
    if (!asksNothing) {
      throw new ConfigError(key, `'${key}' is not supported yet: ${schema.notYet}. Remove it from the configuration, or set it to ${schema.default === undefined ? 'an empty value' : JSON.stringify(schema.default)}`);
    }
  }
}

const isHttpUrl = (v: string): boolean => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !/\s/.test(v);
  } catch {
    return false;
  }
};

/**
 * The package mirrors are written on every node by the base role, so a mirror asked for must have
 * an address, and each address must be something apt and pip can fetch from: an http(s) URL.
 */
function checkMirrors(c: Static<typeof ConfigSchema>): void {
  if (c.use_package_mirror && missing(c.apt_mirror_address)) {
    throw new ConfigError('apt_mirror_address', `'apt_mirror_address' is required when use_package_mirror is true (e.g. http://mirror.example.org/debian)`);
  }
  if (c.use_pip_mirror && missing(c.pip_mirror_address)) {
    throw new ConfigError('pip_mirror_address', `'pip_mirror_address' is required when use_pip_mirror is true (e.g. https://mirror.example.org/pypi/simple)`);
  }
  for (const key of ['apt_mirror_address', 'apt_security_mirror_address', 'pip_mirror_address'] as const) {
    const v = c[key];
    if (!missing(v) && !isHttpUrl(v!.trim())) {
      throw new ConfigError(key, `invalid value ${show(key, v)} for '${key}'; allowed: an http:// or https:// URL`);
    }
  }
  const host = c.pip_trusted_host?.trim();
  if (host && !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i.test(host)) {
    throw new ConfigError('pip_trusted_host', `invalid value ${show('pip_trusted_host', host)} for 'pip_trusted_host'; allowed: a host name or address, optionally with :port (no scheme or path)`);
  }
}

/** logs_output: logstash needs Logstash (host:port) and, as the original, elastic_addr to read back. */
function checkLogShipping(c: Static<typeof ConfigSchema>): void {
  if (c.logs_output === 'logstash') {
    if (missing(c.logstash_addr)) throw new ConfigError('logstash_addr', `'logstash_addr' is required when logs_output is logstash (host:port of Logstash's tcp input with the json_lines codec)`);
    if (missing(c.elastic_addr)) throw new ConfigError('elastic_addr', `'elastic_addr' is required when logs_output is logstash (e.g. http://127.0.0.1:9200, where GET /logs/... reads the shipped lines)`);
  }
  if (!missing(c.logstash_addr) && !parseHostPort(c.logstash_addr!)) {
    throw new ConfigError('logstash_addr', `invalid value ${show('logstash_addr', c.logstash_addr)} for 'logstash_addr'; allowed: host:port (e.g. 127.0.0.1:5000)`);
  }
  if (!missing(c.elastic_addr) && !isHttpUrl(c.elastic_addr!.trim())) {
    throw new ConfigError('elastic_addr', `invalid value ${show('elastic_addr', c.elastic_addr)} for 'elastic_addr'; allowed: an http:// or https:// URL`);
  }
}

const URL_SCHEMES: Record<string, string[]> = { mysql: ['mysql', 'mariadb'], postgres: ['postgres', 'postgresql'] };

function resolveDatabaseUrl(storage: string, url: string | undefined, dataDir: string, cwd: string): string {
  const scheme = url?.match(/^([a-z][a-z0-9+.-]*):\/\//i)?.[1]?.toLowerCase();
  if (storage === 'sqlite') {
    if (missing(url)) return path.join(dataDir, 'michman.sqlite');
    if (scheme !== undefined) {
      throw new ConfigError(
        'database_url',
        `database_url ${show('database_url', url)} is a ${scheme} URL but storage is 'sqlite'; set storage, or give a file path`,
      );
    }
    return url === ':memory:' ? url : path.resolve(cwd, url!);
  }
  const allowed = URL_SCHEMES[storage]!;
  if (missing(url)) {
    throw new ConfigError('database_url', `database_url is required when storage is '${storage}' (e.g. ${allowed[0]}://user:password@127.0.0.1/michman)`);
  }
  if (scheme === undefined || !allowed.includes(scheme)) {
    throw new ConfigError(
      'database_url',
      `database_url ${show('database_url', url)} is not a valid URL for storage '${storage}'; expected ${allowed.map((s) => `${s}://`).join(' or ')}...`,
    );
  }
  return url!;
}

/** Splits `listen` into host and port; IPv6 hosts must be bracketed, as in URLs. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = listen.match(/^\[([^\]]+)\]:(\d+)$/) ?? listen.match(/^([^:[\]]+):(\d+)$/);
  const port = Number(m?.[2]);
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new ConfigError(
      'listen',
      `invalid value '${listen}' for 'listen'; allowed: host:port with port 1..65535, IPv6 as [::1]:8081`,
    );
  }
  return { host: m[1]!, port };
}
