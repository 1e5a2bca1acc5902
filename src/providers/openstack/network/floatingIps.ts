// Neutron floating IPs: allocate from a pool (an external network) bound to a port, re-associate,
// release.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs } from '../query.js';

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  description?: string;
  tags?: string[];
}

export async function listFloatingIps(s: Session, f: { tag?: string }, signal?: AbortSignal): Promise<FloatingIp[]> {
  const all = await s.requestAll<FloatingIp>('network', `/floatingips${qs({ tags: f.tag })}`, 'floatingips', { signal });
  return all.filter((x) => !f.tag || (x.tags ?? []).includes(f.tag));
}

export async function allocateFloatingIp(s: Session, f: { floating_network_id: string; port_id: string; description: string }, signal?: AbortSignal): Promise<FloatingIp> {
  return (await s.request<{ floatingip: FloatingIp }>('network', 'POST', '/floatingips', { floatingip: f }, { signal })).floatingip;
}

export async function associateFloatingIp(s: Session, id: string, portId: string, signal?: AbortSignal): Promise<FloatingIp> {
  return (await s.request<{ floatingip: FloatingIp }>('network', 'PUT', `/floatingips/${encodeURIComponent(id)}`, { floatingip: { port_id: portId } }, { signal })).floatingip;
}

export async function releaseFloatingIp(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('network', 'DELETE', `/floatingips/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}
