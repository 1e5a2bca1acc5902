export { NspawnProvider, DEFAULT_NSPAWN_NETWORK, sshOptions, type NspawnProviderOptions } from './provider.js';
export { ClusterKeys, type ClusterKey } from './clusterKeys.js';
export { preflight } from '../../host/run.js';
