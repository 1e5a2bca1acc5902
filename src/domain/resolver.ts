// Dependency resolution of a cluster's services (reference §5), as a work queue.
//
// The original scanned the service list from moving start indices, so whether a dependency was
// added, checked or defaulted depended on the order of the services (§5 quirks 1–3), and `[]` spun
// forever (quirk 4). Here every requested service is checked and version-defaulted first, then a
// queue processes each service exactly once, appended ones included, so expansion is transitive and
// a compatibility check always sees the version the service will really get.
import type { Service } from './wire.js';
import type { StoredDependency, StoredServiceType, StoredVersion } from './stored.js';
import { validation } from './errors.js';
import { validateServiceConfigs } from './configValues.js';
import { validList } from './suggest.js';

export type TypeMap = ReadonlyMap<string, StoredServiceType>;

export interface ResolveOptions {
  newId: () => string;
  /** Cluster create refuses types without a HealthCheck (the deployer needs HealthCheck[0]). */
  requireHealthCheck: boolean;
  /**
   * Services before this index are already part of the cluster (update): they count as present for
   * the "cluster already has type T" rule and for duplicates, but are neither re-checked nor expanded,
   * as the original resolved only from the first appended service.
   */
  startAt?: number;
}

const noType = () => validation("service type field can't be empty");
/** Every service type of the catalog, when the caller loaded them (for the error's list of valid ones). */
const catalogNames = new WeakMap<TypeMap, readonly string[]>();
export function rememberCatalogNames(types: TypeMap, names: readonly string[]): void {
  catalogNames.set(types, names);
}
const unsupported = (t: string, types?: TypeMap) => {
  const names = types && catalogNames.get(types);
  return validation(`service '${t}' is not supported${names ? `; ${validList(t, names, 'service types')}` : ''}`);
};
const badVersion = (t: string, v: string, type?: StoredServiceType) =>
  validation(`'${t}' service version '${v}' is not supported${type ? `; ${validList(v, type.Versions.map((x) => x.Version ?? ''), `versions of ${t}`)}` : ''}`);
const incompatible = (dep: string, svc: string) =>
  validation(`service '${dep}' has incompatible version for service '${svc}'`);
export const duplicateType = (t: string) => validation(`service type '${t}' appears more than once`);

/** The stored type and version a service will be deployed with; throws the original's 400s. */
export function typeAndVersion(
  s: Service,
  types: TypeMap,
  requireHealthCheck = false,
): { type: StoredServiceType; version: StoredVersion } {
  if (!s.Type) throw noType();
  const type = types.get(s.Type);
  if (!type) throw unsupported(s.Type, types);
  // The original answered 500 (a database-class error) for a catalog entry the user cannot fix by
  // retrying; it is the request that cannot be served, so 400.
  if (requireHealthCheck && type.HealthCheck.length === 0) {
    throw validation(`'${s.Type}' HealthCheck field is empty`);
  }
  const name = s.Version || type.DefaultVersion;
  if (!name) throw validation(`'${s.Type}' service version and default version are not specified`);
  const version = type.Versions.find((v) => v.Version === name);
  if (!version) throw badVersion(s.Type, name, type);
  return { type, version };
}

interface Requirement {
  dependent: string;
  dep: StoredDependency;
}

type Attempt =
  | { ok: true; services: Service[]; appended: number }
  | { ok: false; type: string; requirements: Requirement[]; failing: Requirement };

/**
 * Resolves dependencies: returns the services in request order with empty Versions defaulted and
 * Config present, followed by the automatically added dependency services (breadth-first, each
 * `{ID, Name: <parent Name>-dependent, Type, Version: DefaultServiceVersion, Config: {}}`).
 *
 * Requested services keep their IDs (the caller assigns them); only appended services get
 * `opts.newId()`, called once per appended service in output order.
 *
 * `types` must hold every type the resolution reaches: see `referencedTypeNames`/`loadTypeClosure`.
 * A type missing from it is reported as not supported.
 *
 * Order independence goes one step beyond defaulting first: when two services need the same absent
 * type with different default versions, the first one's default is tried, and if a later requirement
 * rules it out the resolution restarts with a version every requirement seen so far accepts. Versions
 * the user asked for (explicitly or by the type default) are never changed: they only fail.
 */
export function resolveServices(services: readonly Service[], types: TypeMap, opts: ResolveOptions): Service[] {
  const startAt = Math.min(Math.max(opts.startAt ?? 0, 0), services.length);
  const seen = new Set<string>();
  const listed = services.map((s, i): Service => {
    if (i < startAt) {
      if (s.Type) seen.add(s.Type);
      return s;
    }
    const { version } = typeAndVersion(s, types, opts.requireHealthCheck);
    const type = s.Type as string;
    if (seen.has(type)) throw duplicateType(type);
    seen.add(type);
    return { ...s, Version: version.Version, Config: s.Config ?? {} };
  });

  // Versions chosen for appended types after a conflict, and the versions still acceptable to every
  // requirement met so far. Each conflict on a type removes its current pin from `acceptable`, so the
  // loop ends after at most (number of versions) restarts per type.
  const pins = new Map<string, string>();
  const acceptable = new Map<string, Set<string>>();
  for (;;) {
    const attempt = expand(listed, startAt, types, opts.requireHealthCheck, pins);
    if (attempt.ok) {
      const out = attempt.services;
      for (let i = out.length - attempt.appended; i < out.length; i++) out[i] = { ID: opts.newId(), ...out[i] };
      return out;
    }
    const { type, requirements, failing } = attempt;
    const target = types.get(type) as StoredServiceType;
    let allowed = acceptable.get(type) ?? new Set(target.Versions.map((v) => v.Version));
    for (const r of requirements) allowed = new Set(r.dep.ServiceVersions.filter((v) => allowed.has(v)));
    acceptable.set(type, allowed);
    const preferred = [
      ...requirements.map((r) => r.dep.DefaultServiceVersion),
      ...target.Versions.map((v) => v.Version),
    ].find((v) => allowed.has(v) && target.Versions.some((x) => x.Version === v));
    if (preferred === undefined) throw incompatible(type, failing.dependent);
    pins.set(type, preferred);
  }
}

