// Real ansible-playbook runs against localhost (connection local, files in a temp directory): the
// callback's lines become results, a failure names host, role and task, cancel kills the whole
// process group, and the temp files (extra-vars with a secret) are gone afterwards.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlaybook, PlaybookError, stopStaleRun } from '../../src/deploy/ansible/playbook.js';
import { spawn } from 'node:child_process';
import type { TaskResult, TaskStart } from '../../src/deploy/ansible/events.js';
import { redactor } from '../../src/deploy/ansible/events.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { lacksProgram } from '../helpers/requirements.js';

const noAnsible = lacksProgram('/usr/bin/ansible-playbook');
const SECRET = 'pb-test-secret-9f8e7d';

describe.skipIf(noAnsible)('ansible-playbook with the michman_events callback', () => {
  let dir: string;
  let out: string;
  const inventory = () => `[t_master]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 michman_node_name=localhost\n`;
  const base = () => ({
    ansibleDir: dir,
    inventory: inventory(),
    callbackDir: join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
    redact: redactor([SECRET]),
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'michman-pb-'));
    out = join(dir, 'out');
    mkdirSync(join(dir, 'roles', 'demo', 'tasks'), { recursive: true });
    writeFileSync(
      join(dir, 'roles', 'demo', 'tasks', 'main.yml'),
      [
        '- name: Write the marker',
        '  ansible.builtin.copy: { dest: "{{ out }}/marker", content: "{{ demo_db_password | length }}\\n", mode: "0600" }',
        '- name: Refuse an impossible value',
        '  ansible.builtin.fail: { msg: "value {{ demo_value }} is impossible (password {{ demo_db_password }})" }',
        "  when: demo_value | default('') == 'impossible'",
        '- name: Sleep when asked',
        '  ansible.builtin.command: sleep {{ demo_sleep | default(0) }}',
        '  when: (demo_sleep | default(0) | int) > 0',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'play.yml'), '- name: Demo\n  hosts: t_master\n  gather_facts: false\n  roles: [demo]\n');
    mkdirSync(out);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const vars = (extra: Record<string, unknown>) => JSON.stringify({ out, demo_db_password: SECRET, ...extra });

  it('turns each task result into a result line and returns the stats', async () => {
    const results: TaskResult[] = [];
    const starts: TaskStart[] = [];
    const r = await runPlaybook({
      ...base(),
      playbook: 'play.yml',
      extraVars: vars({}),
      signal: new AbortController().signal,
      onResult: (x) => results.push(x),
      onTaskStart: (t) => starts.push(t),
    });
    // Each task announces its start (so one that hangs is named while it runs), in order.
    expect(starts.map((t) => [t.play, t.role, t.task, t.handler])).toEqual([
      ['Demo', 'demo', 'Write the marker', false],
      ['Demo', 'demo', 'Refuse an impossible value', false],
      ['Demo', 'demo', 'Sleep when asked', false],
    ]);
    expect(results.map((x) => [x.host, x.role, x.task, x.status])).toEqual([
      ['localhost', 'demo', 'Write the marker', 'changed'],
      ['localhost', 'demo', 'Refuse an impossible value', 'skipped'],
      ['localhost', 'demo', 'Sleep when asked', 'skipped'],
    ]);
    expect(r.stats.localhost).toMatchObject({ changed: 1, failures: 0, unreachable: 0 });
    expect(readFileSync(join(out, 'marker'), 'utf8').trim()).toBe(String(SECRET.length));
    const again = await runPlaybook({ ...base(), playbook: 'play.yml', extraVars: vars({}), signal: new AbortController().signal, onResult: () => undefined });
    expect(again.stats.localhost).toMatchObject({ changed: 0 });
    // The per-run directory with the extra-vars file is gone.
    // (Other runs may be going on meanwhile: look for this test's secret, not for any directory.)
    const ours = readdirSync(tmpdir()).filter((f) => {
      try {
        return f.startsWith('michman-ansible-') && readFileSync(join(tmpdir(), f, 'extravars.json'), 'utf8').includes(SECRET);
      } catch {
        return false;
      }
    });
    expect(ours).toEqual([]);
  }, 120_000);

  it('fails with host, role and task in the message and the module message (redacted) as output', async () => {
    const err = await runPlaybook({ ...base(), playbook: 'play.yml', extraVars: vars({ demo_value: 'impossible' }), signal: new AbortController().signal, onResult: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookError);
    const e = err as PlaybookError;
    expect(e.message).toBe(`ansible play.yml: host localhost: role demo, task 'Refuse an impossible value' failed: value impossible is impossible (password ********)`);
    expect(e.output).toContain('is impossible');
    expect(e.output).not.toContain(SECRET);
    expect([e.host, e.role, e.task]).toEqual(['localhost', 'demo', 'Refuse an impossible value']);
  }, 120_000);

  it('a task running past the task timeout fails, naming host, role and task', async () => {
    const err = await runPlaybook({
      ...base(),
      playbook: 'play.yml',
      extraVars: vars({ demo_sleep: 300 }),
      signal: new AbortController().signal,
      onResult: () => undefined,
      taskTimeoutSeconds: 2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookError);
    const e = err as PlaybookError;
    expect([e.host, e.role, e.task]).toEqual(['localhost', 'demo', 'Sleep when asked']);
    // Ansible's own words for ANSIBLE_TASK_TIMEOUT: the run ended by the timeout, not by the sleep.
    expect(e.message).toMatch(/expected time frame \(2\)/);
  }, 150_000);

  it('on cancel kills the whole process group (no sleep left behind)', async () => {
    const ac = new AbortController();
    const marker = `${Math.floor(1000 + Math.random() * 8000)}`; // a unique sleep length to find it by
    const results: TaskResult[] = [];
    const p = runPlaybook({ ...base(), playbook: 'play.yml', extraVars: vars({ demo_sleep: marker }), signal: ac.signal, onResult: (x) => results.push(x), killGraceMs: 2000 });
    const sleeping = () =>
      readdirSync('/proc')
        .filter((f) => /^\d+$/.test(f))
        .filter((f) => {
          try {
            return readFileSync(`/proc/${f}/cmdline`, 'utf8').split('\0').join(' ').trim() === `sleep ${marker}`;
          } catch {
            return false;
          }
        });
    const until = Date.now() + 60_000;
    while (sleeping().length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(sleeping().length).toBe(1);
    ac.abort(new Error('operation cancelled'));
    await expect(p).rejects.toThrow('operation cancelled');
    const gone = Date.now() + 10_000;
    while (sleeping().length > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    expect(sleeping()).toEqual([]);
  }, 120_000);
});

describe('a run left behind by an earlier Michman process', () => {
  it('is stopped (its whole group) and its files removed; a pid that is not ours is left alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michman-ansible-'));
    const pidFile = join(mkdtempSync(join(tmpdir(), 'michman-runs-')), 'c.pid');
    const child = spawn('/bin/sh', ['-c', 'sleep 300 & wait', dir], { detached: true, stdio: 'ignore' });
    child.unref();
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(pidFile, `${child.pid}\n${dir}\n`);
    expect(await stopStaleRun(pidFile)).toBe(child.pid);
    expect(existsSync(`/proc/${child.pid}/cmdline`) && readFileSync(`/proc/${child.pid}/cmdline`, 'utf8') !== '').toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    // Our own pid with a directory not in its arguments: never signalled.
    const other = mkdtempSync(join(tmpdir(), 'michman-ansible-'));
    writeFileSync(pidFile, `${process.pid}\n${other}\n`);
    expect(await stopStaleRun(pidFile)).toBeUndefined();
    rmSync(other, { recursive: true, force: true });
  });
});
