// The cluster use cases (DESIGN.md "clusters/"): plain input in, result out, one transaction each.
// Called by api/ only; they know nothing of HTTP.
export type { ClusterDeps, ClusterLogSource, QuotaCheck, ServiceCheck } from './deps.js';
export { createCluster, type CreateInput, type CreateResult } from './create.js';
export { updateCluster, scaleCluster, type UpdateInput, type UpdateResult } from './update.js';
export { deleteCluster, type DeleteInput, type DeleteResult } from './delete.js';
export { retryOperation, cancelOperation, getOperation, listOperations, lastOperationEvents, clusterLog, LOG_ACTIONS, type LogAction } from './operations.js';
export { projectOf, clusterOf, historyOf } from './lookup.js';
export { listClusters, listEvents } from './queries.js';
export { clusterCredentials } from './credentials.js';
export { sealStoredPasswords } from './secrets.js';
