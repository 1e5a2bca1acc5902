// The `michman` client against a real server: a cluster's life from create to delete --wait, run as
// a child process so its arguments, output and exit codes are what a user or a script gets.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { startServer, run, configHome, type TestServer, type Run } from './server.js';

const ANSI = /\x1b\[/;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('michman cluster … against a real server', { timeout: 180_000 }, () => {
  let server: TestServer;
  let home: ReturnType<typeof configHome>;
  // Each node boots in 1.5 s, so watch joins an operation that is still running.
  let failNext = false;
  // The provider reads its options on every boot, so a test can slow it down.
  const fake = { bootLatencyMs: 1500, failureRate: 0.5, random: () => (failNext ? 0 : 1) };
  const env = () => ({ MICHMAN_URL: server.url, XDG_CONFIG_HOME: home.dir });
  const m = async (...args: string[]): Promise<Run> => {
    const r = await run(args, { env: env() });
    // Output to a pipe: never a colour code, on either stream.
    expect(r.stdout, args.join(' ')).not.toMatch(ANSI);
    expect(r.stderr, args.join(' ')).not.toMatch(ANSI);
    return r;
  };

  beforeAll(async () => {
    home = configHome();
    server = await startServer({ fake });
    for (const args of [
      ['image', 'create', '--name', 'debian', '--ansible-user', 'root', '--cloud-image-id', 'local'],
      ['flavor', 'create', '--name', 'small', '--vcpus', '1', '--ram', '1024', '--disk', '5'],
      ['project', 'create', '--name', 'demo', '--image', 'debian', '--master-flavor', 'small', '--slaves-flavor', 'small', '--storage-flavor', 'small', '--monitoring-flavor', 'small'],
    ]) {
      const r = await m(...args);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    home?.cleanup();
  });

  it('create → list → show → watch → scale → operation list → delete --wait', async () => {
    const created = await m('cluster', 'create', '-p', 'demo', '--name', 'spark1', '--slaves', '1', '--service', 'spark', '-o', 'json');
    expect(created.code, created.stderr).toBe(0);
    const c = JSON.parse(created.stdout);
    expect(c.Name).toBe('spark1-demo');
    expect(c.EntityStatus).toBe('INITED');

    const table = await m('cluster', 'list', '-p', 'demo');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+SLAVES\s+SERVICES/);
    expect(table.stdout).toMatch(/spark1-demo\s+(INITED|CREATING|ACTIVE)\s+1\s+spark:/);

    const json = await m('cluster', 'list', '-p', 'demo', '-o', 'json');
    expect(JSON.parse(json.stdout).map((x: { ID: string }) => x.ID)).toEqual([c.ID]);
    const yaml = await m('cluster', 'list', '-p', 'demo', '-o', 'yaml');
    expect(parseYaml(yaml.stdout)[0].Name).toBe('spark1-demo');

    const show = await m('cluster', 'show', '-p', 'demo', 'spark1-demo');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Name:\s+spark1-demo$/m);
    expect(show.stdout).toContain(c.ID);
    expect(show.stdout).toMatch(/^SERVICE\s+VERSION\s+STATUS\s+URL/m);

    const watched = await m('cluster', 'watch', '-p', 'demo', 'spark1-demo');
    expect(watched.code, watched.stderr).toBe(0);
    // Plain appended lines: the events as they came, then every step with its outcome.
    expect(watched.stdout).toMatch(/INFO \[provision spark1-demo-master\] booting/);
    expect(watched.stdout).toMatch(/^ {2}provision:spark1-demo-master\s+done/m);
    expect(watched.stdout).toMatch(/^ {2}deploy:spark\s+done/m);
    expect(watched.stdout).toContain('create of spark1-demo succeeded');
    const active = JSON.parse((await m('cluster', 'show', '-p', 'demo', 'spark1-demo', '-o', 'json')).stdout);
    expect(active.EntityStatus).toBe('ACTIVE');

    const scaled = await m('cluster', 'scale', '-p', 'demo', 'spark1-demo', '--slaves', '2', '--wait');
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stdout).toMatch(/^ {2}provision:spark1-demo-slave-?2\s+done/m);
    expect(scaled.stdout).toContain('scale of spark1-demo succeeded');
    expect(JSON.parse((await m('cluster', 'show', '-p', 'demo', 'spark1-demo', '-o', 'json')).stdout).NSlaves).toBe(2);

    const ops = await m('operation', 'list', '-p', 'demo', 'spark1-demo');
    expect(ops.code).toBe(0);
    expect(ops.stdout).toMatch(/\bcreate\s+succeeded\s+1\s+\d+\/\d+/);
    expect(ops.stdout).toMatch(/\bscale\s+succeeded\s+1\s+\d+\/\d+/);

    const deleted = await m('cluster', 'delete', '-p', 'demo', 'spark1-demo', '--wait');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('delete of spark1-demo succeeded');
    const after = await m('cluster', 'list', '-p', 'demo', '-o', 'json');
    expect(JSON.parse(after.stdout)).toEqual([]);
    // A deleted cluster's history stays reachable by its ID.
    const history = JSON.parse((await m('operation', 'list', '-p', 'demo', c.ID, '-o', 'json')).stdout);
    expect(history.map((o: { Kind: string; Status: string }) => `${o.Kind}:${o.Status}`)).toEqual(['create:succeeded', 'scale:succeeded', 'delete:succeeded']);
  }, 240_000);

  it('create --wait exits 4 when the operation fails, prints where, and operation retry --wait recovers it', async () => {
    failNext = true;
    const r = await m('cluster', 'create', '-p', 'demo', '--name', 'doomed', '--slaves', '0', '--service', 'redis', '--wait');
    failNext = false;
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toContain('create of doomed-demo failed');
    expect(r.stderr).toMatch(/create failed in provision doomed-demo-storage: .*failed to boot/);
    const ops = JSON.parse((await m('operation', 'list', '-p', 'demo', 'doomed-demo', '-o', 'json')).stdout);
    expect(ops.at(-1).Status).toBe('failed');
    expect(r.stderr).toContain(`michman operation retry ${ops.at(-1).ID}`);

    const retried = await m('operation', 'retry', ops.at(-1).ID, '-p', 'demo', '--wait');
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('create of doomed-demo succeeded');
    const del = await m('cluster', 'delete', '-p', 'demo', 'doomed-demo', '--wait');
    expect(del.code, del.stderr).toBe(0);
  }, 240_000);

  it('operation cancel stops a running create; watch then exits 4', async () => {
    fake.bootLatencyMs = 600_000;
    try {
      const c = await m('cluster', 'create', '-p', 'demo', '--name', 'slow', '--service', 'redis');
      expect(c.code, c.stderr).toBe(0);
      const [op] = JSON.parse((await m('operation', 'list', '-p', 'demo', 'slow-demo', '-o', 'json')).stdout);
      const cancel = await m('operation', 'cancel', op.ID);
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(cancel.stdout).toMatch(new RegExp(`operation ${op.ID} \\(create\\): (cancelled|queued, cancel requested|running, cancel requested)`));
      const w = await m('cluster', 'watch', '-p', 'demo', 'slow-demo');
      expect(w.code, w.stdout + w.stderr).toBe(4);
      expect(w.stdout).toContain('create of slow-demo cancelled');
      const shown = await m('operation', 'show', op.ID);
      expect(shown.stdout).toMatch(/^Status:\s+cancelled$/m);
    } finally {
      fake.bootLatencyMs = 1500;
    }
    const del = await m('cluster', 'delete', '-p', 'demo', 'slow-demo', '--wait');
    expect(del.code, del.stderr).toBe(0);
  }, 240_000);

  it('--dry-run prints the plan and stores nothing', async () => {
    const r = await m('cluster', 'create', '-p', 'demo', '--name', 'plan', '--slaves', '2', '--service', 'spark', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dry run: nothing was stored');
    expect(r.stdout).toMatch(/^plan-demo-master\s+master/m);
    expect(r.stdout).toMatch(/^plan-demo-slave-?2\s+slave/m);
    expect((await m('cluster', 'list', '-p', 'demo')).stdout).not.toContain('plan-demo');
  });

  it('an unknown project exits 1 with the server\'s message', async () => {
    const r = await m('cluster', 'list', '-p', 'no-such-project');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('project with this name or id (no-such-project) does not exist');
    expect(r.stderr).toContain('HTTP 404');
    expect(r.stdout).toBe('');
  });

  it('a refusal of the server exits 1 naming the field (a bad service type)', async () => {
    const r = await m('cluster', 'create', '-p', 'demo', '--name', 'bad', '--service', 'no-such-type');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-type');
  });

  it('a server that does not answer exits 3 with a clear message', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await run(['cluster', 'list', '-p', 'demo', '--url', url], { env: { XDG_CONFIG_HOME: home.dir } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the Michman server at ${url}: connection refused`);
    const dns = await run(['project', 'list'], { env: { XDG_CONFIG_HOME: home.dir, MICHMAN_URL: 'http://no-such-host.invalid:8081' } });
    expect(dns.code).toBe(3);
    expect(dns.stderr).toContain('cannot reach the Michman server at http://no-such-host.invalid:8081');
  });

  it('usage errors exit 2 and send nothing', async () => {
    for (const args of [
      ['cluster', 'list'], // --project missing
      ['cluster', 'lst', '-p', 'demo'],
      ['cluster', 'create', '-p', 'demo', '--name', 'x', '--slaves', 'two'],
      ['cluster', 'create', '-p', 'demo', '--name', 'x', '--service', 'redis:'],
      ['cluster', 'list', '-p', 'demo', '-o', 'xml'],
      ['cluster', 'list', '-p', 'demo', '--url', 'not a url'],
      ['cluster', 'create', '-p', 'demo', '-f', '/nonexistent.yaml'],
    ]) {
      const r = await m(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toBe('');
    }
  }, 240_000);

  it('creates from a YAML file, flags overriding it', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const file = join(home.dir, 'cluster.yaml');
    writeFileSync(file, 'DisplayName: fromfile\nNSlaves: 3\nServices:\n  - Type: redis\n    Config:\n      db_password: s3cret-from-file\n');
    const r = await m('cluster', 'create', '-p', 'demo', '-f', file, '--slaves', '0', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect([c.Name, c.NSlaves, c.Services[0].Type]).toEqual(['fromfile-demo', 0, 'redis']);
    const w = await m('cluster', 'watch', '-p', 'demo', 'fromfile-demo');
    expect(w.code, w.stderr).toBe(0);
    expect((await m('cluster', 'delete', '-p', 'demo', 'fromfile-demo', '--wait')).code).toBe(0);
  }, 240_000);

  it('help lists the exit codes', async () => {
    const r = await m('cluster', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3  the server cannot be reached');
    expect(r.stdout).toContain('4  watch / --wait: the operation ended failed or cancelled');
  });

  it('the basics of project, image, flavor, template and catalog', async () => {
    expect((await m('project', 'list')).stdout).toMatch(/^demo\s+/m);
    expect((await m('image', 'show', 'debian', '-o', 'json')).stdout).toContain('"AnsibleUser": "root"');
    expect((await m('flavor', 'list')).stdout).toMatch(/^small\s+1\s+1024\s+5\s/m);
    const t = await m('template', 'create', '-p', 'demo', '--name', 'cache', '--service', 'redis', '--slaves', '0', '-o', 'json');
    expect(t.code, t.stderr).toBe(0);
    const id = JSON.parse(t.stdout).ID;
    expect((await m('template', 'list', '-p', 'demo')).stdout).toMatch(/^cache-demo\s+0\s+redis/m);
    expect((await m('template', 'show', id, '-p', 'demo')).stdout).toMatch(/^Name:\s+cache-demo$/m);
    expect((await m('template', 'delete', id, '-p', 'demo')).code).toBe(0);
    const cat = await m('catalog', 'list');
    expect(cat.stdout).toMatch(/^redis\s+storage\s+7\.0\s+/m);
    const versions = await m('catalog', 'show', 'redis');
    expect(versions.stdout).toMatch(/^7\.0\s+1\s/m);
    const params = await m('catalog', 'show', 'redis', '7.0');
    expect(params.stdout).toMatch(/^db_password\s+string/m);
  }, 240_000);
});
