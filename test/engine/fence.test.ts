// The fence: a worker whose lease renewals stop getting through (a stalled database connection, a
// loaded host) stops its operation's steps before the lease lapses, so the worker that takes the
// operation over is the only one running it; the node the first worker had requested is found and
// waited for, not made a second time.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { backends } from '../helpers/stores.js';
import { openApi, image, flavor, project, type Api } from '../helpers/api.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import type { Provider, ProvisionedNode, StepContext, NodeSpec } from '../../src/providers/types.js';
import type { Store } from '../../src/store/index.js';

const backend = backends()[0]!;
const LEASE_MS = 1_000;

/** The shared cloud as one worker sees it: when its node requests were aborted, how many completed. */
class Watched implements Provider {
  readonly name = 'fake';
  readonly aborted: number[] = [];
  completed = 0;
  constructor(private readonly cloud: FakeProvider) {}
  async ensureNode(ctx: StepContext, spec: NodeSpec): Promise<ProvisionedNode> {
    ctx.signal.addEventListener('abort', () => this.aborted.push(Date.now()), { once: true });
    const n = await this.cloud.ensureNode(ctx, spec);
    this.completed++;
    return n;
  }
  waitReachable(ctx: StepContext, node: ProvisionedNode) {
    return this.cloud.waitReachable();
  }
  deleteNode(ctx: StepContext, node: Pick<ProvisionedNode, 'name' | 'providerId'>) {
    return this.cloud.deleteNode(ctx, node);
  }
  listNodes(ctx: StepContext) {
    return this.cloud.listNodes(ctx);
  }
}

/** The store, except that every heartbeat hangs: the worker's renewals never get through. */
function withHangingHeartbeats(store: Store): Store {
  const operations = new Proxy(store.operations, {
    get(target, p) {
      if (p === 'heartbeatMany') return () => new Promise(() => undefined);
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return new Proxy(store, {
    get(target, p) {
      if (p === 'operations') return operations;
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe(`the worker's fence [${backend.name}]`, () => {
  let api: Api;
  let close: () => Promise<void>;
  const workers: Worker[] = [];
  beforeAll(async () => {
    ({ api, close } = await openApi(backend));
    await api.post('/images', image());
    await api.post('/flavors', flavor());
    expect((await api.post('/projects', project('fence'))).status).toBe(201);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await close?.();
  });

  it('stops the steps of an operation whose lease it could not renew before the lease lapses, and the next worker makes no node twice', async () => {
    const store = api.store;
    // Nodes take three leases to boot: without the fence the first worker would still be booting
    // long after the second took over.
    const cloud = new FakeProvider({ bootLatencyMs: 3 * LEASE_MS });
    const first = new Watched(cloud);
    const second = new Watched(cloud);
    const c = await api.post('/projects/fence/clusters', { DisplayName: 'fenced', Services: [], NSlaves: 2 });
    expect(c.status).toBe(201);
    const op = (await store.operations.latest(c.data.ID))!;
    const silent = { error: () => undefined, info: () => undefined, warn: () => undefined };

    const a = new Worker(withHangingHeartbeats(store), { id: 'worker-a', provider: first, deployer: new NoopDeployer(), pollMs: 20, leaseMs: LEASE_MS, reconcileMs: 0, log: silent });
    workers.push(a);
    a.start();
    let claimed = await store.operations.get(op.id);
    for (const end = Date.now() + 10_000; Date.now() < end && claimed?.leaseOwner !== 'worker-a'; ) {
      await new Promise((r) => setTimeout(r, 10));
      claimed = await store.operations.get(op.id);
    }
    expect(claimed?.leaseOwner).toBe('worker-a');
    const lapses = claimed!.leaseExpiresAt!;

    const b = new Worker(store, { id: 'worker-b', provider: second, deployer: new NoopDeployer(), pollMs: 20, leaseMs: LEASE_MS, reconcileMs: 0, log: silent });
    workers.push(b);
    b.start();
    let done = await store.operations.get(op.id);
    for (const end = Date.now() + 20_000; Date.now() < end && done?.status === 'running'; ) {
      await new Promise((r) => setTimeout(r, 50));
      done = await store.operations.get(op.id);
    }

    expect(done?.status).toBe('succeeded');
    expect(done?.leaseOwner ?? 'worker-b').toBe('worker-b');
    // The first worker stopped every node request it had started, before its lease could lapse,
    // and finished none; the second finished them all, each node made once.
    expect(a.fenced).toBe(1);
    expect(first.aborted.length).toBeGreaterThan(0);
    for (const t of first.aborted) expect(t).toBeLessThan(lapses);
    expect(first.completed).toBe(0);
    expect(second.completed).toBe(first.aborted.length);
    expect([...cloud.creations.values()].every((n) => n === 1)).toBe(true);
    const events = (await api.get(`/projects/fence/clusters/${c.data.ID}/events`)).data as Array<{ Message: string }>;
    expect(events.some((e) => /worker-a stopped this operation's steps: its lease was last renewed/.test(e.Message))).toBe(true);
  }, 40_000);
});
