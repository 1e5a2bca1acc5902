// The console's only way to the server: the HTTP API, as curl would use it. Answers come in the
// envelope {Type, Status, Title, Detail: {Message, Data}}; errors carry the server's message,
// which the pages show as is (the server names the field at fault).
import { parseEvents } from '../../src/wire/sse.js';
import type { EventView as ClusterEvent } from '../../src/wire/types.js';

const TOKEN_KEY = 'michman.apiToken';

/** An API token the user pasted: kept for this tab only (sessionStorage), sent as a bearer token. */
export const apiToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headers(extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', ...extra };
  const t = apiToken.get();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

let onUnauthorized: (() => void) | undefined;
/** What to do when the server says "who are you?" (401): the app shows the login page. */
export const setOnUnauthorized = (f: () => void) => {
  onUnauthorized = f;
};

export async function call<T = unknown>(method: string, path: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? extra : { 'Content-Type': 'application/json', ...extra }),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let env: { Detail?: { Message?: string; Data?: unknown } } | undefined;
  try {
    env = text ? JSON.parse(text) : undefined;
  } catch {
    env = undefined;
  }
  if (res.status === 401 && path !== '/auth') onUnauthorized?.();
  if (!res.ok) throw new ApiError(res.status, env?.Detail?.Message ?? `${method} ${path}: HTTP ${res.status}`);
  return env?.Detail?.Data as T;
}

export const get = <T>(path: string) => call<T>('GET', path);
export const enc = encodeURIComponent;

// ---- the API's objects, as far as the console reads them -------------------------------------

export interface Session {
  Auth: 'off' | 'none' | 'oauth2' | 'keystone';
  User: string | null;
  Groups: string[];
  Admin: boolean;
  Via: string | null;
}

export interface Project {
  ID: string;
  Name: string;
  DisplayName: string;
  GroupID?: string;
  Description?: string;
}

export interface Service {
  ID?: string;
  Type: string;
  Version?: string;
  Config?: Record<string, string>;
  EntityStatus?: string;
  URL?: string;
}

export interface Cluster {
  ID: string;
  Name: string;
  DisplayName: string;
  EntityStatus: string;
  Services: Service[];
  NSlaves?: number;
  MasterIP?: string;
  HostURL?: string;
  Description?: string;
  OwnerID?: string;
}

export interface ConfigParam {
  ParameterName: string;
  Type: string;
  DefaultValue?: string;
  Required?: boolean;
  Description?: string;
  IsList?: boolean;
  PossibleValues?: string[];
}

export interface Dependency {
  ServiceType: string;
  ServiceVersions?: string[];
  DefaultServiceVersion?: string;
  Description?: string;
}

export interface ServiceVersion {
  Version: string;
  Description?: string;
  Configs?: ConfigParam[];
  Dependencies?: Dependency[];
}

export interface ServiceType {
  Type: string;
  Description?: string;
  DefaultVersion?: string;
  Class?: string;
  AccessPort?: number;
  Versions?: ServiceVersion[];
}

// The operation and event shapes are the CLI's too: one definition in src/wire.
export type { OperationView as Operation, EventView as ClusterEvent } from '../../src/wire/types.js';

export interface Credential {
  Service: string;
  Type: string;
  User?: string;
  Password?: string;
  Host?: string;
  Port?: number;
  URL?: string;
  ConnectionString?: string;
}

export interface PlanNode {
  role: string;
  name: string;
  flavor: string;
  services: Array<{ Type: string; Version?: string }>;
}

export interface DryRun {
  Cluster: Cluster;
  Plan: {
    image: string;
    nodes: PlanNode[];
    services: Array<{ type: string; version: string; nodes: string[]; config: Record<string, string> }>;
    levels: string[][];
  };
  Quota?: unknown;
}

/**
 * A cluster's events as they happen: the server-sent events of GET .../events, read with fetch
 * (EventSource cannot send the Authorization header an API token needs). Resolves when the server
 * ends the stream (no operation running) or the signal aborts.
 */
export async function streamEvents(path: string, after: number, onEvent: (e: ClusterEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${path}?after=${after}`, { headers: headers({ Accept: 'text/event-stream' }), signal, credentials: 'same-origin' });
  if (!res.ok || !res.body) throw new ApiError(res.status, `event stream: HTTP ${res.status}`);
  for await (const e of parseEvents(res.body)) {
    if (e.event === 'end') return;
    if (e.data) onEvent(JSON.parse(e.data) as ClusterEvent);
  }
}
