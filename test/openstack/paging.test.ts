// Lists that span pages: the provider and the janitor follow Nova's servers_links and Neutron's
// ports_links to the end, and a 429/503 with Retry-After is retried after the time the cloud asks for.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import { FakeOpenStack } from './fakeOpenstack.js';
import { providerOn, planOf, ctxOf, specsOf } from './helpers.js';
import { Session } from '../../src/providers/openstack/identity/session.js';
import { OpenStackProvider } from '../../src/providers/openstack/provider.js';
import { retryDelayMs } from '../../src/providers/openstack/http.js';
import { authOf } from './helpers.js';

let fake: FakeOpenStack;
beforeAll(async () => {
  fake = await new FakeOpenStack().start();
});
afterAll(async () => fake.stop());
beforeEach(() => {
  fake.faults = [];
  fake.pageSize = Infinity;
});

describe('OpenStack lists past the first page', () => {
  it('the janitor and listNodes see every server and port when the cloud pages by 2', async () => {
    const p = providerOn(fake);
    const a = ctxOf(planOf('pa', 1, true));
    const b = ctxOf(planOf('pb', 1, true));
    for (const ctx of [a, b]) {
      await p.prepareCluster(ctx);
      await Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
    }
    fake.pageSize = 2;
    const tagged = await p.listTaggedClusters();
    for (const ctx of [a, b]) {
      const mine = tagged.find((t) => t.clusterId === ctx.clusterId)!;
      expect(mine.resources.filter((r) => r.startsWith('server ')).length).toBe(3);
      expect(mine.resources.filter((r) => r.startsWith('port ')).length).toBe(3);
    }
    expect((await p.listNodes(a)).map((n) => n.name).sort()).toEqual(['pa-master', 'pa-slave-1', 'pa-storage']);
    // Delete must find everything too, or it would report leftovers.
    for (const ctx of [a, b]) {
      await Promise.all(ctx.plan!.nodes.map((n) => p.deleteNode(ctx, { name: n.name, providerId: n.name })));
      await p.cleanupCluster(ctx);
    }
    fake.pageSize = Infinity;
    const left = await p.listTaggedClusters();
    expect(left.filter((t) => t.clusterId === a.clusterId || t.clusterId === b.clusterId)).toEqual([]);
  });

  it('Retry-After on 429 and 503: the retry waits what the cloud says, not the client backoff', async () => {
    // A client backoff of 10 minutes would time the test out; Retry-After: 0 retries at once.
    const session = new Session(async () => authOf(fake), { timeoutMs: 5_000, attempts: 3, backoffMs: 600_000 });
    const p = new OpenStackProvider({ session, network: 'private', floatingIpPool: 'public', reachability: 'active', pollFirstMs: 10, pollMaxDelayMs: 50 });
    await p.listTaggedClusters(); // token first
    fake.faults = [
      { method: 'GET', path: /^\/compute\/servers\/detail/, status: 429, retryAfter: 0, times: 1 },
      { method: 'GET', path: /^\/network\/ports/, status: 503, retryAfter: 0, times: 1 },
    ];
    await p.listTaggedClusters();
    expect(fake.faults.every((f) => f.times === 0)).toBe(true);
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    const h = (v?: string) => new Headers(v === undefined ? {} : { 'Retry-After': v });
    expect(retryDelayMs(h('3'), 100)).toBe(3000);
    expect(retryDelayMs(h('0'), 100)).toBe(0);
    expect(retryDelayMs(h(), 100)).toBe(100);
    expect(retryDelayMs(h('junk'), 100)).toBe(100);
    expect(retryDelayMs(h('100000'), 100)).toBe(60_000);
    const inTwo = new Date(Date.now() + 2000).toUTCString();
    expect(retryDelayMs(h(inTwo), 100)).toBeGreaterThan(0);
    expect(retryDelayMs(h(inTwo), 100)).toBeLessThanOrEqual(2000);
  });
});