function expand(
  listed: readonly Service[],
  startAt: number,
  types: TypeMap,
  requireHealthCheck: boolean,
  pins: ReadonlyMap<string, string>,
): Attempt {
  const out: Service[] = [...listed];
  const byType = new Map<string, Service>();
  // First service of a type wins, like the original's lookup, should existing data hold duplicates.
  for (const s of out) if (s.Type && !byType.has(s.Type)) byType.set(s.Type, s);
  const appended = new Set<Service>();
  const requirements = new Map<string, Requirement[]>();

  // `out` grows while it is walked: the index is the queue head, the array end its tail.
  for (let head = startAt; head < out.length; head++) {
    const svc = out[head] as Service;
    const { version } = typeAndVersion(svc, types);
    for (const dep of version.Dependencies) {
      const req: Requirement = { dependent: svc.Type as string, dep };
      const reqs = requirements.get(dep.ServiceType) ?? [];
      reqs.push(req);
      requirements.set(dep.ServiceType, reqs);

      const present = byType.get(dep.ServiceType);
      if (present) {
        if (dep.ServiceVersions.includes(present.Version ?? '')) continue;
        if (appended.has(present)) return { ok: false, type: dep.ServiceType, requirements: reqs, failing: req };
        throw incompatible(dep.ServiceType, svc.Type as string);
      }
      const pinned = pins.get(dep.ServiceType);
      if (pinned !== undefined && !dep.ServiceVersions.includes(pinned)) {
        return { ok: false, type: dep.ServiceType, requirements: reqs, failing: req };
      }
      const added: Service = {
        Name: `${svc.Name ?? ''}-dependent`,
        Type: dep.ServiceType,
        Version: pinned ?? dep.DefaultServiceVersion,
        Config: {},
      };
      // An empty DefaultServiceVersion must not fall back to the type default: the dependency named
      // the version, and the catalog guarantees it is set.
      if (!added.Version) throw badVersion(dep.ServiceType, '');
      typeAndVersion(added, types, requireHealthCheck);
      out.push(added);
      byType.set(dep.ServiceType, added);
      appended.add(added);
    }
  }
  return { ok: true, services: out, appended: appended.size };
}

/**
 * Per-service validation of the original's step 8: type, version and every Config value against the
 * parameters of the service's version. Run it on resolved services (Versions already defaulted).
 */
export function validateClusterServices(services: readonly Service[], types: TypeMap): void {
  for (const s of services) {
    const { type, version } = typeAndVersion(s, types);
    validateServiceConfigs(type.Type, version.Configs, s.Config ?? {});
  }
}

/**
 * Names of the service types that resolving `services` may need and that `types` lacks: the types of
 * the services themselves and, transitively through the types already known, the types of their
 * dependencies. Dependency types are followed through every version their dependents accept (a
 * conflict may pick any of them), which can load a few types more than the resolution uses.
 *
 * Contract for callers (the domain does no I/O): start with what is at hand, load the returned
 * names, add what the store found, and call again until the result is empty or holds only names the
 * store did not find — then call `resolveServices`, which reports any still-missing type as not
 * supported. `loadTypeClosure` runs exactly this loop.
 */
export function referencedTypeNames(services: readonly Service[], types: TypeMap): string[] {
  const missing = new Set<string>();
  const visited = new Set<string>();
  const queue: Array<[string, string]> = [];
  for (const s of services) if (s.Type) queue.push([s.Type, s.Version ?? '']);
  for (let i = 0; i < queue.length; i++) {
    const [typeName, wanted] = queue[i] as [string, string];
    const type = types.get(typeName);
    if (!type) {
      missing.add(typeName);
      continue;
    }
    const versionName = wanted || type.DefaultVersion;
    const key = `${typeName}\u0000${versionName}`;
    if (visited.has(key)) continue;
    visited.add(key);
    const version = type.Versions.find((v) => v.Version === versionName);
    for (const dep of version?.Dependencies ?? []) {
      const candidates = new Set([dep.DefaultServiceVersion, ...dep.ServiceVersions].filter((v) => v));
      if (candidates.size === 0) queue.push([dep.ServiceType, '']);
      for (const v of candidates) queue.push([dep.ServiceType, v]);
    }
  }
  return [...missing];
}

/**
 * Runs the `referencedTypeNames` loop with the caller's loader. Names the loader does not return are
 * asked for once only, so an unknown type ends the loop instead of repeating it.
 */
export async function loadTypeClosure(
  services: readonly Service[],
  known: TypeMap,
  load: (names: string[]) => Promise<Iterable<StoredServiceType>>,
): Promise<Map<string, StoredServiceType>> {
  const types = new Map(known);
  const asked = new Set<string>();
  for (;;) {
    const names = referencedTypeNames(services, types).filter((n) => !asked.has(n));
    if (names.length === 0) return types;
    for (const n of names) asked.add(n);
    for (const t of await load(names)) types.set(t.Type, t);
  }
}
