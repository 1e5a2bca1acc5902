// A `michman worker` process is killed with SIGKILL in the middle of creating clusters; a second
// worker process takes the operations over when their leases expire and completes them. Checked on
// every configured database (SQLite file in WAL shared by the processes; MariaDB and PostgreSQL when
// MICHMAN_TEST_MYSQL_URL / MICHMAN_TEST_PG_URL are set), with the local provider, whose nodes are
// directories (node.json) and address claims on disk shared by the processes:
// - the interrupted operations resume (attempt 2) at their first unfinished step: a step the first
//   worker finished is not run again (its journal entry is unchanged), and each step's effect exists
//   once: one directory and one address claim per planned node, none for anything else;
// - the events of both workers are there;
// - deleting the clusters through the API while the second worker runs leaves the nodes directory empty.
// Relies on dist/ (npm test compiles first).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import type { Operation, OperationStep } from '../../src/store/repos/operations.js';
import type { StoredPlan } from '../../src/engine/worker.js';
import { backends, type OpenedStore } from '../helpers/stores.js';
import { Api, image, flavor, project } from '../helpers/api.js';
import { WorkerProcess, requireBuiltCli, until } from './workerProcess.js';
import { isDeadlineMark } from '../../src/domain/operation.js';

requireBuiltCli();

const PROJECT = 'kill';
const CLUSTERS = ['k1', 'k2', 'k3'];
/** Slaves per cluster: enough steps (2 per node) that a kill lands between two of them. */
const NSLAVES = 20;
const LEASE_SECONDS = 2;
const WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const byName = (steps: OperationStep[]) => new Map(steps.map((s) => [s.name, s]));
const planOf = (op: Operation) => op.plan as StoredPlan;
/** A create's steps: provision and reachable for each planned node (no services). */
const expectedSteps = (op: Operation) => planOf(op).nodes.flatMap((n) => [`provision:${n.name}`, `reachable:${n.name}`]);
// Work steps only: the runner's deadline marks (one per phase clock, stored as 'done') are not steps.
// Counting them once read "43 steps where at most 42" (42 work steps + the provision clock's mark).
const doneCount = (op: Operation) => op.steps.filter((s) => s.status === 'done' && !isDeadlineMark(s.name)).length;

interface NodeJson {
  clusterId: string;
  name: string;
  role: string;
  address: string;
  createdAt: string;
}

/**
 * The owner recorded in an address claim (`<TMPDIR>/michman-addresses/<address>`): a file holding JSON, or a
 * symbolic link to the node directory `<nodes>/<clusterId>/<node>`; anything else (e.g. an empty file) comes back as its text.
 */
