// The cluster status state machine (reference §2.9, issue 3 point 2).
//
// The original had INITED/ACTIVE/FAILED/STOPPING only, set some of them in memory only, and left a
// cluster stuck in INITED or STOPPING forever when the REST process died mid-launch. Here a status
// names what is happening (CREATING, UPDATING) and every status has an exit: a forced delete is
// accepted from any of them, and the operation that set a transient status always ends it.
import { exists, notFound, validation } from './errors.js';

export const CLUSTER_STATUSES = [
  'INITED', // create accepted, waiting for a worker
  'CREATING',
  'ACTIVE',
  'FAILED',
  'UPDATING', // update or scale running
  'STOPPING', // delete accepted or running
  'MISSING', // a provider reported a node of an ACTIVE cluster gone
  'DEGRADED', // a service of an ACTIVE cluster fails its periodic health check
  'DELETED', // removed: no longer listed; its operations and events stay readable
] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

export const OPERATION_KINDS = ['create', 'update', 'scale', 'delete'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * accept: the request is taken (status written with the operation row, in one transaction);
 * start: a worker claims the operation, also when it reclaims one whose lease expired;
 * succeed / fail: the operation ends (a cancelled operation ends as failed).
 */
export type OperationPhase = 'accept' | 'start' | 'succeed' | 'fail';

export type Trigger =
  | `${OperationKind}.${OperationPhase}`
  /** DELETE ?force=true: accepted whatever the status, so no cluster can be stuck. */
  | 'delete.force'
  /** Observations of a provider, outside any operation. */
  | 'node.missing'
  | 'node.recovered'
  /** The periodic health check (engine/healthMonitor.ts): a service fails it, or all pass again. */
  | 'service.unhealthy'
  | 'service.recovered';

/** `from: null` is "no such cluster": only a create can start there. */
export interface Transition {
  readonly from: ClusterStatus | null;
  readonly trigger: Trigger;
  readonly to: ClusterStatus;
}

// Statuses in which no operation owns the cluster. MISSING belongs here (an extension of the issue's
// "ACTIVE and FAILED"): the user must be able to repair (update, scale) or delete a cluster that lost
// a node without forcing.
// DEGRADED too: a cluster with a sick service is repaired by an update or removed like any other.
export const SETTLED_STATUSES: readonly ClusterStatus[] = ['ACTIVE', 'FAILED', 'MISSING', 'DEGRADED'];
const LIVE_STATUSES: readonly ClusterStatus[] = CLUSTER_STATUSES.filter((s) => s !== 'DELETED');

interface KindRule {
  /** Where the operation may be accepted without force. */
  readonly from: readonly (ClusterStatus | null)[];
  readonly accepted: ClusterStatus;
  readonly running: ClusterStatus;
  readonly succeeded: ClusterStatus;
  readonly failed: ClusterStatus;
}

export const OPERATION_RULES: Readonly<Record<OperationKind, KindRule>> = {
  // FAILED → create is the original's "POST the name of a FAILED cluster" retry.
  create: { from: [null, 'FAILED'], accepted: 'INITED', running: 'CREATING', succeeded: 'ACTIVE', failed: 'FAILED' },
  update: { from: SETTLED_STATUSES, accepted: 'UPDATING', running: 'UPDATING', succeeded: 'ACTIVE', failed: 'FAILED' },
  scale: { from: SETTLED_STATUSES, accepted: 'UPDATING', running: 'UPDATING', succeeded: 'ACTIVE', failed: 'FAILED' },
  delete: { from: SETTLED_STATUSES, accepted: 'STOPPING', running: 'STOPPING', succeeded: 'DELETED', failed: 'FAILED' },
};

function buildTransitions(): Transition[] {
  const t: Transition[] = [];
  for (const kind of OPERATION_KINDS) {
    const r = OPERATION_RULES[kind];
    for (const from of r.from) t.push({ from, trigger: `${kind}.accept`, to: r.accepted });
    // A create is claimed from INITED; a reclaimed (lease expired) operation starts again from the
    // status it had already set.
    for (const from of new Set([r.accepted, r.running])) t.push({ from, trigger: `${kind}.start`, to: r.running });
    t.push({ from: r.running, trigger: `${kind}.succeed`, to: r.succeeded });
    // A queued operation can fail before any worker ran it (cancel, deadline).
    for (const from of new Set([r.accepted, r.running])) t.push({ from, trigger: `${kind}.fail`, to: r.failed });
  }
  for (const from of LIVE_STATUSES) t.push({ from, trigger: 'delete.force', to: 'STOPPING' });
  t.push({ from: 'ACTIVE', trigger: 'node.missing', to: 'MISSING' });
  t.push({ from: 'DEGRADED', trigger: 'node.missing', to: 'MISSING' });
  t.push({ from: 'MISSING', trigger: 'node.recovered', to: 'ACTIVE' });
  t.push({ from: 'ACTIVE', trigger: 'service.unhealthy', to: 'DEGRADED' });
  t.push({ from: 'DEGRADED', trigger: 'service.recovered', to: 'ACTIVE' });
  return t;
}

/** Every allowed transition; anything not listed is refused. Engine and documentation read this. */
export const CLUSTER_TRANSITIONS: readonly Transition[] = buildTransitions();

const asStatus = (s: string | null | undefined): ClusterStatus | null | 'UNKNOWN' => {
  if (s === null || s === undefined || s === 'DELETED') return null;
  return (CLUSTER_STATUSES as readonly string[]).includes(s) ? (s as ClusterStatus) : 'UNKNOWN';
};

/** The status `trigger` leads to from `from`, or undefined when the table does not allow it. */
export function nextStatus(from: ClusterStatus | null, trigger: Trigger): ClusterStatus | undefined {
  return CLUSTER_TRANSITIONS.find((t) => t.from === from && t.trigger === trigger)?.to;
}

export const BAD_STATUS = "cluster status must be 'ACTIVE' or 'FAILED' for UPDATE or DELETE";

/**
 * Whether an operation of `kind` may be accepted for a cluster in `status` (undefined/null: no such
 * cluster). Throws the original's errors: 600 "already exists" for a create over a cluster that is
 * not FAILED, 300 BAD_STATUS for update/scale/delete elsewhere than ACTIVE/FAILED/MISSING (delete with
 * `force` is accepted from any status), 404 for update/scale/delete of no cluster. `name` fills the
 * 600/404 messages. Statuses this version does not know (older data) allow only a forced delete.
 */
export function canStart(
  kind: OperationKind,
  status: string | null | undefined,
  opts: { force?: boolean; name?: string } = {},
): void {
  const from = asStatus(status);
  const name = opts.name ?? '';
  if (kind === 'create') {
    if (from === 'UNKNOWN' || nextStatus(from, 'create.accept') === undefined) throw exists('cluster', name);
    return;
  }
  if (from === null) throw notFound('cluster', name);
  if (kind === 'delete' && opts.force === true) return;
  if (from === 'UNKNOWN' || nextStatus(from, `${kind}.accept`) === undefined) throw validation(BAD_STATUS);
}

/** Status written together with the accepted operation row. */
export const statusOnAccept = (kind: OperationKind): ClusterStatus => OPERATION_RULES[kind].accepted;
/** Status written when a worker claims (or reclaims) the operation. */
export const statusOnStart = (kind: OperationKind): ClusterStatus => OPERATION_RULES[kind].running;
/** DELETED means: remove the cluster from lists. */
export const statusOnSuccess = (kind: OperationKind): ClusterStatus => OPERATION_RULES[kind].succeeded;
export const statusOnFailure = (kind: OperationKind): ClusterStatus => OPERATION_RULES[kind].failed;

/**
 * Whether an operation of `kind` still owns a cluster in `status`, i.e. may write its success or
 * failure status. A forced delete takes a cluster over from a running operation; that operation must
 * then end without overwriting STOPPING (write the status with a compare on this).
 */
export function ownsStatus(kind: OperationKind, status: string | null | undefined): boolean {
  const r = OPERATION_RULES[kind];
  return status === r.accepted || status === r.running;
}

/** The statuses in which an operation of `kind` owns its cluster (for compare-and-set writes). */
export const ownedStatuses = (kind: OperationKind): ClusterStatus[] => [OPERATION_RULES[kind].accepted, OPERATION_RULES[kind].running];

export function isClusterStatus(s: string): s is ClusterStatus {
  return (CLUSTER_STATUSES as readonly string[]).includes(s);
}
