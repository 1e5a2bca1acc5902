// Go's JSON decoder matched keys to struct fields case-insensitively and ignored unknown keys and
// nulls; clients of the original rely on that, so bodies are mapped onto the schema's spelling first.
import type { TSchema } from '@sinclair/typebox';

type Schema = TSchema & { properties?: Record<string, TSchema>; items?: TSchema; type?: string };
const lowerKeys = new WeakMap<object, Map<string, string>>();

function keyMap(props: Record<string, TSchema>): Map<string, string> {
  let m = lowerKeys.get(props);
  if (!m) {
    m = new Map(Object.keys(props).map((k) => [k.toLowerCase(), k]));
    lowerKeys.set(props, m);
  }
  return m;
}

/** A key the schema does not have: where it was (`Services[0].Verison`), and the names valid there. */
export interface UnknownKey {
  path: string;
  key: string;
  valid: string[];
}

/**
 * Maps keys to the schema's spelling, recursively; maps (Config) keep their keys untouched. Keys the
 * schema lacks are dropped, and reported to `unknown` when given (the API refuses them; the
 * catalog import of the original's files ignores them, as the original did).
 */
export function normalizeKeys(value: unknown, schema: Schema | undefined, unknown?: UnknownKey[], path = ''): unknown {
  if (!schema) return value;
  if (schema.properties && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const props = schema.properties;
    const lower = keyMap(props);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const canon = Object.hasOwn(props, k) ? k : lower.get(k.toLowerCase());
      if (canon === undefined) {
        // Where the schema allows other keys (additionalProperties true) they are not mistakes.
        if (unknown && (schema as { additionalProperties?: unknown }).additionalProperties !== true) unknown.push({ path: path ? `${path}.${k}` : k, key: k, valid: Object.keys(props) });
        continue;
      }
      if (v === null) continue;
      out[canon] = normalizeKeys(v, props[canon] as Schema, unknown, path ? `${path}.${canon}` : canon);
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value)) return value.map((v, i) => normalizeKeys(v, schema.items as Schema, unknown, `${path}[${i}]`));
  return value;
}

