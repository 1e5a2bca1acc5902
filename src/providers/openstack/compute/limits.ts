// Nova's absolute limits and usage of the project (instances, cores, RAM).
import type { Session } from '../identity/session.js';

export interface ComputeLimits {
  maxTotalInstances: number;
  totalInstancesUsed: number;
  maxTotalCores: number;
  totalCoresUsed: number;
  maxTotalRAMSize: number;
  totalRAMUsed: number;
}

export async function computeLimits(s: Session, signal?: AbortSignal): Promise<ComputeLimits> {
  const r = await s.request<{ limits: { absolute: ComputeLimits } }>('compute', 'GET', '/limits', undefined, { signal });
  return r.limits.absolute;
}
