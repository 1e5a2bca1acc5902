// Neutron ports. The provider creates each node's port itself (tagged, with the cluster's security
// group) and boots the server on it, so the port, and the floating IP bound to it, are found by tag.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs } from '../query.js';

export interface Port {
  id: string;
  name: string;
  description?: string;
  network_id: string;
  device_id?: string;
  tags?: string[];
  fixed_ips: Array<{ ip_address: string; subnet_id?: string }>;
  security_groups?: string[];
}

export async function listPorts(s: Session, f: { tag?: string; name?: string }, signal?: AbortSignal): Promise<Port[]> {
  const all = await s.requestAll<Port>('network', `/ports${qs({ tags: f.tag, name: f.name })}`, 'ports', { signal });
  return all.filter((p) => (!f.name || p.name === f.name) && (!f.tag || (p.tags ?? []).includes(f.tag)));
}

export async function createPort(s: Session, p: { network_id: string; name: string; description: string; security_groups: string[] }, signal?: AbortSignal): Promise<Port> {
  return (await s.request<{ port: Port }>('network', 'POST', '/ports', { port: p }, { signal })).port;
}

export async function deletePort(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('network', 'DELETE', `/ports/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}

/** Every port of the project with its tags (the janitor looks for any cluster's tag). */
export async function listAllPorts(s: Session, signal?: AbortSignal): Promise<Port[]> {
  return s.requestAll<Port>('network', '/ports', 'ports', { signal });
}
