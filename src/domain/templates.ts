// Templates: stored cluster shapes. The original validated nothing; here a template must be a
// cluster one could create: a good name, NSlaves >= 0, and services of existing types and versions.
import type { Template, Service } from './wire.js';
import { validation, generatedField, requiredField, notFound } from './errors.js';
import { checkDisplayName } from './names.js';
import { validateServiceConfigs } from './configValues.js';
import type { StoredServiceType } from './stored.js';

export type TypeByName = ReadonlyMap<string, StoredServiceType>;

export function checkTemplateBody(t: Template, forUpdate: boolean): void {
  for (const f of ['ID', 'ProjectID', 'Name'] as const) if (t[f]) throw generatedField('template', f);
  if (!forUpdate || t.DisplayName !== undefined) {
    if (!t.DisplayName) throw requiredField('template', 'DisplayName');
    checkDisplayName('template', t.DisplayName);
  }
  if (t.NSlaves !== undefined && t.NSlaves < 0) throw validation('NSlaves parameter must be number >= 0');
}

/** Services with IDs, defaulted versions and configs checked against their type's parameters. */
export function resolveTemplateServices(services: Service[], types: TypeByName, newId: () => string): Service[] {
  return services.map((s) => {
    if (!s.Type) throw validation('service type field can\'t be empty');
    const t = types.get(s.Type);
    if (!t) throw validation(`service '${s.Type}' is not supported`);
    const version = s.Version || t.DefaultVersion;
    const v = t.Versions.find((x) => x.Version === version);
    if (!v) throw validation(`'${s.Type}' service version '${version}' is not supported`);
    validateServiceConfigs(t.Type, v.Configs, s.Config ?? {});
    return { ...s, ID: newId(), Version: version, Config: s.Config ?? {} };
  });
}

export const templateServiceTypes = (services: Service[] | undefined): string[] =>
  [...new Set((services ?? []).map((s) => s.Type).filter((t): t is string => !!t))];

export { notFound };
