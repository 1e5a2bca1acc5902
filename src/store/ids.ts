import { randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

// The original looked a path value up by ID when Go's uuid.Parse accepted it: canonical 36 chars,
// {braced}, urn:uuid: prefixed, or 32 bare hex digits. Returns the lower-case canonical form.
const HEX32 = /^[0-9a-f]{32}$/i;
export function parseUuid(v: string): string | undefined {
  let s = v;
  if (s.length === 45 && s.slice(0, 9).toLowerCase() === 'urn:uuid:') s = s.slice(9);
  else if (s.length === 38 && s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  let hex: string;
  if (s.length === 36) {
    if (s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return undefined;
    hex = s.replaceAll('-', '');
  } else if (s.length === 32) hex = s;
  else return undefined;
  if (!HEX32.test(hex)) return undefined;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
