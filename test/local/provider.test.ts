import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { isLoopback, parseRange, candidates } from '../../src/providers/local/addresses.js';
import type { NodeSpec } from '../../src/providers/types.js';
import { context, tempRoot } from './helpers.js';

const tmp = tempRoot('provider');
afterAll(() => tmp.cleanup());

const spec = (name: string, role: NodeSpec['role'] = 'master'): NodeSpec => ({ name, role, flavor: 'local', image: 'host' });

describe('address ranges', () => {
  it('accepts only ranges inside 127.0.0.0/8', () => {
    expect(parseRange('127.77.0.0/16')).toMatchObject({ prefix: 16, size: 65536 });
    expect(() => parseRange('10.0.0.0/16')).toThrow(/outside 127\.0\.0\.0\/8/);
    expect(() => parseRange('126.255.0.0/7')).toThrow();
    expect(() => parseRange('0.0.0.0/0')).toThrow();
    expect(() => parseRange('127.1.2.3/31')).toThrow();
    expect(() => parseRange('localhost')).toThrow();
  });

  it('is deterministic and never offers .0, .255 or 127.0.0.1', () => {
    const r = parseRange('127.0.0.0/8');
    const a = [...take(candidates(r, 'c1', 'n1'), 600)];
    expect([...take(candidates(r, 'c1', 'n1'), 600)]).toEqual(a);
    expect(a.every(isLoopback)).toBe(true);
    expect(a.some((x) => x.endsWith('.0') || x.endsWith('.255') || x === '127.0.0.1')).toBe(false);
    expect([...take(candidates(r, 'c1', 'n2'), 1)]).not.toEqual(a.slice(0, 1));
  });
});

function* take<T>(g: Generator<T>, n: number): Generator<T> {
  for (const x of g) {
    if (n-- <= 0) return;
    yield x;
  }
}

