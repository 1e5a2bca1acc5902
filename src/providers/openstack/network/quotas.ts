// Neutron quotas with usage (the details extension): floating IPs, security groups, ports.
import type { Session } from '../identity/session.js';

export interface QuotaDetail {
  limit: number;
  used: number;
  reserved?: number;
}

export async function networkQuotas(s: Session, projectId: string, signal?: AbortSignal): Promise<Record<string, QuotaDetail>> {
  const r = await s.request<{ quota: Record<string, QuotaDetail> }>('network', 'GET', `/quotas/${encodeURIComponent(projectId)}/details.json`, undefined, { signal });
  return r.quota;
}
