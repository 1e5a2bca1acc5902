// Cinder volumes (an optional data volume for the storage node), found by metadata.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';
import { qs } from '../query.js';

export interface Volume {
  id: string;
  name: string;
  status: string;
  size: number;
  metadata: Record<string, string>;
  attachments?: Array<{ server_id: string }>;
}

export async function listVolumes(s: Session, metadata: Record<string, string> | undefined, signal?: AbortSignal): Promise<Volume[]> {
  const all = await s.requestAll<Volume>('block-storage', `/volumes/detail${qs({ metadata: metadata ? JSON.stringify(metadata) : undefined })}`, 'volumes', { signal });
  return all.filter((v) => !metadata || Object.entries(metadata).every(([k, x]) => v.metadata?.[k] === x));
}

export async function createVolume(s: Session, v: { name: string; size: number; metadata: Record<string, string> }, signal?: AbortSignal): Promise<Volume> {
  return (await s.request<{ volume: Volume }>('block-storage', 'POST', '/volumes', { volume: v }, { signal })).volume;
}

export async function getVolume(s: Session, id: string, signal?: AbortSignal): Promise<Volume | undefined> {
  try {
    return (await s.request<{ volume: Volume }>('block-storage', 'GET', `/volumes/${encodeURIComponent(id)}`, undefined, { signal })).volume;
  } catch (err) {
    if (err instanceof OpenStackError && err.notFound) return undefined;
    throw err;
  }
}

export async function deleteVolume(s: Session, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('block-storage', 'DELETE', `/volumes/${encodeURIComponent(id)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}
