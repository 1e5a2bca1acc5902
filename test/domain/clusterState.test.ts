import { describe, it, expect } from 'vitest';
import {
  BAD_STATUS,
  CLUSTER_STATUSES,
  CLUSTER_TRANSITIONS,
  OPERATION_KINDS,
  SETTLED_STATUSES,
  canStart,
  isClusterStatus,
  nextStatus,
  ownsStatus,
  statusOnAccept,
  statusOnFailure,
  statusOnStart,
  statusOnSuccess,
  type ClusterStatus,
  type OperationKind,
  type Trigger,
} from '../../src/domain/clusterState.js';
import { MichmanError } from '../../src/domain/errors.js';

const LIVE = CLUSTER_STATUSES.filter((s) => s !== 'DELETED');

// The whole table, written out: a change to the state machine must change this test.
const EXPECTED: Array<[ClusterStatus | null, Trigger, ClusterStatus]> = [
  [null, 'create.accept', 'INITED'],
  ['FAILED', 'create.accept', 'INITED'],
  ['INITED', 'create.start', 'CREATING'],
  ['CREATING', 'create.start', 'CREATING'],
  ['CREATING', 'create.succeed', 'ACTIVE'],
  ['INITED', 'create.fail', 'FAILED'],
  ['CREATING', 'create.fail', 'FAILED'],

  ['ACTIVE', 'update.accept', 'UPDATING'],
  ['FAILED', 'update.accept', 'UPDATING'],
  ['MISSING', 'update.accept', 'UPDATING'],
  ['DEGRADED', 'update.accept', 'UPDATING'],
  ['UPDATING', 'update.start', 'UPDATING'],
  ['UPDATING', 'update.succeed', 'ACTIVE'],
  ['UPDATING', 'update.fail', 'FAILED'],

  ['ACTIVE', 'scale.accept', 'UPDATING'],
  ['FAILED', 'scale.accept', 'UPDATING'],
  ['MISSING', 'scale.accept', 'UPDATING'],
  ['DEGRADED', 'scale.accept', 'UPDATING'],
  ['UPDATING', 'scale.start', 'UPDATING'],
  ['UPDATING', 'scale.succeed', 'ACTIVE'],
  ['UPDATING', 'scale.fail', 'FAILED'],

  ['ACTIVE', 'delete.accept', 'STOPPING'],
  ['FAILED', 'delete.accept', 'STOPPING'],
  ['MISSING', 'delete.accept', 'STOPPING'],
  ['DEGRADED', 'delete.accept', 'STOPPING'],
  ['STOPPING', 'delete.start', 'STOPPING'],
  ['STOPPING', 'delete.succeed', 'DELETED'],
  ['STOPPING', 'delete.fail', 'FAILED'],

  ['INITED', 'delete.force', 'STOPPING'],
  ['CREATING', 'delete.force', 'STOPPING'],
  ['ACTIVE', 'delete.force', 'STOPPING'],
  ['FAILED', 'delete.force', 'STOPPING'],
  ['UPDATING', 'delete.force', 'STOPPING'],
  ['STOPPING', 'delete.force', 'STOPPING'],
  ['MISSING', 'delete.force', 'STOPPING'],
  ['DEGRADED', 'delete.force', 'STOPPING'],

  ['ACTIVE', 'node.missing', 'MISSING'],
  ['DEGRADED', 'node.missing', 'MISSING'],
  ['MISSING', 'node.recovered', 'ACTIVE'],
  ['ACTIVE', 'service.unhealthy', 'DEGRADED'],
  ['DEGRADED', 'service.recovered', 'ACTIVE'],
];

const key = (from: ClusterStatus | null, trigger: string, to: string) => `${from ?? '-'} --${trigger}--> ${to}`;

function caught(fn: () => unknown): MichmanError | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MichmanError);
    return e as MichmanError;
  }
  return undefined;
}

describe('cluster statuses', () => {
  it('are the issue\'s statuses plus DELETED', () => {
    expect([...CLUSTER_STATUSES]).toEqual(['INITED', 'CREATING', 'ACTIVE', 'FAILED', 'UPDATING', 'STOPPING', 'MISSING', 'DEGRADED', 'DELETED']);
    expect([...OPERATION_KINDS]).toEqual(['create', 'update', 'scale', 'delete']);
    expect(SETTLED_STATUSES).toEqual(['ACTIVE', 'FAILED', 'MISSING', 'DEGRADED']);
    expect(isClusterStatus('ACTIVE')).toBe(true);
    expect(isClusterStatus('active')).toBe(false);
  });
});

