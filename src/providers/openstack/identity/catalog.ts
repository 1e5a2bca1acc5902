// The Keystone v3 service catalog: which URL serves a service type in a region and interface.
export interface CatalogEndpoint {
  interface: string;
  region?: string;
  region_id?: string;
  url: string;
}

export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/** Other names a service type goes by in real catalogs (block storage has had three). */
const ALIASES: Record<string, string[]> = {
  'block-storage': ['block-storage', 'volumev3', 'volumev2', 'volume'],
  compute: ['compute'],
  network: ['network'],
  image: ['image'],
  identity: ['identity'],
};

export function endpointFor(catalog: CatalogEntry[], type: string, region: string | undefined, iface: string): string | undefined {
  for (const t of ALIASES[type] ?? [type]) {
    const entry = catalog.find((e) => e.type === t);
    if (!entry) continue;
    const ep = entry.endpoints.find((e) => e.interface === iface && (!region || e.region === region || e.region_id === region));
    if (ep) return ep.url.replace(/\/+$/, '');
  }
  return undefined;
}
