import type { Image, Flavor } from './wire.js';
import { validation } from './errors.js';

export function checkNewImage(i: Image): void {
  if (i.ID) throw validation("image ID is generated field. It can't be filled in by user");
  if (!i.Name) throw validation("image Name can't be empty");
  if (!i.AnsibleUser) throw validation("image AnsibleUser can't be empty");
  if (!i.CloudImageID) throw validation("image ImageID can't be empty");
}

/** Applies a PUT body: present fields replace stored ones; required ones cannot become empty. */
export function patchImage(stored: Required<Image>, body: Image): Required<Image> {
  if (body.ID) throw validation("some image fields can't be modified (ID)");
  for (const f of ['Name', 'AnsibleUser', 'CloudImageID'] as const) {
    if (body[f] === '') throw validation(`image ${f === 'CloudImageID' ? 'ImageID' : f} can't be empty`);
  }
  return { ...stored, ...definedOnly(body), ID: stored.ID };
}

const FLAVOR_NUMBERS = ['VCPUs', 'RAM', 'Disk'] as const;

export function checkNewFlavor(f: Flavor): void {
  if (f.ID) throw validation("flavor ID is generated field. It can't be filled in by user");
  if (!f.Name || FLAVOR_NUMBERS.some((k) => !f[k])) {
    throw validation("flavor Name | VCPUs | Disk | RAM can't be empty or equal to zero");
  }
  for (const k of FLAVOR_NUMBERS) {
    if ((f[k] ?? 0) < 0) throw validation(`flavor ${k} can't be less than or equal to zero`);
  }
}

export function patchFlavor(stored: Required<Flavor>, body: Flavor): Required<Flavor> {
  if (body.ID) throw validation("some flavor fields can't be modified (ID)");
  if (body.Name === '') throw validation("flavor Name can't be empty");
  for (const k of FLAVOR_NUMBERS) {
    const v = body[k];
    if (v !== undefined && v <= 0) throw validation(`flavor ${k} can't be less than or equal to zero`);
  }
  return { ...stored, ...definedOnly(body), ID: stored.ID };
}

/** Drops absent keys so a spread only overwrites what the client sent. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
