// Nova flavors by ID or by name (Nova's POST /servers needs the ID).
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

export async function findFlavor(s: Session, nameOrId: string, signal?: AbortSignal): Promise<Flavor | undefined> {
  try {
    return (await s.request<{ flavor: Flavor }>('compute', 'GET', `/flavors/${encodeURIComponent(nameOrId)}`, undefined, { signal })).flavor;
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
  const r = await s.request<{ flavors: Flavor[] }>('compute', 'GET', '/flavors/detail?is_public=None', undefined, { signal });
  return r.flavors.find((f) => f.name === nameOrId);
}
