// Neutron tags: one PUT per tag (the form every Neutron since Mitaka accepts).
import type { Session } from '../identity/session.js';

export type TaggedResource = 'ports' | 'floatingips' | 'security-groups' | 'networks';

export async function addTag(s: Session, resource: TaggedResource, id: string, tag: string, signal?: AbortSignal): Promise<void> {
  await s.request('network', 'PUT', `/${resource}/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag)}`, undefined, { signal });
}