describe('LocalProvider', () => {
  it('refuses a non-loopback addressBase', () => {
    expect(() => new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '192.168.0.0/16' })).toThrow(/loopback/);
  });

  it('gives each node its own loopback address and directory, idempotently and across restarts', async () => {
    const p = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.79.0.0/16' });
    const ctx = context();
    const master = await p.ensureNode(ctx, spec(`${ctx.clusterId}-master`));
    const slave = await p.ensureNode(ctx, spec(`${ctx.clusterId}-slave-1`, 'slave'));
    expect(master.address).toMatch(/^127\.79\.\d+\.\d+$/);
    expect(slave.address).not.toBe(master.address);
    expect(master.dataDir).toBe(join(tmp.dataRoot, ctx.clusterId, `${ctx.clusterId}-master`));
    expect(statSync(master.dataDir!).isDirectory()).toBe(true);
    const rec = JSON.parse(readFileSync(join(master.dataDir!, 'node.json'), 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ clusterId: ctx.clusterId, name: master.name, role: 'master', address: master.address });

    expect(await p.ensureNode(ctx, spec(master.name))).toEqual(master);
    // A restart of Michman is a new provider object on the same disk.
    const again = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.79.0.0/16' });
    expect(await again.ensureNode(ctx, spec(master.name))).toEqual(master);
    expect((await again.listNodes(ctx)).map((n) => n.name)).toEqual([master.name, slave.name]);
    expect(await again.listClusterIds()).toContain(ctx.clusterId);

    await p.waitReachable(ctx, master);
    expect(ctx.events.some((e) => e.phase === 'provision' && e.node === master.name)).toBe(true);
  });

  it('never gives two nodes the same address, even provisioned in parallel from a full range', async () => {
    // 127.80.0.4/30 holds exactly four usable addresses: every node after the first collision probes on.
    const p = new LocalProvider({ dataRoot: join(tmp.root, 'tiny'), addressBase: '127.80.0.4/30', claimsDir: join(tmp.root, 'tiny-claims') });
    const a = context();
    const b = context();
    const nodes = await Promise.all([
      p.ensureNode(a, spec('a-master')),
      p.ensureNode(a, spec('a-slave-1', 'slave')),
      p.ensureNode(b, spec('b-master')),
      p.ensureNode(b, spec('b-slave-1', 'slave')),
    ]);
    expect(new Set(nodes.map((n) => n.address)).size).toBe(4);
    await expect(p.ensureNode(b, spec('b-slave-2', 'slave'))).rejects.toThrow(/no free address/);
    // Deleting a node frees its address for the next one.
    await p.deleteNode(a, nodes[0]!);
    const reused = await p.ensureNode(b, spec('b-slave-2', 'slave'));
    expect(reused.address).toBe(nodes[0]!.address);
  });

  it('two instances with different data directories never give two nodes the same address', async () => {
    // Same range, same cluster ID and node names: the same first candidate address for both.
    const one = new LocalProvider({ dataRoot: join(tmp.root, 'instance-1'), addressBase: '127.84.0.0/16' });
    const two = new LocalProvider({ dataRoot: join(tmp.root, 'instance-2'), addressBase: '127.84.0.0/16' });
    const ctx = context();
    const names = ['m', 's1', 's2'];
    const a = await Promise.all(names.map((n) => one.ensureNode(ctx, spec(`${ctx.clusterId}-${n}`))));
    const b = await Promise.all(names.map((n) => two.ensureNode(ctx, spec(`${ctx.clusterId}-${n}`))));
    const all = [...a, ...b].map((n) => n.address);
    expect(new Set(all).size).toBe(all.length);
    // Each instance still finds its own nodes again (a restart) at their addresses.
    const again = await one.ensureNode(ctx, spec(`${ctx.clusterId}-m`));
    expect(again.address).toBe(a[0]!.address);
    for (const n of a) await one.deleteNode(ctx, n);
    for (const n of b) await two.deleteNode(ctx, n);
  });

  it('a claim whose node directory is gone for good is taken over; a fresh one is not', async () => {
    const claimsDir = join(tmp.root, 'stale-claims');
    const p = new LocalProvider({ dataRoot: join(tmp.root, 'stale'), addressBase: '127.85.0.4/30', claimsDir });
    await p.claims.prepare();
    const { symlinkSync, lutimesSync } = await import('node:fs');
    // Every usable address of the range held by a node of a data directory that no longer exists.
    for (const addr of ['127.85.0.4', '127.85.0.5', '127.85.0.6', '127.85.0.7']) symlinkSync(join(tmp.root, 'removed-data', 'c', addr), join(claimsDir, addr));
    await expect(p.ensureNode(context(), spec('x-master'))).rejects.toThrow(/no free address/);
    const old = new Date(Date.now() - 3_600_000);
    lutimesSync(join(claimsDir, '127.85.0.5'), old, old);
    const n = await p.ensureNode(context(), spec('y-master'));
    expect(n.address).toBe('127.85.0.5');
  });

  it('deleteNode removes the directory and the claim; a node already gone is not an error', async () => {
    const p = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.79.0.0/16' });
    const ctx = context();
    const n = await p.ensureNode(ctx, spec(`${ctx.clusterId}-storage`, 'storage'));
    expect(existsSync(join(p.claims.dir, n.address))).toBe(true);
    await p.deleteNode(ctx, n);
    expect(existsSync(n.dataDir!)).toBe(false);
    expect(existsSync(join(tmp.dataRoot, ctx.clusterId))).toBe(false);
    expect(existsSync(join(p.claims.dir, n.address))).toBe(false);
    await p.deleteNode(ctx, n);
    expect(await p.listNodes(ctx)).toEqual([]);
  });

  it('refuses names that would escape the data root', async () => {
    const p = new LocalProvider({ dataRoot: tmp.dataRoot });
    await expect(p.ensureNode(context('..'), spec('x'))).rejects.toThrow(/directory name/);
    await expect(p.ensureNode(context(), spec('../../etc'))).rejects.toThrow(/directory name/);
  });
});
