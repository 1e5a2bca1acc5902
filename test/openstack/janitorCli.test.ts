// `michman janitor [--delete]` against the fake cloud with an empty store: every tagged resource
// belongs to a cluster the store does not have. Relies on dist/ (npm test compiles first).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeOpenStack } from './fakeOpenstack.js';
import { providerOn, planOf, ctxOf, specsOf } from './helpers.js';
import { CLI, requireBuiltCli } from '../engine/workerProcess.js';

requireBuiltCli();

let fake: FakeOpenStack;
let dir: string;

beforeAll(async () => {
  fake = await new FakeOpenStack().start();
  dir = mkdtempSync(join(tmpdir(), 'michman-janitor-'));
  writeFileSync(join(dir, 'clouds.yaml'), stringify({ clouds: { fake: { auth: fake.auth() } } }));
});
afterAll(async () => {
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});

function janitor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MICHMAN_') && !k.startsWith('OS_')) env[k] = v;
  Object.assign(env, {
    MICHMAN_PROVIDER: 'openstack',
    MICHMAN_OS_CLOUD: 'fake',
    MICHMAN_OS_CLOUDS_FILE: join(dir, 'clouds.yaml'),
    MICHMAN_VIRTUAL_NETWORK: 'private',
    MICHMAN_FLOATING_IP_POOL: 'public',
    MICHMAN_DATA_DIR: dir,
    MICHMAN_LOG_LEVEL: 'warn',
  });
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'janitor', ...args], { env, cwd: dir, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('michman janitor', () => {
  it('lists the resources of clusters that no longer exist, and removes them with --delete', async () => {
    const p = providerOn(fake);
    const ctx = ctxOf(planOf('j1-proj', 1, false));
    await p.prepareCluster(ctx);
    await Promise.all(specsOf(ctx.plan!).map((s) => p.ensureNode(ctx, s)));

    const listed = await janitor();
    expect(listed.code, listed.stderr).toBe(1);
    expect(listed.stdout).toContain(`cluster ${ctx.clusterId} (gone)`);
    expect(listed.stdout).toMatch(/server j1-proj-master \(/);
    expect(listed.stdout).toMatch(/floating IP 172\.24\./);
    expect(fake.taggedWith(ctx.clusterId).length).toBeGreaterThan(0);

    const removed = await janitor('--delete');
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removed the resources of cluster ${ctx.clusterId}`);
    expect(fake.taggedWith(ctx.clusterId)).toEqual([]);

    const clean = await janitor();
    expect(clean).toMatchObject({ code: 0, stdout: 'no leaked resources\n' });
  }, 180_000); // three CLI starts on a busy 2-core machine
});
