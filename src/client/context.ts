// What every client command shares: --url and -o, the token, the exit code of what went wrong, and
// the way a command is declared so that all of them parse, print and fail alike.
import type { Command } from 'commander';
import { ConfigSchema } from '../config/schema.js';
import { ApiClient } from './http.js';
import { ClientError, EXIT, EXIT_CODES_HELP, UsageError } from './errors.js';
import { loadCredentials, serverKey } from './credentials.js';
import { parseFormat, stdoutOut, type Out } from './output.js';

/** The client's own environment variables (config/load.ts lets `michman serve` pass over them). */
export const URL_ENV = 'MICHMAN_URL';
/**
 * Not MICHMAN_TOKEN: that is already the server's Vault token (config key `token`), and a client
 * that sent it as a bearer token would hand a Vault secret to whatever --url names.
 */
export const TOKEN_ENV = 'MICHMAN_API_TOKEN';

/** http://<listen> of a server started with the default configuration. */
export function defaultUrl(): string {
  const listen = (ConfigSchema.properties.listen as { default?: string }).default ?? '127.0.0.1:8081';
  return `http://${listen}`;
}

export interface Ctx {
  api: ApiClient;
  url: string;
  out: Out;
  /** Where the token came from, for messages: flag, env, login or none. */
  tokenFrom: 'env' | 'login' | 'none';
}

export interface CommonOptions {
  url?: string;
  output?: string;
}

export function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--url: '${raw}' is not a URL (example: http://127.0.0.1:8081)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url: '${raw}' must start with http:// or https://`);
  if (u.username || u.password) throw new UsageError('--url: put no credentials in the URL; use michman login');
  return serverKey(u.toString());
}

export function resolveUrl(o: CommonOptions, env: NodeJS.ProcessEnv = process.env): string {
  const raw = o.url ?? (env[URL_ENV] || undefined) ?? loadCredentials(env).current ?? defaultUrl();
  return checkUrl(raw);
}

export function contextOf(o: CommonOptions, env: NodeJS.ProcessEnv = process.env): Ctx {
  const out = stdoutOut(parseFormat(o.output));
  const url = resolveUrl(o, env);
  const fromEnv = env[TOKEN_ENV];
  if (fromEnv) return { api: new ApiClient(url, fromEnv.trim()), url, out, tokenFrom: 'env' };
  const saved = loadCredentials(env).servers[url];
  return { api: new ApiClient(url, saved?.token), url, out, tokenFrom: saved ? 'login' : 'none' };
}

const URL_HELP = `Michman server (env ${URL_ENV}; default: the server of the last michman login, else ${defaultUrl()})`;

/** --url and -o on a command. */
export function common(cmd: Command, { output = true }: { output?: boolean } = {}): Command {
  cmd.option('--url <url>', URL_HELP);
  if (output) cmd.option('-o, --output <format>', 'table (default), json or yaml: json/yaml print the API data as is, for scripts');
  return cmd;
}

/** A command group (cluster, project, ...): usage errors exit 2, help lists the exit codes. */
export function group(parent: Command, name: string, description: string): Command {
  const g = parent.command(name).description(description);
  usageExit(g);
  g.addHelpText('after', EXIT_CODES_HELP);
  return g;
}

/** Commander's own usage errors (unknown option, missing argument) exit 2, as ours do. */
export function usageExit(cmd: Command): Command {
  return cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));
}

/**
 * The action of a client command: args as commander passes them, then the options; the returned
 * number (or 0) is the exit code; a ClientError prints its message and gives its code.
 */
export function act<O>(fn: (ctx: Ctx, args: string[], opts: O) => Promise<number | void>) {
  return async (...a: unknown[]): Promise<void> => {
    const cmd = a[a.length - 1] as Command;
    const opts = cmd.opts() as O;
    const args = a.slice(0, -2) as string[];
    try {
      const ctx = contextOf(opts as CommonOptions);
      process.exitCode = (await fn(ctx, args, opts)) ?? EXIT.ok;
    } catch (err) {
      process.exitCode = report(err);
    }
  };
}

export function report(err: unknown): number {
  if (err instanceof ClientError) {
    process.stderr.write(`michman: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`michman: ${(err as Error)?.message ?? String(err)}\n`);
  return EXIT.api;
}

/** A whole number flag, as a usage error when it is not one. */
export function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`${name} must be a whole number, not '${v}'`);
  return Number(v);
}

export const enc = encodeURIComponent;
