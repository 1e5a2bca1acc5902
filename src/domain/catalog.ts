// Rules for service types, versions, configs and dependencies (reference §3.3), with the original's
// defects fixed: empty Type/Version refused, AnsibleVarName always derived from the type name,
// dependency versions can be removed, the whole PossibleValues list checked, 404-as-validation gone.
import type { ServiceType, ServiceVersion, ServiceConfig, ServiceDependency, ServicePort, HealthCheck } from './wire.js';
import { serviceClasses } from './wire.js';
import { validation, unmodified, notFound, MichmanError, ErrorClass } from './errors.js';
import { isSupportedParamType, normalizePossibleValues } from './configValues.js';
import { checkTypeName } from './names.js';
import { definedOnly } from './images.js';
import type { StoredServiceType, StoredVersion, StoredConfig, StoredDependency } from './stored.js';

/** Types named by dependencies, loaded by the caller before validation so the rules stay pure. */
export type TypeLookup = ReadonlyMap<string, Pick<StoredServiceType, 'Type' | 'Versions'>>;

type NewId = () => string;

export function checkClass(c: string | undefined): void {
  if (c === undefined || !serviceClasses.includes(c)) {
    throw validation(`class for service type is not supported: '${c ?? ''}' (use ${serviceClasses.join(', ')})`);
  }
}

export function checkPorts(accessPort: number | undefined, ports: ServicePort[] | undefined): void {
  // 0 means "none"; the original had no upper bound, but no port is above 65535 (as for Ports).
  if (accessPort !== undefined && accessPort !== 0 && (accessPort < 0 || accessPort > 65535)) {
    throw validation(`port is incorrect: AccessPort ${accessPort}`);
  }
  for (const p of ports ?? []) {
    if (p.Port === undefined || p.Port <= 0 || p.Port > 65535) throw validation(`port is incorrect: ${p.Port ?? 'missing'}`);
  }
}

/** Config rules shared by type, version and config creation. `taken` holds the version's names. */
export function checkNewConfig(typeName: string, c: ServiceConfig, taken: Set<string>, newId: NewId): StoredConfig {
  if (!isSupportedParamType(c.Type ?? '')) {
    throw validation(`parameter type must be int, float, bool, string. Got: ${c.Type ?? ''}`);
  }
  if (!c.ParameterName) throw validation('config parameter ParameterName must be set');
  if (taken.has(c.ParameterName)) throw validation(`config with parameter name ${c.ParameterName} is not unique`);
  taken.add(c.ParameterName);
  const possible = normalizePossibleValues({
    ParameterName: c.ParameterName,
    Type: c.Type!,
    IsList: c.IsList ?? false,
    PossibleValues: c.PossibleValues,
    DefaultValue: c.DefaultValue,
  });
  return {
    ID: newId(),
    ParameterName: c.ParameterName,
    Type: c.Type!,
    ...(possible === null ? {} : { PossibleValues: possible }),
    DefaultValue: c.DefaultValue ?? '',
    Required: c.Required ?? false,
    Description: c.Description ?? '',
    AnsibleVarName: `${typeName}_${c.ParameterName}`,
    IsList: c.IsList ?? false,
  };
}

/**
 * Dependency rules; `taken` holds the service types the version already depends on, `owner` is the
 * type the version belongs to: a dependency on it could never be met by a cluster (one version per
 * type) and would make the type undeletable, so it is refused (POST /configs could not create one).
 */
export function checkNewDependency(d: ServiceDependency, types: TypeLookup, taken: Set<string>, owner?: string): StoredDependency {
  const target = types.get(d.ServiceType ?? '');
  if (!target) throw notFound('service type', d.ServiceType ?? '');
  if (target.Type === owner) throw validation(`service type ${owner} can't depend on itself`);
  if (taken.has(target.Type)) throw validation(`dependency with service type ${target.Type} is not unique`);
  taken.add(target.Type);
  const list = checkDependencyVersions(target, d.ServiceVersions, d.DefaultServiceVersion);
  return {
    ServiceType: target.Type,
    ServiceVersions: list,
    DefaultServiceVersion: d.DefaultServiceVersion!,
    Description: d.Description ?? '',
  };
}

function checkDependencyVersions(
  target: Pick<StoredServiceType, 'Type' | 'Versions'>,
  versions: string[] | undefined,
  defaultVersion: string | undefined,
): string[] {
  if (!versions || versions.length === 0 || !defaultVersion) {
    throw validation("service default version | versions list in dependency can't be empty");
  }
  const known = new Set(target.Versions.map((v) => v.Version));
  for (const v of versions) {
    if (!known.has(v)) throw validation(`service version in versions list doesn't exist: '${v}' is not a version of ${target.Type}`);
  }
  if (!versions.includes(defaultVersion)) {
    throw validation(`service default version in dependencies doesn't exist: '${defaultVersion}' is not in ServiceVersions`);
  }
  return [...new Set(versions)];
}

export function checkNewVersion(
  typeName: string,
  v: ServiceVersion,
  types: TypeLookup,
  takenVersions: Set<string>,
  newId: NewId,
): StoredVersion {
  if (!v.Version) throw validation('version field must be set');
  if (takenVersions.has(v.Version)) throw validation(`version ${v.Version} is not unique`);
  takenVersions.add(v.Version);
  const names = new Set<string>();
  const configs = (v.Configs ?? []).map((c) => checkNewConfig(typeName, c, names, newId));
  const depTypes = new Set<string>();
  const deps = (v.Dependencies ?? []).map((d) => checkNewDependency(d, types, depTypes, typeName));
  return {
    ID: newId(),
    Version: v.Version,
    Description: v.Description ?? '',
    DownloadURL: v.DownloadURL ?? '',
    Configs: configs,
    Dependencies: deps,
  };
}

