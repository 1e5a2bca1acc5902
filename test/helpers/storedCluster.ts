// A cluster row as the store keeps it, for store tests: project, name and whatever else a test sets.
import { randomUUID } from 'node:crypto';
import type { StoredCluster } from '../../src/store/repos/clusters.js';

export function storedCluster(projectId: string, name: string, set: Partial<StoredCluster> = {}): StoredCluster {
  return {
    ID: randomUUID(),
    Name: name,
    DisplayName: name,
    HostURL: '',
    EntityStatus: 'ACTIVE',
    ClusterType: '',
    Services: [],
    NSlaves: 1,
    MasterIP: '',
    ProjectID: projectId,
    OwnerID: 'anonymous',
    Description: '',
    Image: 'ubuntu',
    Keys: [],
    Monitoring: false,
    MasterFlavor: 'small',
    SlavesFlavor: 'small',
    StorageFlavor: 'small',
    MonitoringFlavor: 'small',
    ...set,
  };
}

/** A redis service of a stored cluster. */
export const redisService = (): StoredCluster['Services'][number] => ({ ID: randomUUID(), Name: 'redis', Type: 'redis', Version: '7.0', Config: {}, DisplayName: 'redis', Description: '', EntityStatus: '', URL: '' });
