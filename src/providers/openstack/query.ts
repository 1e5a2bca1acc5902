// Query strings for OpenStack list calls (undefined values left out).
export function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.append(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** IDs in OpenStack are UUIDs; anything else given where "name or ID" is allowed is a name. */
export const looksLikeId = (v: string) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v);

/** Nova's `name` filter is a regular expression: match one name exactly. */
export const exactName = (name: string) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
