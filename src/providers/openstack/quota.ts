// What a cluster needs from the project (instances, cores, RAM, floating IPs, a security group,
// volumes) against Nova's, Neutron's and Cinder's limits and current usage.
import type { OperationPlan } from '../../domain/plan.js';
import type { QuotaItem, QuotaReport } from '../types.js';
import type { Session } from './identity/session.js';
import type { Flavor } from './compute/flavors.js';
import { computeLimits } from './compute/limits.js';
import { networkQuotas } from './network/quotas.js';
import { volumeLimits } from './blockstorage/limits.js';

function item(resource: string, need: number, limit: number, used: number): QuotaItem {
  const unlimited = limit < 0;
  const available = unlimited ? null : Math.max(0, limit - used);
  return { resource, need, limit: unlimited ? null : limit, used, available, short: available !== null && need > available };
}

export async function checkQuota(
  s: Session,
  plan: OperationPlan,
  o: { flavor(name: string): Promise<Flavor>; floatingIps: boolean; storageVolumeGb: number; signal: AbortSignal },
): Promise<QuotaReport> {
  const flavors = await Promise.all(plan.nodes.map((n) => o.flavor(n.flavor)));
  const cores = flavors.reduce((a, f) => a + f.vcpus, 0);
  const ram = flavors.reduce((a, f) => a + f.ram, 0);
  const projectId = await s.projectId(o.signal);
  const [nova, neutron] = await Promise.all([computeLimits(s, o.signal), networkQuotas(s, projectId, o.signal)]);
  const n = (k: string) => neutron[k] ?? { limit: -1, used: 0 };
  const items = [
    item('instances', plan.nodes.length, nova.maxTotalInstances, nova.totalInstancesUsed),
    item('cores', cores, nova.maxTotalCores, nova.totalCoresUsed),
    item('ram_mb', ram, nova.maxTotalRAMSize, nova.totalRAMUsed),
    item('security_groups', 1, n('security_group').limit, n('security_group').used),
    item('ports', plan.nodes.length, n('port').limit, n('port').used),
  ];
  if (o.floatingIps) items.push(item('floating_ips', plan.nodes.length, n('floatingip').limit, n('floatingip').used));
  if (o.storageVolumeGb > 0 && plan.nodes.some((x) => x.role === 'storage')) {
    const c = await volumeLimits(s, o.signal);
    items.push(item('volumes', 1, c.maxTotalVolumes, c.totalVolumesUsed));
    items.push(item('volume_gb', o.storageVolumeGb, c.maxTotalVolumeGigabytes, c.totalGigabytesUsed));
  }
  return { ok: !items.some((i) => i.short), items };
}
