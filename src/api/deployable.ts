// GET /configs tells the truth about where a version can go: each version of a full service type
// carries Deployable (and, when false, DeployableReason), as the active provider's deployer answers
// the same check it makes at POST. Without a deployer (tests) the fields are left out.
import type { ServiceCheck } from '../clusters/index.js';
import type { StoredServiceType, StoredVersion } from '../domain/stored.js';

export type Marked<V> = V & { Deployable?: boolean; DeployableReason?: string };

export async function markVersions<V extends Pick<StoredVersion, 'Version'>>(check: ServiceCheck | undefined, type: string, versions: readonly V[]): Promise<Array<Marked<V>>> {
  if (!check) return [...versions];
  const all = versions.map((v) => v.Version);
  return Promise.all(
    versions.map(async (v) => {
      const problems = await check.check([{ type, version: v.Version, versions: all }]);
      return problems.length === 0 ? { ...v, Deployable: true } : { ...v, Deployable: false, DeployableReason: problems.join('; ') };
    }),
  );
}

/** A copy of the type (stored types are shared, frozen cache entries) with its versions marked. */
export async function markType(check: ServiceCheck | undefined, t: StoredServiceType): Promise<StoredServiceType | (Omit<StoredServiceType, 'Versions'> & { Versions: Array<Marked<StoredVersion>> })> {
  if (!check) return t;
  return { ...t, Versions: await markVersions(check, t.Type, t.Versions) };
}
