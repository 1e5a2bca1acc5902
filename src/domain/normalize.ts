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

/** Maps keys to the schema's spelling, recursively; maps (Config) keep their keys untouched. */
export function normalizeKeys(value: unknown, schema: Schema | undefined): unknown {
  if (!schema) return value;
  if (schema.properties && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const props = schema.properties;
    const lower = keyMap(props);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const canon = Object.hasOwn(props, k) ? k : lower.get(k.toLowerCase());
      if (canon === undefined || v === null) continue;
      out[canon] = normalizeKeys(v, props[canon] as Schema);
    }
    return out;
  }
  if (schema.type === 'array' && Array.isArray(value)) return value.map((v) => normalizeKeys(v, schema.items as Schema));
  return value;
}

