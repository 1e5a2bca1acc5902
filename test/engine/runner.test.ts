// The step runner with the fake provider: journaled steps, resume after a lost worker, failures
// with phase and node, deadlines, cancel, and delete.
import { describe, it, expect } from 'vitest';
import { runOperation, isDeadlineMark, type Journal, type StepRecord } from '../../src/engine/runner.js';
import { buildCreatePlan, dependencyLevels } from '../../src/domain/plan.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { NoopDeployer } from '../../src/deploy/noop.js';
import type { StoredServiceType } from '../../src/domain/stored.js';
import type { EngineEvent, StepContext } from '../../src/providers/types.js';

function type(name: string, cls: string, accessPort: number, deps: Array<{ type: string; version: string }> = []): StoredServiceType {
  return {
    ID: name,
    Type: name,
    Description: '',
    DefaultVersion: '1',
    Class: cls,
    AccessPort: accessPort,
    Ports: [],
    HealthCheck: [{ CheckType: 'TCP' }],
    Versions: [
      {
        ID: `${name}-1`,
        Version: '1',
        Description: '',
        DownloadURL: '',
        Configs: [],
        Dependencies: deps.map((d) => ({ ServiceType: d.type, ServiceVersions: [d.version], DefaultServiceVersion: d.version, Description: '' })),
      },
    ],
  };
}

const types = new Map<string, StoredServiceType>([
  ['redis', type('redis', 'storage', 6379)],
  ['jupyter', type('jupyter', 'stand-alone', 8888)],
  ['hub', type('hub', 'stand-alone', 8000, [{ type: 'jupyter', version: '1' }])],
  ['spark', type('spark', 'master-slave', 8080)],
]);

const cluster = {
  ID: 'c1',
  Name: 'demo-proj',
  NSlaves: 2,
  Image: 'ubuntu',
  MasterFlavor: 'm',
  SlavesFlavor: 's',
  StorageFlavor: 'st',
  MonitoringFlavor: 'mo',
  Services: [
    { ID: 's-hub', Type: 'hub', Version: '1' },
    { ID: 's-jup', Type: 'jupyter', Version: '1' },
    { ID: 's-redis', Type: 'redis', Version: '1' },
    { ID: 's-spark', Type: 'spark', Version: '1' },
  ],
};

class MemoryJournal implements Journal {
  steps: StepRecord[] = [];
  events: EngineEvent[] = [];
  saves = 0;
  /** Throws on a save whose steps this holds for (and every save after): the worker has lost its lease. */
  failWhen?: (steps: StepRecord[]) => boolean;
  private failed = false;
  async save(steps: StepRecord[]) {
    this.saves++;
    if (this.failed || this.failWhen?.(steps)) {
      this.failed = true;
      throw new Error('lease lost');
    }
    this.steps = steps;
  }
  emit(e: EngineEvent) {
    this.events.push(e);
  }
}

const run = (journal: Journal, provider: FakeProvider, deployer: NoopDeployer, extra: Partial<Parameters<typeof runOperation>[0]> = {}) =>
  runOperation({
    kind: 'create',
    plan: buildCreatePlan(cluster, types),
    clusterId: 'c1',
    clusterName: 'demo-proj',
    journal,
    provider,
    deployer,
    cancel: new AbortController().signal,
    ...extra,
  }).then((r) => {
    // As the worker does: the journal's unsaved last changes are written with the operation's end.
    if (r.unsavedSteps) journal.steps = r.unsavedSteps;
    return r;
  });

describe('plan', () => {
  it('orders services by dependency levels and places them on nodes', () => {
    expect(dependencyLevels(cluster.Services, types)).toEqual([['jupyter', 'redis', 'spark'], ['hub']]);
    const plan = buildCreatePlan(cluster, types);
    expect(plan.nodes.map((n) => n.name)).toEqual(['demo-proj-master', 'demo-proj-slave-1', 'demo-proj-slave-2', 'demo-proj-storage']);
    expect(plan.services.find((s) => s.type === 'redis')!.nodes).toEqual(['demo-proj-storage']);
    expect(plan.services.find((s) => s.type === 'spark')!.nodes).toEqual(['demo-proj-master', 'demo-proj-slave-1', 'demo-proj-slave-2']);
  });
});

