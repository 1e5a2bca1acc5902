// Nova key pairs. They have neither tags nor metadata, so the provider's own per-cluster pair is
// found by its name, which carries the cluster ID.
import type { Session } from '../identity/session.js';
import { OpenStackError } from '../http.js';

export interface Keypair {
  name: string;
  fingerprint?: string;
}

export async function getKeypair(s: Session, name: string, signal?: AbortSignal): Promise<Keypair | undefined> {
  try {
    return (await s.request<{ keypair: Keypair }>('compute', 'GET', `/os-keypairs/${encodeURIComponent(name)}`, undefined, { signal })).keypair;
  } catch (err) {
    if (err instanceof OpenStackError && err.notFound) return undefined;
    throw err;
  }
}

export async function listKeypairs(s: Session, signal?: AbortSignal): Promise<Keypair[]> {
  const r = await s.request<{ keypairs: Array<{ keypair: Keypair }> }>('compute', 'GET', '/os-keypairs', undefined, { signal });
  return r.keypairs.map((k) => k.keypair);
}

export async function createKeypair(s: Session, name: string, publicKey: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('compute', 'POST', '/os-keypairs', { keypair: { name, public_key: publicKey, type: 'ssh' } }, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.conflict)) throw err; // created by an earlier attempt
  }
}

export async function deleteKeypair(s: Session, name: string, signal?: AbortSignal): Promise<void> {
  try {
    await s.request('compute', 'DELETE', `/os-keypairs/${encodeURIComponent(name)}`, undefined, { signal });
  } catch (err) {
    if (!(err instanceof OpenStackError && err.notFound)) throw err;
  }
}
