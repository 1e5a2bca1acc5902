// Nova servers: create, get, list (by tag and exact name), delete, volume attachments.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs, exactName } from '../query.js';

export interface ServerAddress {
  addr: string;
  version: number;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating';
}

export interface Server {
  id: string;
  name: string;
  status: string;
  metadata: Record<string, string>;
  tags?: string[];
  addresses?: Record<string, ServerAddress[]>;
  fault?: { message?: string; code?: number; details?: string };
}

export interface CreateServer {
  name: string;
  imageRef: string;
  flavorRef: string;
  networks: Array<{ port: string } | { uuid: string }>;
  key_name?: string;
  metadata: Record<string, string>;
  tags: string[];
  groupId?: string;
}

export async function createServer(s: Session, c: CreateServer, signal?: AbortSignal): Promise<string> {
  const { groupId, ...server } = c;
  const body = { server, ...(groupId ? { 'os:scheduler_hints': { group: groupId } } : {}) };
  const r = await s.request<{ server: { id: string } }>('compute', 'POST', '/servers', body, { signal });
  return r.server.id;
}

export async function getServer(s: Session, id: string, signal?: AbortSignal): Promise<Server | undefined> {
  try {
    return (await s.request<{ server: Server }>('compute', 'GET', `/servers/${encodeURIComponent(id)}`, undefined, { signal })).server;
  } catch (err) {
    if (err instanceof OpenStackError && err.notFound) return undefined;
    throw err;
  }
}

/** Every server of the project, all pages (the janitor looks for any cluster's tag). */
export function listAllServers(s: Session, signal?: AbortSignal): Promise<Server[]> {
  return s.requestAll<Server>('compute', '/servers/detail?limit=1000', 'servers', { signal });
}

/** Servers carrying `tag` (server-side filter), optionally only the one named `name`. */
export async function listServers(s: Session, f: { tag?: string; name?: string }, signal?: AbortSignal): Promise<Server[]> {
  const all = await s.requestAll<Server>('compute', `/servers/detail${qs({ tags: f.tag, name: f.name ? exactName(f.name) : undefined, limit: 1000 })}`, 'servers', { signal });
  // Nova's name filter is a regex and some clouds ignore unknown filters: check on our side too.
  return all.filter((x) => (!f.name || x.name === f.name) && (!f.tag || (x.tags ?? []).includes(f.tag)));
}

export async function deleteServer(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('compute', 'DELETE', `/servers/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}

export async function attachVolume(s: Session, serverId: string, volumeId: string, signal?: AbortSignal): Promise<void> {
  await s.request('compute', 'POST', `/servers/${encodeURIComponent(serverId)}/os-volume_attachments`, { volumeAttachment: { volumeId } }, { signal });
}

/** The server's fixed IPv4 from Nova's (cached) addresses. */
export function fixedIpv4(server: Server): string | undefined {
  for (const list of Object.values(server.addresses ?? {})) {
    const a = list.find((x) => x.version === 4 && x['OS-EXT-IPS:type'] !== 'floating');
    if (a) return a.addr;
  }
  return undefined;
}
