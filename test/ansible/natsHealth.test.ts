// The Ansible deployer's NATS health check against real nats-server processes on loopback
// addresses of this host (the monitoring port is fixed at 8222, so each server gets its own
// address): healthy only when every node routes to every other and the login works; the detail
// names the node without a route, and never the password.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHealth, type HealthInput } from '../../src/deploy/ansible/health.js';
import { httpGet } from '../../src/deploy/local/net.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { lacksProgram } from '../helpers/requirements.js';

const PROGRAM = '/usr/sbin/nats-server';
const PASSWORD = 'health "pw" 9';
const nodes: ProvisionedNode[] = [
  { name: 'h-master', role: 'master', address: '127.215.13.1', providerId: 'x' },
  { name: 'h-slave-1', role: 'slave', address: '127.215.13.2', providerId: 'x' },
  { name: 'h-slave-2', role: 'slave', address: '127.215.13.3', providerId: 'x' },
];

let dir = '';
const servers: ChildProcess[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.kill('SIGKILL');
    await new Promise((r) => (s.exitCode !== null || s.signalCode !== null ? r(undefined) : s.once('exit', r)));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts one server per node; `routed` lists, per node, the nodes it is configured to route to. */
async function start(routed: Record<string, string[]>): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'michman-nats-health-'));
  for (const n of nodes) {
    const conf = {
      server_name: n.name,
      listen: `${n.address}:4222`,
      http: `${n.address}:8222`,
      authorization: { user: 'app', password: PASSWORD },
      cluster: {
        name: 'h',
        listen: `${n.address}:6222`,
        routes: (routed[n.name] ?? []).map((peer) => `nats-route://${nodes.find((x) => x.name === peer)!.address}:6222`),
      },
    };
    const file = join(dir, `${n.name}.conf`);
    writeFileSync(file, JSON.stringify(conf));
    servers.push(spawn(PROGRAM, ['-c', file], { stdio: 'ignore' }));
  }
  for (const n of nodes) {
    for (let i = 0; ; i++) {
      const up = await httpGet(`http://${n.address}:8222/varz`, {}, 1000).then((r) => r.status === 200, () => false);
      if (up) break;
      if (i > 100) throw new Error(`nats-server on ${n.address} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const input = (password: string): HealthInput => ({
  type: 'nats',
  nodes,
  params: { user: 'app', password },
  accessPort: 4222,
  clusterNodes: nodes,
  ssh: () => Promise.reject(new Error('no ssh for nats')),
});

/** Polls until the check is healthy or a few seconds passed (routes connect asynchronously). */
async function settled(i: HealthInput) {
  let h = await checkHealth(i);
  for (let t = 0; t < 40 && !h.healthy; t++) {
    await new Promise((r) => setTimeout(r, 250));
    h = await checkHealth(i);
  }
  return h;
}

describe.skipIf(lacksProgram(PROGRAM))('nats health check (Ansible deployer)', () => {
  it('is healthy when every node routes to every other and the login works', async () => {
    await start({ 'h-master': ['h-slave-1', 'h-slave-2'], 'h-slave-1': ['h-master', 'h-slave-2'], 'h-slave-2': ['h-master', 'h-slave-1'] });
    const h = await settled(input(PASSWORD));
    expect(h.healthy, h.detail).toBe(true);
    expect(h.detail).toMatch(/h-master: nats-server 2\.\d+\.\d+ at 127\.215\.13\.1:4222, routes to 2 node\(s\), CONNECT\+PING → PONG/);
  }, 30_000);

  it('is unhealthy with a wrong password, without showing it', async () => {
    await start({ 'h-master': ['h-slave-1', 'h-slave-2'], 'h-slave-1': ['h-master'], 'h-slave-2': ['h-master'] });
    await settled(input(PASSWORD));
    const h = await checkHealth(input('not the password'));
    expect(h.healthy).toBe(false);
    expect(h.detail).toContain('Authorization Violation');
    expect(h.detail).not.toContain('not the password');
  }, 30_000);

  it('names a node that has no route to another (two islands)', async () => {
    // slave-2 routes to nobody and nobody routes to it.
    await start({ 'h-master': ['h-slave-1'], 'h-slave-1': ['h-master'] });
    await new Promise((r) => setTimeout(r, 1500));
    const h = await checkHealth(input(PASSWORD));
    expect(h.healthy).toBe(false);
    expect(h.detail).toContain('h-master: nats at 127.215.13.1 has no route to h-slave-2');
    expect(h.detail).toContain('h-slave-2: nats at 127.215.13.3 has no route to h-master, h-slave-1');
  }, 30_000);
});
