// Nova server groups (anti-affinity placement of a cluster's nodes). No tags: found by name, which
// carries the cluster ID.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';

export interface ServerGroup {
  id: string;
  name: string;
  policy?: string;
}

export async function listServerGroups(s: Session, signal?: AbortSignal): Promise<ServerGroup[]> {
  return (await s.request<{ server_groups: ServerGroup[] }>('compute', 'GET', '/os-server-groups?limit=1000', undefined, { signal })).server_groups;
}

export async function createServerGroup(s: Session, name: string, policy: string, signal?: AbortSignal): Promise<ServerGroup> {
  return (await s.request<{ server_group: ServerGroup }>('compute', 'POST', '/os-server-groups', { server_group: { name, policy } }, { signal })).server_group;
}

export async function deleteServerGroup(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('compute', 'DELETE', `/os-server-groups/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}
