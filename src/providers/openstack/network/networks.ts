// Neutron networks by ID or by name (the original's virtual_network and floating_ip_pool are names).
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs, looksLikeId } from '../query.js';

export interface Network {
  id: string;
  name: string;
  'router:external'?: boolean;
}

export async function findNetwork(s: Session, nameOrId: string, signal?: AbortSignal): Promise<Network | undefined> {
  if (looksLikeId(nameOrId)) {
    try {
      return (await s.request<{ network: Network }>('network', 'GET', `/networks/${encodeURIComponent(nameOrId)}`, undefined, { signal })).network;
    } catch (err) {
      if (!(err instanceof OpenStackError && err.notFound)) throw err;
    }
  }
  const r = await s.request<{ networks: Network[] }>('network', 'GET', `/networks${qs({ name: nameOrId })}`, undefined, { signal });
  if (r.networks.length > 1) throw new Error(`network: the name ${nameOrId} is ambiguous (${r.networks.length} networks); give its ID`);
  return r.networks[0];
}
