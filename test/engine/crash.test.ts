// A worker whose operation crashes (a bug, not a failed step) records the failure on the operation,
// and sets the cluster's status only while the cluster is still that operation's: a forced delete
// that took the cluster over keeps its STOPPING, as on the normal path.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { backends } from '../helpers/stores.js';
import { openApi, image, flavor, project, type Api } from '../helpers/api.js';
import { Worker } from '../../src/engine/worker.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';

const backend = backends()[0]!;

describe(`worker crash path [${backend.name}]`, () => {
  let api: Api;
  let close: () => Promise<void>;
  let worker: Worker | undefined;
  beforeAll(async () => {
    ({ api, close } = await openApi(backend));
    await api.post('/images', image());
    await api.post('/flavors', flavor());
    expect((await api.post('/projects', project('crash'))).status).toBe(201);
  });
  afterAll(async () => {
    await worker?.stop();
    await close?.();
  });

  it('a crashed operation does not overwrite the status of a cluster another operation took over', async () => {
    const c = await api.post('/projects/crash/clusters', { DisplayName: 'boom', Services: [] });
    expect(c.status).toBe(201);
    const store = api.store;
    const op = (await store.operations.latest(c.data.ID))!;
    // A plan the runner cannot read (no services, no levels): it throws, which is the crash path.
    await store.db.updateTable('operations').set({ plan: JSON.stringify({ image: 'ubuntu', nodes: [] }) }).where('id', '=', op.id).execute();
    // Meanwhile a forced delete took the cluster over.
    expect(await store.clusters.setStatus(c.data.ID, 'STOPPING')).toBe(true);
    const errors: unknown[] = [];
    worker = new Worker(store, { provider: new FakeProvider(), deployer: new NoopDeployer(), pollMs: 20, leaseMs: 3_000, reconcileMs: 0, log: { error: (o) => void errors.push(o), info: () => undefined } });
    worker.start();
    const end = Date.now() + 10_000;
    while (Date.now() < end && (await store.operations.get(op.id))!.status !== 'failed') await new Promise((r) => setTimeout(r, 20));
    const after = (await store.operations.get(op.id))!;
    expect(after.status).toBe('failed');
    expect(after.error?.phase).toBe('engine');
    expect(errors.length).toBeGreaterThan(0);
    expect((await store.clusters.get(c.data.ID))!.EntityStatus).toBe('STOPPING');
  });
});
