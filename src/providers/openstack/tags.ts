// How a resource says which cluster it belongs to. Neutron resources and Nova servers carry the
// tag; Nova servers and Cinder volumes also carry it as metadata; key pairs and server groups have
// neither, so their names carry the cluster ID.
export const TAG_PREFIX = 'michman-cluster-';
export const META_CLUSTER = 'michman_cluster';
export const META_ROLE = 'michman_role';
export const META_NODE = 'michman_node';

export const clusterTag = (clusterId: string) => `${TAG_PREFIX}${clusterId}`;
export const clusterOfTags = (tags: readonly string[] | undefined): string | undefined =>
  (tags ?? []).find((t) => t.startsWith(TAG_PREFIX))?.slice(TAG_PREFIX.length);

/** Security group: the original's `<C>` plus the cluster ID, so two clusters never share a name. */
export const securityGroupName = (clusterName: string, clusterId: string) => `${clusterName}-${clusterId}`;
export const keypairName = (clusterId: string) => `michman-${clusterId}`;
export const serverGroupName = (clusterId: string) => `michman-${clusterId}`;
/** Cluster ID in a name made by the functions above (uuid at the end). */
export const clusterOfName = (name: string): string | undefined =>
  /(?:^michman-|-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(name)?.[1];

/** Ports carry this description from their creation, so one whose tagging was lost is still ours. */
export const portDescription = (clusterId: string) => `michman ${clusterId}`;
export const clusterOfPortDescription = (d: string | undefined): string | undefined => /^michman ([0-9a-f-]{36})$/.exec(d ?? '')?.[1];