describe('runOperation', () => {
  it('creates every node, deploys in dependency order and records MasterIP and URLs', async () => {
    const provider = new FakeProvider();
    const deployer = new NoopDeployer();
    const journal = new MemoryJournal();
    const r = await run(journal, provider, deployer);
    expect(r.status).toBe('succeeded');
    expect(journal.steps.every((s) => s.status === 'done')).toBe(true);
    const master = r.nodes.find((n) => n.role === 'master')!;
    const storage = r.nodes.find((n) => n.role === 'storage')!;
    expect(r.masterIp).toBe(master.address);
    expect(r.urls).toEqual({
      's-hub': `${master.address}:8000`,
      's-jup': `${master.address}:8888`,
      's-spark': `${master.address}:8080`,
      's-redis': `${storage.address}:6379`,
    });
    // hub was deployed after jupyter, its dependency.
    const deploys = journal.events.filter((e) => e.phase === 'deploy').map((e) => e.service);
    expect(deploys.indexOf('hub')).toBeGreaterThan(deploys.indexOf('jupyter'));
  });

  it('resumes at the first unfinished step after the worker is lost, creating no node twice', async () => {
    const provider = new FakeProvider({ bootLatencyMs: 5 });
    const deployer = new NoopDeployer({ deployLatencyMs: 20 });
    // The lease is lost as the second dependency level (hub) starts: the save that says so fails.
    const first = new MemoryJournal();
    first.failWhen = (steps) => steps.some((s) => s.name === 'deploy:hub' && s.status !== 'pending');
    await expect(run(first, provider, deployer)).rejects.toThrow('lease lost');
    expect(first.steps.find((s) => s.name === 'deploy:hub')?.status ?? 'pending').toBe('pending');
    const doneBefore = first.steps.filter((s) => s.status === 'done' && !isDeadlineMark(s.name)).map((s) => s.name);
    // Every node was saved done before the lease went; the steps after it were not.
    expect(doneBefore.filter((n) => n.startsWith('provision:')).length).toBe(4);
    expect(first.steps.every((s) => !s.name.startsWith('health:') || s.status === 'pending')).toBe(true);
    // The run stopped there: hub was never deployed by the first worker.
    expect(deployer.deployed.has('c1/hub')).toBe(false);

    const second = new MemoryJournal();
    second.steps = first.steps;
    const r = await run(second, provider, deployer);
    expect(r.status).toBe('succeeded');
    for (const [, count] of provider.creations) expect(count).toBe(1);
    // Steps done by the first worker were not run again.
    for (const name of doneBefore) expect(second.steps.find((s) => s.name === name)!.attempt).toBe(1);
  });

  it('reports a failed node with phase and node name', async () => {
    const r = await run(new MemoryJournal(), new FakeProvider({ failureRate: 1 }), new NoopDeployer());
    expect(r.status).toBe('failed');
    expect(r.error).toMatchObject({ phase: 'provision', node: expect.stringMatching(/^demo-proj-/), message: expect.stringContaining('failed to boot') });
  });

  it('fails a phase whose deadline passes, naming the phase', async () => {
    const r = await run(new MemoryJournal(), new FakeProvider({ bootLatencyMs: 2_000 }), new NoopDeployer(), { deadlines: { provision: 50 } });
    expect(r.status).toBe('failed');
    expect(r.error?.phase).toBe('provision');
    expect(r.error?.message).toMatch(/provision phase deadline/);
  });

  it('a phase deadline covers the whole phase: every dependency level of deploy together', async () => {
    // Two levels (jupyter, redis, spark; then hub) of 400 ms each: each fits in 600 ms, both do not.
    const r = await run(new MemoryJournal(), new FakeProvider(), new NoopDeployer({ deployLatencyMs: 400 }), { deadlines: { deploy: 600 } });
    expect(r.status).toBe('failed');
    expect(r.error?.phase).toBe('deploy');
    expect(r.error?.message).toMatch(/deploy phase deadline/);
  });

  it('provision_deadline covers creating and reaching the nodes together', async () => {
    class SlowReach extends FakeProvider {
      override async waitReachable(ctx: StepContext): Promise<void> {
        await new Promise((res, rej) => {
          const t = setTimeout(res, 400);
          ctx.signal.addEventListener('abort', () => (clearTimeout(t), rej(ctx.signal.reason)), { once: true });
        });
      }
    }
    const r = await run(new MemoryJournal(), new SlowReach({ bootLatencyMs: 400 }), new NoopDeployer(), { deadlines: { provision: 600, reachable: 600 } });
    expect(r.status).toBe('failed');
    expect(r.error?.phase).toBe('reachable');
    expect(r.error?.message).toMatch(/deadline/);
  });

  it('a resumed operation keeps the deadline its phase started with (from the journal)', async () => {
    const journal = new MemoryJournal();
    // An earlier worker started provisioning a minute ago, then died.
    journal.steps = [{ name: 'deadline:provision', status: 'done', attempt: 0, startedAt: Date.now() - 60_000 }];
    const r = await run(journal, new FakeProvider(), new NoopDeployer(), { deadlines: { provision: 30_000 } });
    expect(r.status).toBe('failed');
    expect(r.error?.phase).toBe('provision');
    expect(r.error?.message).toMatch(/provision phase deadline/);
  });

  it('stops promptly on cancel', async () => {
    const cancel = new AbortController();
    const started = Date.now();
    setTimeout(() => cancel.abort(new Error('cancelled by user')), 30);
    const r = await run(new MemoryJournal(), new FakeProvider({ bootLatencyMs: 5_000 }), new NoopDeployer(), { cancel: cancel.signal });
    expect(r.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('delete removes services and nodes', async () => {
    const provider = new FakeProvider();
    const deployer = new NoopDeployer();
    await run(new MemoryJournal(), provider, deployer);
    expect(provider.nodes.get('c1')!.size).toBe(4);
    const r = await run(new MemoryJournal(), provider, deployer, { kind: 'delete' });
    expect(r.status).toBe('succeeded');
    expect(provider.nodes.get('c1')!.size).toBe(0);
    expect([...deployer.deployed].filter((k) => k.startsWith('c1/'))).toEqual([]);
  });

  it('scale-in removes the highest slaves and keeps the rest', async () => {
    const provider = new FakeProvider();
    const deployer = new NoopDeployer();
    await run(new MemoryJournal(), provider, deployer);
    const r = await run(new MemoryJournal(), provider, deployer, { kind: 'scale', removeNodes: ['demo-proj-slave-2'] });
    expect(r.status).toBe('succeeded');
    expect([...provider.nodes.get('c1')!.keys()].sort()).toEqual(['demo-proj-master', 'demo-proj-slave-1', 'demo-proj-storage']);
  });

  it('runs the cluster-wide hooks in their places, with the plan and the provisioned nodes', async () => {
    const order: string[] = [];
    class HookedProvider extends FakeProvider {
      override async prepareCluster(ctx: StepContext) {
        order.push(`prepareCluster ports=${ctx.plan?.services.map((s) => s.type).join(',')} keys=${ctx.plan?.cluster?.keys.length}`);
      }
      override async ensureNode(...a: Parameters<FakeProvider['ensureNode']>) {
        order.push(`ensureNode ${a[1].name}`);
        return super.ensureNode(...a);
      }
      override async cleanupCluster(ctx: StepContext) {
        order.push(`cleanupCluster nodes left=${(await this.listNodes(ctx)).length}`);
      }
    }
    class HookedDeployer extends NoopDeployer {
      override async prepare(ctx: StepContext) {
        order.push(`prepare ${ctx.nodes!().map((n) => n.name).sort().join(',')}`);
      }
      override async deploy(...a: Parameters<NoopDeployer['deploy']>) {
        order.push(`deploy ${a[1].type}`);
        return super.deploy(...a);
      }
    }
    const provider = new HookedProvider();
    const deployer = new HookedDeployer();
    const withKeys = { ...cluster, Keys: ['ssh-ed25519 AAAA user@host'] };
    const r = await run(new MemoryJournal(), provider, deployer, { plan: buildCreatePlan(withKeys, types) });
    expect(r.status).toBe('succeeded');
    expect(order[0]).toBe('prepareCluster ports=hub,jupyter,redis,spark keys=1');
    expect(order.slice(1, 5).every((x) => x.startsWith('ensureNode '))).toBe(true);
    expect(order[5]).toBe('prepare demo-proj-master,demo-proj-slave-1,demo-proj-slave-2,demo-proj-storage');
    expect(order.slice(6)).toEqual(expect.arrayContaining(['deploy jupyter', 'deploy hub']));
    expect(order.indexOf('deploy jupyter')).toBeLessThan(order.indexOf('deploy hub'));

    // Delete ends with the cluster-wide cleanup, after every node is gone.
    order.length = 0;
    const d = await run(new MemoryJournal(), provider, deployer, { kind: 'delete' });
    expect(d.status).toBe('succeeded');
    expect(order).toEqual(['cleanupCluster nodes left=0']);
  });
});
