// Cinder's absolute limits and usage (volumes, gigabytes).
import type { Session } from '../identity/session.js';

export interface VolumeLimits {
  maxTotalVolumes: number;
  totalVolumesUsed: number;
  maxTotalVolumeGigabytes: number;
  totalGigabytesUsed: number;
}

export async function volumeLimits(s: Session, signal?: AbortSignal): Promise<VolumeLimits> {
  return (await s.request<{ limits: { absolute: VolumeLimits } }>('block-storage', 'GET', '/limits', undefined, { signal })).limits.absolute;
}
