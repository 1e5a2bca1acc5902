// Creating service types, shared by POST /configs, `michman catalog import` and the built-in
// catalog loaded on first start, so all three apply the same rules.
import { readFileSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { PACKAGE_ROOT } from './paths.js';
import { Value } from '@sinclair/typebox/value';
import type { Store } from './store/store.js';
import { ServiceTypeSchema, type ServiceType } from './domain/wire.js';
import { checkNewServiceType } from './domain/catalog.js';
import type { StoredServiceType } from './domain/stored.js';
import { exists, jsonError } from './domain/errors.js';
import { normalizeKeys } from './domain/normalize.js';
import { newId } from './store/ids.js';

export const BUILTIN_CATALOG_DIR = join(PACKAGE_ROOT, 'catalog');

export async function createServiceType(store: Store, body: ServiceType): Promise<StoredServiceType> {
  const targets = (body.Versions ?? []).flatMap((v) => v.Dependencies ?? []).map((d) => d.ServiceType ?? '').filter(Boolean);
  return store.transaction(async (tx) => {
    // Shared locks first: the versions the dependencies list cannot be deleted meanwhile.
    await tx.serviceTypes.lockShared(targets);
    if (body.Type && (await tx.serviceTypes.findRow(body.Type))) throw exists('service type', body.Type);
    const refs = await tx.serviceTypes.findByNames(targets);
    const next = checkNewServiceType(body, refs, newId);
    await tx.serviceTypes.insert(next);
    return next;
  });
}

/** Parses a service-type document the way the API does: case-insensitive keys, schema-checked. */
export function parseServiceType(text: string, source: string): ServiceType {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw jsonError(`${source}: ${(err as Error).message}`);
  }
  const body = normalizeKeys(raw, ServiceTypeSchema);
  const first = Value.Errors(ServiceTypeSchema, body).First();
  if (first) throw jsonError(`${source}: field '${first.path.slice(1).replaceAll('/', '.') || '(body)'}' ${first.message}`);
  return body as ServiceType;
}

/** Orders documents so each comes after the types its versions depend on (when both are given). */
export function dependencyOrder(docs: ServiceType[]): ServiceType[] {
  // The first document of a Type is the one dependencies point at; later ones with the same Type
  // (or none) are still returned, so importing them reports "already exists" instead of skipping them.
  const byType = new Map<string, ServiceType>();
  for (const d of docs) if (d.Type && !byType.has(d.Type)) byType.set(d.Type, d);
  const out: ServiceType[] = [];
  const seen = new Set<ServiceType>();
  const visit = (d: ServiceType) => {
    if (seen.has(d)) return; // done, or a cycle that the dependency rules will report
    seen.add(d);
    for (const v of d.Versions ?? []) for (const dep of v.Dependencies ?? []) {
      const target = byType.get(dep.ServiceType ?? '');
      if (target) visit(target);
    }
    out.push(d);
  };
  docs.forEach(visit);
  return out;
}

export interface ImportResult {
  source: string;
  type?: string;
  error?: string;
}

/** Imports files in dependency order; one bad file does not stop the others. */
export async function importCatalogFiles(store: Store, files: string[]): Promise<ImportResult[]> {
  const results: ImportResult[] = [];
  const docs: Array<{ doc: ServiceType; source: string }> = [];
  for (const f of files) {
    try {
      docs.push({ doc: parseServiceType(readFileSync(f, 'utf8'), basename(f)), source: f });
    } catch (err) {
      results.push({ source: f, error: (err as Error).message });
    }
  }
  const sourceOf = new Map(docs.map((d) => [d.doc, d.source]));
  for (const doc of dependencyOrder(docs.map((d) => d.doc))) {
    const source = sourceOf.get(doc)!;
    try {
      const t = await createServiceType(store, doc);
      results.push({ source, type: t.Type });
    } catch (err) {
      results.push({ source, type: doc.Type, error: (err as Error).message });
    }
  }
  return results;
}

export function builtinCatalogFiles(dir = BUILTIN_CATALOG_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => join(dir, f));
}

/** Loads the built-in catalog when no service type exists yet (first start). */
export async function loadBuiltinCatalogIfEmpty(store: Store): Promise<ImportResult[] | undefined> {
  const any = await store.serviceTypes.listSummaries({ limit: 1 });
  if (any.items.length > 0) return undefined;
  return importCatalogFiles(store, builtinCatalogFiles());
}
