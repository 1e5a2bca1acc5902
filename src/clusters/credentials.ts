// GET .../credentials: for each service of the cluster, its user, password (given or generated),
// address and a ready connection string. Values come from the secret store, never the database.
import type { Store } from '../store/store.js';
import type { SecretStore } from '../secrets/types.js';
import { renderCredentials, serviceSecretPath, unseal, type ServiceCredentials } from '../domain/credentials.js';
import { clusterOf, typesFor } from './lookup.js';

export async function clusterCredentials(store: Store, secrets: SecretStore | undefined, project: string, cluster: string): Promise<ServiceCredentials[]> {
  const { cluster: c } = await clusterOf(store, project, cluster);
  const types = await typesFor(store, c.Services);
  const stored = new Map<string, Record<string, string>>();
  const out: ServiceCredentials[] = [];
  for (const s of c.Services) {
    const type = s.Type ?? '';
    if (!stored.has(type)) stored.set(type, (secrets && (await secrets.get(serviceSecretPath(c.ID, type)))) || {});
    const t = types.get(type);
    const v = t?.Versions.find((x) => x.Version === s.Version) ?? t?.Versions.find((x) => x.Version === t.DefaultVersion);
    const defaults = Object.fromEntries((v?.Configs ?? []).map((p) => [p.ParameterName, p.DefaultValue]));
    const secret = stored.get(type)!;
    // Generated secrets fill what the user left empty; the user's own come back from the store.
    const config = { ...defaults, ...secret, ...unseal(Object.fromEntries(Object.entries(s.Config ?? {}).filter(([, x]) => x !== '')), secret) };
    out.push(renderCredentials({ name: s.Name || type, type, config, url: s.URL ?? '' }));
  }
  return out;
}