describe('transition table', () => {
  it('is exactly the expected table, without duplicates', () => {
    const actual = CLUSTER_TRANSITIONS.map((t) => key(t.from, t.trigger, t.to));
    expect(new Set(actual).size).toBe(actual.length);
    expect([...actual].sort()).toEqual(EXPECTED.map(([f, t, to]) => key(f, t, to)).sort());
  });

  it('is deterministic: one target per (status, trigger)', () => {
    const seen = new Map<string, string>();
    for (const t of CLUSTER_TRANSITIONS) {
      const k = `${t.from}|${t.trigger}`;
      expect(seen.has(k)).toBe(false);
      seen.set(k, t.to);
    }
  });

  it('nextStatus follows the table and refuses the rest', () => {
    for (const [from, trigger, to] of EXPECTED) expect(nextStatus(from, trigger)).toBe(to);
    expect(nextStatus('ACTIVE', 'create.accept')).toBeUndefined();
    expect(nextStatus('INITED', 'update.accept')).toBeUndefined();
    expect(nextStatus('ACTIVE', 'create.succeed')).toBeUndefined();
    expect(nextStatus('DELETED', 'delete.force')).toBeUndefined();
    expect(nextStatus(null, 'delete.force')).toBeUndefined();
    expect(nextStatus('UPDATING', 'node.missing')).toBeUndefined();
  });

  it('every status but DELETED has an exit to another status', () => {
    for (const s of LIVE) {
      expect(CLUSTER_TRANSITIONS.some((t) => t.from === s && t.to !== s), s).toBe(true);
    }
    expect(CLUSTER_TRANSITIONS.some((t) => t.from === 'DELETED')).toBe(false);
  });

  it('DELETED is reachable from every status, and every status from "no cluster"', () => {
    const reach = (start: ClusterStatus | null): Set<ClusterStatus | null> => {
      const seen = new Set<ClusterStatus | null>([start]);
      const queue = [start];
      for (let i = 0; i < queue.length; i++) {
        for (const t of CLUSTER_TRANSITIONS) {
          if (t.from === queue[i] && !seen.has(t.to)) {
            seen.add(t.to);
            queue.push(t.to);
          }
        }
      }
      return seen;
    };
    for (const s of LIVE) expect(reach(s).has('DELETED'), s).toBe(true);
    expect([...reach(null)].filter((s) => s !== null).sort()).toEqual([...CLUSTER_STATUSES].sort());
  });

  it('an operation started in a status always ends it: succeed and fail exist from its running status', () => {
    for (const kind of OPERATION_KINDS) {
      expect(nextStatus(statusOnStart(kind), `${kind}.succeed`)).toBe(statusOnSuccess(kind));
      expect(nextStatus(statusOnStart(kind), `${kind}.fail`)).toBe(statusOnFailure(kind));
      expect(nextStatus(statusOnAccept(kind), `${kind}.start`)).toBe(statusOnStart(kind));
      expect(nextStatus(statusOnAccept(kind), `${kind}.fail`)).toBe(statusOnFailure(kind));
    }
  });
});

describe('statusOn*', () => {
  it('create: INITED (accepted) → CREATING → ACTIVE | FAILED', () => {
    expect([statusOnAccept('create'), statusOnStart('create'), statusOnSuccess('create'), statusOnFailure('create')]).toEqual([
      'INITED',
      'CREATING',
      'ACTIVE',
      'FAILED',
    ]);
  });
  it('update and scale: UPDATING → ACTIVE | FAILED', () => {
    for (const kind of ['update', 'scale'] as const) {
      expect([statusOnAccept(kind), statusOnStart(kind), statusOnSuccess(kind), statusOnFailure(kind)]).toEqual([
        'UPDATING',
        'UPDATING',
        'ACTIVE',
        'FAILED',
      ]);
    }
  });
  it('delete: STOPPING → DELETED (removed) | FAILED', () => {
    expect([statusOnAccept('delete'), statusOnStart('delete'), statusOnSuccess('delete'), statusOnFailure('delete')]).toEqual([
      'STOPPING',
      'STOPPING',
      'DELETED',
      'FAILED',
    ]);
  });
});

