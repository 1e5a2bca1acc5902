// Glance images by ID or by name.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs, looksLikeId } from '../query.js';

export interface Image {
  id: string;
  name: string;
  status: string;
}

export async function findImage(s: Session, nameOrId: string, signal?: AbortSignal): Promise<Image | undefined> {
  if (looksLikeId(nameOrId)) {
    try {
      return await s.request<Image>('image', 'GET', `/images/${encodeURIComponent(nameOrId)}`, undefined, { signal });
    } catch (err) {
      if (!(err instanceof OpenStackError && err.notFound)) throw err;
    }
  }
  const r = await s.request<{ images: Image[] }>('image', 'GET', `/images${qs({ name: nameOrId })}`, undefined, { signal });
  return r.images.find((i) => i.status === 'active') ?? r.images[0];
}
