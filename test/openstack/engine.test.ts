// The OpenStack provider under the engine's step runner, on the fake cloud: a parallel create in
// which one server goes to ERROR fails naming the node and Nova's fault; the retry resumes from the
// journal, replaces only that server and reaches success with MasterIP and URLs by the original
// rule on floating IPs; delete leaves nothing tagged. And the janitor finds and removes orphans.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { FakeOpenStack } from './fakeOpenstack.js';
import { providerOn, planOf, ctxOf, specsOf } from './helpers.js';
import { runOperation, type StepRecord, type OperationKind } from '../../src/engine/runner.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import { runJanitor, PeriodicJanitor } from '../../src/engine/janitor.js';
import type { EngineEvent } from '../../src/providers/types.js';
import type { OperationPlan } from '../../src/domain/plan.js';

let fake: FakeOpenStack;
beforeAll(async () => {
  fake = await new FakeOpenStack().start();
});
afterAll(async () => fake.stop());

function run(kind: OperationKind, plan: OperationPlan, clusterId: string, steps: StepRecord[], provider = providerOn(fake)) {
  const events: EngineEvent[] = [];
  let saved = steps;
  return runOperation({
    kind,
    plan,
    clusterId,
    clusterName: 'e1-proj',
    provider,
    deployer: new NoopDeployer(),
    cancel: new AbortController().signal,
    journal: {
      steps,
      save: async (s) => void (saved = s),
      emit: (e) => void events.push(e),
    },
    // As the worker does: the journal's unsaved last changes are written with the operation's end.
  }).then((r) => ({ ...r, steps: r.unsavedSteps ?? saved, events }));
}

describe('OpenStack provider under the step runner', () => {
  it('partial failure of a parallel create, then a retry that duplicates nothing', async () => {
    const plan = planOf('e1-proj', 3, true);
    const id = randomUUID();
    fake.bootErrors.set('e1-proj-slave-2', 'Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures.');
    const first = await run('create', plan, id, []);
    expect(first.status).toBe('failed');
    expect(first.error).toMatchObject({ phase: 'provision', node: 'e1-proj-slave-2' });
    expect(first.error!.message).toContain('went to ERROR: Exceeded maximum number of retries');
    // The other nodes were created and kept (os_on_failure: keep).
    expect(first.steps.filter((s) => s.name.startsWith('provision:') && s.status === 'done').map((s) => s.name).sort()).toEqual(
      ['provision:_cluster', 'provision:e1-proj-master', 'provision:e1-proj-slave-1', 'provision:e1-proj-slave-3', 'provision:e1-proj-storage'].sort(),
    );

    fake.bootErrors.clear();
    const retry = await run('create', plan, id, first.steps.map((s) => (s.status === 'failed' ? { ...s, status: 'pending' } : s)));
    expect(retry.status).toBe('succeeded');
    for (const n of plan.nodes) expect(fake.serverCreates.get(n.name), n.name).toBe(n.name === 'e1-proj-slave-2' ? 2 : 1);
    const mine = fake.live().filter((s) => s.metadata.michman_cluster === id);
    expect(mine).toHaveLength(5);
    const master = retry.nodes.find((n) => n.role === 'master')!;
    const storage = retry.nodes.find((n) => n.role === 'storage')!;
    const fipOf = (name: string) => [...fake.fips.values()].find((f) => f.port_id === [...fake.ports.values()].find((p) => p.name === name)!.id)!.floating_ip_address;
    expect(retry.masterIp).toBe(fipOf('e1-proj-master'));
    expect(master.address).toBe(retry.masterIp);
    expect(retry.urls).toEqual({ s1: `${retry.masterIp}:8080`, s2: `${fipOf('e1-proj-storage')}:5432` });
    expect(storage.address).toBe(fipOf('e1-proj-storage'));

    const del = await run('delete', plan, id, []);
    expect(del.status).toBe('succeeded');
    expect(del.steps.map((s) => s.name)).toContain('deprovision:_cluster');
    expect(fake.taggedWith(id)).toEqual([]);
  });

  it('the janitor reports resources of clusters the store does not have, and removes them on request', async () => {
    const p = providerOn(fake);
    const orphan = ctxOf(planOf('o1-proj', 1, false));
    const kept = ctxOf(planOf('k1-proj', 0, false));
    for (const ctx of [orphan, kept]) {
      await p.prepareCluster(ctx);
      await Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));
    }
    const store = { existing: async (ids: string[]) => new Set(ids.filter((x) => x === kept.clusterId)) };
    const report = await runJanitor(p, store);
    expect(report.orphans.map((o) => o.clusterId)).toEqual([orphan.clusterId]);
    expect(report.orphans[0]!.resources.filter((r) => r.startsWith('server ')).sort()).toEqual([expect.stringMatching(/^server o1-proj-master /), expect.stringMatching(/^server o1-proj-slave-1 /)]);
    expect(report.orphans[0]!.resources.some((r) => r.startsWith('security group '))).toBe(true);
    expect(report.removed).toEqual([]);
    expect(fake.taggedWith(orphan.clusterId).length).toBeGreaterThan(0);

    const cleaned = await runJanitor(p, store, { delete: true });
    expect(cleaned.removed).toEqual([orphan.clusterId]);
    expect(fake.taggedWith(orphan.clusterId)).toEqual([]);
    expect(fake.taggedWith(kept.clusterId).length).toBeGreaterThan(0);
    await p.removeCluster(kept.clusterId);
    expect(fake.taggedWith(kept.clusterId)).toEqual([]);
  });

  it('the periodic janitor logs orphans and, with janitor_delete, removes them', async () => {
    const p = providerOn(fake);
    const orphan = ctxOf(planOf('o2-proj', 0, false));
    await p.prepareCluster(orphan);
    await p.ensureNode(orphan, specsOf(orphan.plan!)[0]!);
    const lines: Array<[string, object, string]> = [];
    const log = { info: (o: object, m: string) => void lines.push(['info', o, m]), warn: (o: object, m: string) => void lines.push(['warn', o, m]), error: (o: object, m: string) => void lines.push(['error', o, m]) };
    const j = new PeriodicJanitor(p, { existing: async () => new Set<string>() }, { intervalMs: 50, remove: true, log }).start();
    try {
      const removedLogged = () => lines.some(([level, o]) => level === 'info' && (o as { cluster?: string }).cluster === orphan.clusterId);
      for (let i = 0; i < 600 && !removedLogged(); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await j.stop();
    }
    expect(fake.taggedWith(orphan.clusterId)).toEqual([]);
    expect(lines.some(([level, o, m]) => level === 'warn' && (o as { cluster?: string }).cluster === orphan.clusterId && m.includes('no longer exists'))).toBe(true);
    expect(lines.some(([level, o]) => level === 'info' && (o as { cluster?: string }).cluster === orphan.clusterId)).toBe(true);
  });
});
