// Strict input, with help: a query parameter or body field the route does not have is a 400 that
// names it and the closest valid name, instead of being ignored (`?dryrun=true` used to create a real
// cluster, `"NSlave": 3` used to be dropped). Checked once for every documented route, from the
// same schemas that validate the values and make the OpenAPI document.
import type { TSchema } from '@sinclair/typebox';
import { MichmanError, ErrorClass } from '../domain/errors.js';
import type { UnknownKey } from '../domain/normalize.js';
import { hint } from '../domain/suggest.js';

/** Query parameter names a route's querystring schema declares (none without one). */
function queryNames(schema: TSchema | undefined): { names: string[]; open: boolean } {
  if (!schema) return { names: [], open: false };
  const s = schema as TSchema & { properties?: Record<string, unknown>; additionalProperties?: unknown };
  return { names: Object.keys(s.properties ?? {}), open: s.additionalProperties === true };
}

/** 400 naming every query parameter the route does not have, with the closest valid name; undefined when all are known. */
export function unknownQueryError(query: unknown, schema: TSchema | undefined): MichmanError | undefined {
  if (query === null || typeof query !== 'object') return undefined;
  const { names, open } = queryNames(schema);
  if (open) return undefined;
  const bad = Object.keys(query).filter((k) => !names.includes(k));
  if (bad.length === 0) return undefined;
  return new MichmanError(ErrorClass.InputIncorrect, bad.map((k) => `unknown query parameter '${k}'; ${hint(k, names)}`).join('; '));
}

/** 400 naming every unknown body field (with its path) and the closest valid name there. */
export function unknownFieldsError(unknown: readonly UnknownKey[]): MichmanError | undefined {
  if (unknown.length === 0) return undefined;
  return new MichmanError(ErrorClass.InputIncorrect, unknown.map((u) => `unknown field '${u.path}'; ${hint(u.key, u.valid)}`).join('; '));
}
