// Graceful lifecycle of the real `michman serve` (fake provider, slow boots, SQLite in a temp data
// dir): SIGTERM mid-operation never cancels or fails the user's operation. Past the grace period it
// is handed back (lease released, journal kept) and the next start finishes it; within the grace
// period it finishes before the exit. SIGHUP leaves the server answering.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServeProcess } from '../helpers/serveProcess.js';
import { Store } from '../../src/store/store.js';
import { until } from '../engine/workerProcess.js';

const dirs: string[] = [];
const procs: ServeProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.alive) await p.stop('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'michman-shutdown-'));
  dirs.push(d);
  return d;
}

async function serve(dir: string, settings: Record<string, string | number>): Promise<ServeProcess> {
  const p = await ServeProcess.start(dir, { provider: 'fake', workers: 2, lease_seconds: 30, log_level: 'info', ...settings });
  procs.push(p);
  return p;
}

async function projectOn(p: ServeProcess): Promise<void> {
  expect((await p.call('POST', '/images', { Name: 'img', AnsibleUser: 'u', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' })).status).toBe(201);
  expect((await p.call('POST', '/flavors', { Name: 'f', VCPUs: 1, RAM: 1024, Disk: 10 })).status).toBe(201);
  const r = await p.call('POST', '/projects', { DisplayName: 'pp', DefaultImage: 'img', DefaultMasterFlavor: 'f', DefaultSlavesFlavor: 'f', DefaultStorageFlavor: 'f', DefaultMonitoringFlavor: 'f' });
  expect(r.status, r.text).toBe(201);
}

async function createdAndRunning(p: ServeProcess): Promise<string> {
  const c = await p.call('POST', '/projects/pp/clusters', { DisplayName: 'cc', NSlaves: 1 });
  expect(c.status, c.text).toBe(201);
  await until('the create operation to run', async () => {
    const ops = await p.call('GET', '/projects/pp/clusters/cc-pp/operations');
    return ops.data?.[0]?.Status === 'running' ? true : undefined;
  }, 30_000);
  return c.data.ID as string;
}

async function operationRow(dir: string, clusterId: string) {
  const store = await Store.open({ storage: 'sqlite', url: join(dir, 'michman.sqlite') });
  try {
    return (await store.operations.latest(clusterId))!;
  } finally {
    await store.close();
  }
}

describe('michman serve: SIGTERM and SIGHUP', () => {
  it('SIGTERM past the grace period hands the operation back; the next start finishes it ACTIVE', async () => {
    const dir = dataDir();
    const first = await serve(dir, { fake_boot_ms: 5000, shutdown_grace_seconds: 0 });
    await projectOn(first);
    const id = await createdAndRunning(first);

    const exit = await first.stop('SIGTERM');
    expect(exit, first.output).toEqual({ code: 0, signal: null });
    const op = await operationRow(dir, id);
    expect(op.status).toBe('running'); // not cancelled, not failed
    expect(op.error).toBeNull();
    expect(op.leaseOwner).toBeNull();
    expect(op.leaseExpiresAt).not.toBeNull();
    expect(op.leaseExpiresAt!).toBeLessThanOrEqual(Date.now());
    expect(first.logLines(/^operation create started$/)).toHaveLength(1);
    expect(first.logLines(/^operation create handed back$/)[0]).toMatchObject({ operation: op.id, released: true });
    expect(first.logLines(/^SIGTERM: stopping/)).toHaveLength(1);

    const second = await serve(dir, { fake_boot_ms: 100 });
    const status = await until('the cluster to be ACTIVE after the restart', async () => {
      const s = (await second.call('GET', '/projects/pp/clusters/cc-pp/status')).data as string;
      return s === 'ACTIVE' || s === 'FAILED' ? s : undefined;
    }, 60_000, 100);
    expect(status).toBe('ACTIVE');
    const ops = (await second.call('GET', '/projects/pp/clusters/cc-pp/operations')).data as Array<{ Status: string; Attempt: number }>;
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ Status: 'succeeded', Attempt: 2 });
    const events = (await second.call('GET', '/projects/pp/clusters/cc-pp/events')).data as Array<{ Message: string }>;
    expect(events.some((e) => /handed back/.test(e.Message))).toBe(true);
    expect(events.some((e) => /cancel/i.test(e.Message))).toBe(false);
    expect(second.logLines(/^operation create succeeded$/)[0]).toMatchObject({ operation: op.id, status: 'succeeded' });
  }, 120_000);

  it('SIGTERM within the grace period: no new connections, the running operation finishes before the exit', async () => {
    const dir = dataDir();
    const p = await serve(dir, { fake_boot_ms: 3000, shutdown_grace_seconds: 60 });
    await projectOn(p);
    const id = await createdAndRunning(p);
    p.child.kill('SIGTERM');
    // The listener is closed while the operation still runs.
    await until('the listener to close', async () => (await fetch(`${p.base}/version`).then(() => undefined, () => true)), 10_000, 20);
    expect(p.alive).toBe(true);
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const op = await operationRow(dir, id);
    expect(op.status).toBe('succeeded');
  }, 120_000);

  it('SIGHUP is logged and the server keeps answering', async () => {
    const p = await serve(dataDir(), {});
    p.child.kill('SIGHUP');
    await until('the SIGHUP log line', async () => (p.logLines(/^SIGHUP/).length > 0 ? true : undefined), 10_000);
    expect(p.alive).toBe(true);
    expect((await p.call('GET', '/version')).status).toBe(200);
  }, 60_000);
});