function claimOwner(path: string): unknown {
  if (lstatSync(path).isSymbolicLink()) {
    const target = readlinkSync(path);
    // Host-wide claims name the owning node's directory: <nodes>/<clusterId>/<node>.
    const m = /\/([^/]+)\/([^/]+)$/.exec(target);
    return m ? { clusterId: m[1], node: m[2] } : target;
  }
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

for (const backend of backends()) {
  describe(`a worker process killed with SIGKILL mid-operation [${backend.name}]`, () => {
    let opened: OpenedStore;
    let app: FastifyInstance;
    let api: Api;
    let dataDir: string;
    let nodesDir: string;
    let claimsDir: string;
    const children: WorkerProcess[] = [];
    let b: WorkerProcess;
    const clusterIds = new Map<string, string>(); // name → ID
    const createOps = new Map<string, string>(); // cluster ID → operation ID

    const startWorker = async (workers: number) => {
      const w = await WorkerProcess.start({ storage: backend.name, databaseUrl: opened.url, dataDir, leaseSeconds: LEASE_SECONDS, workers, env: { TMPDIR: join(dataDir, 'tmp') } });
      children.push(w);
      return w;
    };
    const ops = async () => {
      const out: Operation[] = [];
      for (const id of createOps.values()) out.push((await opened.store.operations.get(id))!);
      return out;
    };
    const failWith = (what: string) => `${what}\n--- worker stderr ---\n${children.map((c) => `[${c.id}] ${c.stderr}`).join('\n')}`;

    beforeAll(async () => {
      opened = await backend.open();
      dataDir = mkdtempSync(join(tmpdir(), 'michman-kill-'));
      nodesDir = join(dataDir, 'nodes');
      // The workers' TMPDIR, so their host-wide address claims are this test's alone.
      mkdirSync(join(dataDir, 'tmp'));
      claimsDir = join(dataDir, 'tmp', 'michman-addresses');
      app = await buildServer({ store: opened.store, logger: false });
      api = new Api(app, opened.store);
      expect((await api.post('/images', image())).status).toBe(201);
      expect((await api.post('/flavors', flavor())).status).toBe(201);
      expect((await api.post('/projects', project(PROJECT))).status).toBe(201);
    });

    afterAll(async () => {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await app?.close();
      await opened?.cleanup();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('a second worker resumes the interrupted creates: no finished step re-run, every node once, no leak', async () => {
      const t0 = Date.now();
      for (const name of CLUSTERS) {
        const r = await api.post(`/projects/${PROJECT}/clusters`, { DisplayName: name, NSlaves: NSLAVES, Services: [] });
        expect(r.status, r.raw).toBe(201);
        expect(r.data.EntityStatus).toBe('INITED');
        clusterIds.set(`${name}-${PROJECT}`, r.data.ID);
        const op = await opened.store.operations.latest(r.data.ID, 'create');
        createOps.set(r.data.ID, op!.id);
      }

      // Worker A runs two of the three creates at once; it is killed as soon as one of them has
      // journaled some of its steps done but not all, and A's own events for it are stored.
      // A does not wait for a step's save before the next step, so on fast local nodes a create
      // goes from "none done" to "all done" in a few writes. So A runs in slices: stopped
      // (SIGSTOP) while the database is looked at, let go (SIGCONT) for a few ms in between; the
      // kill comes while A is stopped, so what was seen is what A left.
      const a = await startWorker(2);
      const halfDone = async () => {
        for (const op of await ops()) {
          if (op.status !== 'running' || op.leaseOwner !== a.id) continue;
          const done = doneCount(op);
          if (done === 0 || done >= expectedSteps(op).length) continue;
          const events = await opened.store.events.list(op.clusterId, { operationId: op.id });
          if (events.some((e) => e.message.includes(`by ${a.id}`))) return op;
        }
        return undefined;
      };
      let target: Operation | undefined;
      const sliceEnd = Date.now() + WAIT_MS;
      while (!target) {
        a.kill('SIGSTOP');
        target = await halfDone();
        if (target) break;
        if (Date.now() > sliceEnd) {
          a.kill('SIGCONT');
          throw new Error(failWith(`timed out after ${WAIT_MS} ms waiting for an operation of worker A partly done`));
        }
        a.kill('SIGCONT');
        await sleep(2);
      }
      a.kill('SIGKILL');
      const killedAt = Date.now();
      expect((await a.exited).signal).toBe('SIGKILL');
      await sleep(300); // a statement A sent just before dying may still commit on a server database
      const atKill = new Map((await ops()).map((op) => [op.id, op]));
      const tKill = Date.now();

      // It was killed mid-operation: A still holds the lease of a half-done create.
      const interruptedTarget = atKill.get(target.id)!;
      expect(interruptedTarget).toMatchObject({ status: 'running', attempt: 1, leaseOwner: a.id });
      // Unfinished at the kill, with A's work in its journal. Its remaining steps may all have been
      // journaled between the check above and the kill (fast local nodes, saves committed in
      // groups); then B only has to finish it, which still must not re-run any of them.
      expect(doneCount(interruptedTarget)).toBeGreaterThan(0);
      expect(doneCount(interruptedTarget)).toBeLessThanOrEqual(expectedSteps(interruptedTarget).length);

      const bStarted = Date.now();
      b = await startWorker(4);
      await until(
        'every create to succeed and every cluster to be ACTIVE',
        async () => {
          const all = await ops();
          if (all.some((op) => op.status === 'failed' || op.status === 'cancelled')) {
            throw new Error(failWith(`an operation ended ${JSON.stringify(all.map((o) => [o.status, o.error]))}`));
          }
          if (!all.every((op) => op.status === 'succeeded')) return undefined;
          for (const name of clusterIds.keys()) {
            const s = await api.get(`/projects/${PROJECT}/clusters/${name}/status`);
            if (s.data !== 'ACTIVE') return undefined;
          }
          return true;
        },
        WAIT_MS,
      ).catch((e: Error) => {
        throw new Error(failWith(e.message));
      });
      const tDone = Date.now();

      let interrupted = 0;
      for (const op of await ops()) {
        const before = atKill.get(op.id)!;
        const names = expectedSteps(op);
        // The runner's deadline marks are bookkeeping; A's stay as they were (B keeps A's deadlines).
        const work = op.steps.filter((s) => !isDeadlineMark(s.name));
        expect(work.map((s) => s.name).sort()).toEqual([...names].sort());
        expect(op.steps.every((s) => s.status === 'done')).toBe(true);
        if (before.status === 'succeeded') {
          // Finished by A before the kill: B left it alone.
          expect(op).toMatchObject({ attempt: 1, leaseOwner: a.id });
          expect(op.steps).toEqual(before.steps);
          continue;
        }
        expect(op.leaseOwner).toBe(b.id);
        if (before.status === 'queued') {
          expect(op.attempt).toBe(1); // never claimed by A: B's is the first attempt
          continue;
        }
        // Interrupted: taken over once, by B.
        interrupted += 1;
        expect(before.status).toBe('running');
        expect(op.attempt).toBe(2);
        const prev = byName(before.steps);
        for (const s of op.steps.filter((x) => isDeadlineMark(x.name))) if (prev.has(s.name)) expect(s).toEqual(prev.get(s.name));
        for (const s of work) {
          const p = prev.get(s.name);
          if (p?.status === 'done') {
            // Done by A: not run again, the journal entry (run count, times, node detail) unchanged.
            expect(s).toEqual(p);
            expect(s.attempt).toBe(1);
          } else {
            // Run by B after it started; a step A was in the middle of ran once more (idempotently).
            expect(s.startedAt!).toBeGreaterThanOrEqual(bStarted);
            expect(s.attempt).toBe((p?.attempt ?? 0) + 1);
          }
        }
        // Events from both workers, each naming its attempt.
        const events = await opened.store.events.list(op.clusterId, { operationId: op.id });
        const starts = events.filter((e) => e.phase === 'start').map((e) => e.message);
        const [startA, startB] = [`create started (attempt 1) by ${a.id}`, `create started (attempt 2) by ${b.id}`];
        // A's start event is stored for the target (the kill waited for it); for another operation A
        // may have died before storing it.
        if (op.id === target.id) expect(starts).toEqual([startA, startB]);
        else expect(starts.filter((m) => m !== startA)).toEqual([startB]);
        expect(events.some((e) => e.phase === 'finish' && e.message === 'create succeeded')).toBe(true);
        // A node is created once, so its creation is reported at most once (A's last events may be lost with it).
        const created = events.filter((e) => e.phase === 'provision' && e.message.startsWith('local node '));
        expect(new Set(created.map((e) => e.node)).size).toBe(created.length);
      }
      expect(interrupted).toBeGreaterThanOrEqual(1);

      // The effects on disk: exactly the planned nodes, each once, with one address claim each.
      expect(readdirSync(nodesDir).sort()).toEqual([...clusterIds.values()].sort());
      const claims = readdirSync(claimsDir).sort();
      const addresses: string[] = [];
      for (const [name, id] of clusterIds) {
        const op = (await opened.store.operations.get(createOps.get(id)!))!;
        const before = atKill.get(op.id)!;
        const plan = planOf(op);
        expect(readdirSync(join(nodesDir, id)).sort()).toEqual(plan.nodes.map((n) => n.name).sort());
        const steps = byName(op.steps);
        for (const n of plan.nodes) {
          const dir = join(nodesDir, id, n.name);
          expect(readdirSync(dir).filter((f) => f === 'node.json')).toEqual(['node.json']);
          const rec = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8')) as NodeJson;
          expect(rec).toMatchObject({ clusterId: id, name: n.name, role: n.role });
          expect(rec.address).toMatch(/^127\./);
          addresses.push(rec.address);
          // The address is claimed for this node, and is the one the journal recorded.
          expect(claimOwner(join(claimsDir, rec.address))).toEqual({ clusterId: id, node: n.name });
          const detail = JSON.parse(steps.get(`provision:${n.name}`)!.detail!) as { address: string; providerId: string };
          expect(detail).toMatchObject({ address: rec.address, providerId: `${id}/${n.name}` });
          // A node that A had provisioned was not created again by B.
          if (byName(before.steps).get(`provision:${n.name}`)?.status === 'done') {
            expect(Date.parse(rec.createdAt)).toBeLessThanOrEqual(killedAt);
          }
        }
        const cluster = (await api.get(`/projects/${PROJECT}/clusters/${name}`)).data;
        const master = plan.nodes.find((n) => n.role === 'master')!;
        const masterRec = JSON.parse(readFileSync(join(nodesDir, id, master.name, 'node.json'), 'utf8')) as NodeJson;
        expect(cluster.MasterIP).toBe(masterRec.address);
      }
      expect(new Set(addresses).size).toBe(addresses.length);
      // No address claimed but unused (a leaked claim keeps the address from every other node).
      const stray = claims.filter((c) => !addresses.includes(c));
      const show = (c: string) => `${c}: ${JSON.stringify(claimOwner(join(claimsDir, c)))}`;
      expect(stray.map(show), 'claims of addresses no node uses').toEqual([]);
      expect(claims).toEqual([...addresses].sort());

      console.info(
        `[${backend.name}] ${CLUSTERS.length} clusters × ${NSLAVES + 1} nodes: A killed ${killedAt - t0} ms after POST ` +
          `(${doneCount(interruptedTarget)}/${expectedSteps(interruptedTarget).length} steps of the target done, ${interrupted} operation(s) interrupted); ` +
          `B finished ${tDone - tKill} ms after the kill snapshot (lease ${LEASE_SECONDS} s)`,
      );
    }, 180_000);

    it('deleting the clusters through the API while the second worker runs leaves the nodes directory empty', async () => {
      expect(b?.alive).toBe(true);
      const t0 = Date.now();
      for (const name of clusterIds.keys()) {
        const r = await api.delete(`/projects/${PROJECT}/clusters/${name}`);
        expect(r.status, r.raw).toBe(200);
        expect(r.data.EntityStatus).toBe('STOPPING');
      }
      await until(
        'every cluster to be deleted',
        async () => {
          for (const name of clusterIds.keys()) {
            if ((await api.get(`/projects/${PROJECT}/clusters/${name}/status`)).status !== 404) return undefined;
          }
          return true;
        },
        WAIT_MS,
      ).catch((e: Error) => {
        throw new Error(failWith(e.message));
      });
      for (const id of clusterIds.values()) {
        const del = await opened.store.operations.latest(id, 'delete');
        expect(del).toMatchObject({ status: 'succeeded', attempt: 1, leaseOwner: b.id });
        // The create's operation and events stay readable.
        expect((await opened.store.operations.get(createOps.get(id)!))?.status).toBe('succeeded');
      }
      expect(readdirSync(nodesDir)).toEqual([]);
      const left = readdirSync(claimsDir).map((c) => `${c}: ${JSON.stringify(claimOwner(join(claimsDir, c)))}`);
      expect(left, 'address claims left after delete').toEqual([]);
      console.info(`[${backend.name}] ${CLUSTERS.length} deletes done in ${Date.now() - t0} ms`);

      const exit = await b.stop('SIGTERM');
      expect(exit.code, failWith('worker B did not stop cleanly')).toBe(0);
    }, 120_000);
  });
}