describe('canStart', () => {
  type Outcome = 'ok' | 'exists' | 'status' | 'notfound';
  const outcome = (kind: OperationKind, status: string | undefined, force = false): Outcome => {
    const e = caught(() => canStart(kind, status, { force, name: 'c1-proj' }));
    if (!e) return 'ok';
    if (e.errorClass === 600) {
      expect(e.message).toBe('cluster with this name or id (c1-proj) already exists');
      expect(e.status).toBe(400);
      return 'exists';
    }
    if (e.errorClass === 300) {
      expect(e.message).toBe("cluster status must be 'ACTIVE' or 'FAILED' for UPDATE or DELETE");
      expect(e.message).toBe(BAD_STATUS);
      expect(e.status).toBe(400);
      return 'status';
    }
    expect(e.errorClass).toBe(1000);
    expect(e.message).toBe('cluster with this name or id (c1-proj) does not exist');
    return 'notfound';
  };

  // Rows: stored status (undefined = no cluster). Columns: create, update, scale, delete, delete+force.
  const MATRIX: Array<[string | undefined, Outcome, Outcome, Outcome, Outcome, Outcome]> = [
    [undefined, 'ok', 'notfound', 'notfound', 'notfound', 'notfound'],
    ['DELETED', 'ok', 'notfound', 'notfound', 'notfound', 'notfound'],
    ['INITED', 'exists', 'status', 'status', 'status', 'ok'],
    ['CREATING', 'exists', 'status', 'status', 'status', 'ok'],
    ['ACTIVE', 'exists', 'ok', 'ok', 'ok', 'ok'],
    ['FAILED', 'ok', 'ok', 'ok', 'ok', 'ok'],
    ['UPDATING', 'exists', 'status', 'status', 'status', 'ok'],
    ['STOPPING', 'exists', 'status', 'status', 'status', 'ok'],
    ['MISSING', 'exists', 'ok', 'ok', 'ok', 'ok'],
    ['DEGRADED', 'exists', 'ok', 'ok', 'ok', 'ok'],
    // Data written by another version: only a forced delete is safe.
    ['WHATEVER', 'exists', 'status', 'status', 'status', 'ok'],
  ];

  it.each(MATRIX)('from %s: create=%s update=%s scale=%s delete=%s force-delete=%s', (status, c, u, s, d, f) => {
    expect(outcome('create', status)).toBe(c);
    expect(outcome('update', status)).toBe(u);
    expect(outcome('scale', status)).toBe(s);
    expect(outcome('delete', status)).toBe(d);
    expect(outcome('delete', status, true)).toBe(f);
  });

  it('force does not widen create, update or scale', () => {
    expect(outcome('update', 'CREATING', true)).toBe('status');
    expect(outcome('scale', 'STOPPING', true)).toBe('status');
    expect(outcome('create', 'ACTIVE', true)).toBe('exists');
  });

  it('agrees with the table', () => {
    for (const status of CLUSTER_STATUSES) {
      for (const kind of OPERATION_KINDS) {
        const allowed = caught(() => canStart(kind, status)) === undefined;
        const from = status === 'DELETED' ? null : status;
        expect(allowed, `${kind} from ${status}`).toBe(nextStatus(from, `${kind}.accept`) !== undefined);
      }
    }
  });

  it('works without a name, and with null for "no cluster"', () => {
    expect(caught(() => canStart('create', 'ACTIVE'))?.message).toBe('cluster with this name or id () already exists');
    expect(caught(() => canStart('create', null))).toBeUndefined();
  });
});

describe('ownsStatus', () => {
  it('an operation owns the statuses it set, and loses them to a forced delete', () => {
    expect(ownsStatus('create', 'INITED')).toBe(true);
    expect(ownsStatus('create', 'CREATING')).toBe(true);
    expect(ownsStatus('create', 'STOPPING')).toBe(false);
    expect(ownsStatus('update', 'UPDATING')).toBe(true);
    expect(ownsStatus('scale', 'UPDATING')).toBe(true);
    expect(ownsStatus('update', 'STOPPING')).toBe(false);
    expect(ownsStatus('delete', 'STOPPING')).toBe(true);
    expect(ownsStatus('delete', 'ACTIVE')).toBe(false);
    expect(ownsStatus('create', undefined)).toBe(false);
  });
});