/** POST /configs after the existence check: steps 3–7 of the original. */
export function checkNewServiceType(t: ServiceType, types: TypeLookup, newId: NewId): StoredServiceType {
  if (!t.Type) throw validation("service type field 'Type' must be set");
  checkTypeName(t.Type);
  checkClass(t.Class);
  checkPorts(t.AccessPort, t.Ports);
  const taken = new Set<string>();
  const versions = (t.Versions ?? []).map((v) => checkNewVersion(t.Type!, v, types, taken, newId));
  if (!t.DefaultVersion || !taken.has(t.DefaultVersion)) {
    throw validation(`default version not found in versions list: '${t.DefaultVersion ?? ''}'`);
  }
  return {
    ID: newId(),
    Type: t.Type,
    Description: t.Description ?? '',
    DefaultVersion: t.DefaultVersion,
    Class: t.Class!,
    AccessPort: t.AccessPort ?? 0,
    Versions: versions,
    Ports: (t.Ports ?? []).map((p) => ({ Port: p.Port!, Description: p.Description ?? '' })),
    HealthCheck: (t.HealthCheck ?? []).map((h) => ({ ...h, ID: h.ID || newId() })),
  };
}

/** PUT /configs/{t}: Ports and HealthCheck, when sent, replace the stored lists. */
export function patchServiceType(stored: StoredServiceType, body: ServiceType, newId: NewId): StoredServiceType {
  if (body.ID || body.Type) throw validation("some service types fields can't be modified (ID, Type)");
  if (body.Versions !== undefined) {
    throw validation("service types versions field can't be modified in this response. Use specified one");
  }
  if (body.DefaultVersion !== undefined && !stored.Versions.some((v) => v.Version === body.DefaultVersion)) {
    throw validation(`default version not found in versions list: '${body.DefaultVersion}'`);
  }
  if (body.Class !== undefined) checkClass(body.Class);
  checkPorts(body.AccessPort, body.Ports);
  const patch = definedOnly(body);
  return {
    ...stored,
    ...patch,
    Versions: stored.Versions,
    Ports: body.Ports ? body.Ports.map((p) => ({ Port: p.Port!, Description: p.Description ?? '' })) : stored.Ports,
    // IDs as on create: kept when sent, generated otherwise.
    HealthCheck: body.HealthCheck ? body.HealthCheck.map((h) => ({ ...h, ID: h.ID || newId() })) : stored.HealthCheck,
  };
}

export function patchVersion(stored: StoredVersion, body: ServiceVersion): StoredVersion {
  if (body.ID || body.Version) throw unmodified("some service type version fields can't be modified (ID, Version)");
  if (body.Configs !== undefined || body.Dependencies !== undefined) {
    throw validation("service types version fields (config, dependencies) can't be modified in this response. Use specified one");
  }
  return {
    ...stored,
    Description: body.Description ?? stored.Description,
    DownloadURL: body.DownloadURL ?? stored.DownloadURL,
  };
}

/** DELETE …/versions/{v}: refused while it is the default or another type depends on it. */
export function checkVersionDeletable(
  type: StoredServiceType,
  version: string,
  dependents: Array<{ type: string; dependency: StoredDependency }>,
): void {
  for (const d of dependents) {
    if (d.dependency.ServiceVersions.includes(version)) {
      throw validation(`service type version ${version} presents in dependencies versions in ${d.type} service`);
    }
  }
  if (type.DefaultVersion === version) throw validation('service type version set in default version');
}

/** PUT …/configs/{p}: the merged parameter is checked as a whole (the original checked the request). */
export function patchConfig(typeName: string, stored: StoredConfig, body: ServiceConfig): StoredConfig {
  if (body.ParameterName || body.AnsibleVarName || body.ID) {
    throw unmodified("some service type version config fields can't be modified (ID, ParameterName, AnsibleVarName)");
  }
  if (body.Type !== undefined && !isSupportedParamType(body.Type)) {
    throw validation(`parameter type must be int, float, bool, string. Got: ${body.Type}`);
  }
  const merged: StoredConfig = { ...stored, ...definedOnly(body), ID: stored.ID, ParameterName: stored.ParameterName };
  const possible = normalizePossibleValues({
    ParameterName: merged.ParameterName,
    Type: merged.Type,
    IsList: merged.IsList,
    PossibleValues: merged.PossibleValues,
    DefaultValue: merged.DefaultValue,
  });
  const { PossibleValues: _drop, ...rest } = merged;
  void _drop;
  return { ...rest, ...(possible === null ? {} : { PossibleValues: possible }), AnsibleVarName: `${typeName}_${stored.ParameterName}` };
}

/** PUT …/dependencies/{t}: ServiceVersions, when sent, replaces the list (the original only grew it). */
export function patchDependency(stored: StoredDependency, body: ServiceDependency, target: TypeLookup): StoredDependency {
  if (body.ServiceType) throw validation("some service types version dependency fields can't be modified (Service Type)");
  const t = target.get(stored.ServiceType);
  if (!t) throw notFound('service type', stored.ServiceType);
  const versions = body.ServiceVersions ?? stored.ServiceVersions;
  const def = body.DefaultServiceVersion ?? stored.DefaultServiceVersion;
  return {
    ServiceType: stored.ServiceType,
    ServiceVersions: checkDependencyVersions(t, versions, def),
    DefaultServiceVersion: def,
    Description: body.Description ?? stored.Description,
  };
}

export function dependencyNotFound(serviceType: string, version: string): MichmanError {
  return new MichmanError(ErrorClass.ObjectNotFound, `service type ${serviceType} not found in dependencies of version ${version}`);
}

export type { HealthCheck };
