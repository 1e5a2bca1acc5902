// The fake provider with fake_state_dir: two processes' providers (two instances here) share their
// nodes through the directory, as workers share a cloud: a worker resuming another's operation
// finds the node already made instead of booting it again, and every boot is recorded once.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeProvider, requestsIn } from '../../src/providers/fake.js';
import type { StepContext } from '../../src/providers/types.js';

const ctx = (clusterId: string): StepContext => ({ clusterId, clusterName: 'c-p', signal: new AbortController().signal, emit: () => undefined, plan: undefined as never, nodes: () => [] });
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('fake provider with a shared state directory', () => {
  it('a second instance finds the node the first made, lists it, and does not boot it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michman-fake-state-'));
    dirs.push(dir);
    const a = new FakeProvider({ stateDir: dir });
    const b = new FakeProvider({ stateDir: dir });
    const made = await a.ensureNode(ctx('c1'), { name: 'n-master', role: 'master', flavor: 'f', image: 'i' });
    const found = await b.ensureNode(ctx('c1'), { name: 'n-master', role: 'master', flavor: 'f', image: 'i' });
    expect(found).toEqual(made);
    expect(b.creations.size).toBe(0);
    expect(await b.listNodes(ctx('c1'))).toEqual([made]);
    expect(await b.listNodes(ctx('other'))).toEqual([]);
    expect(requestsIn(dir)).toEqual(new Map([['c1/n-master', [made.providerId]]]));
    await b.deleteNode(ctx('c1'), made);
    expect(await a.listNodes(ctx('c1'))).toEqual([]);
  });

  it('a node whose request was cut short is found by the next instance, which waits for its boot instead of making a second', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michman-fake-state-'));
    dirs.push(dir);
    const a = new FakeProvider({ stateDir: dir, bootLatencyMs: 400 });
    const b = new FakeProvider({ stateDir: dir, bootLatencyMs: 400 });
    const stop = new AbortController();
    const cut = a.ensureNode({ ...ctx('c2'), signal: stop.signal }, { name: 'n-slave-1', role: 'slave', flavor: 'f', image: 'i' });
    stop.abort(new Error('fenced'));
    await expect(cut).rejects.toThrow();
    const started = Date.now();
    const found = await b.ensureNode(ctx('c2'), { name: 'n-slave-1', role: 'slave', flavor: 'f', image: 'i' });
    // It waited for the boot the first request started (about 400 ms from then), not one of its own.
    expect(Date.now() - started).toBeGreaterThan(200);
    expect(b.creations.size).toBe(0);
    expect(requestsIn(dir)).toEqual(new Map([['c2/n-slave-1', [found.providerId]]]));
    expect(Object.keys(found).sort()).toEqual(['address', 'name', 'providerId', 'role']);
  });
  it('nodes requested at the same moment (a whole cluster) are each recorded once, and a deletion is seen by the other instance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michman-fake-state-'));
    dirs.push(dir);
    const a = new FakeProvider({ stateDir: dir });
    const b = new FakeProvider({ stateDir: dir });
    const names = ['n-master', ...Array.from({ length: 10 }, (_, i) => `n-slave-${i + 1}`)];
    const made = await Promise.all(names.map((name) => a.ensureNode(ctx('c3'), { name, role: name === 'n-master' ? 'master' : 'slave', flavor: 'f', image: 'i' })));
    expect(new Set(made.map((n) => n.providerId)).size).toBe(11);
    expect((await b.listNodes(ctx('c3'))).map((n) => n.name).sort()).toEqual([...names].sort());
    expect(requestsIn(dir)).toEqual(new Map(made.map((n) => [`c3/${n.name}`, [n.providerId]])));
    await a.deleteNode(ctx('c3'), made[3]!);
    expect((await b.listNodes(ctx('c3'))).map((n) => n.name)).not.toContain(made[3]!.name);
    expect(await b.listNodes(ctx('c3'))).toHaveLength(10);
  });
});
