// The Ansible deployer's pure parts: inventory groups, callback lines → events and errors,
// redaction, extra-vars with the original's names plus michman_* variables.
import { describe, it, expect } from 'vitest';
import { buildInventory } from '../../src/deploy/ansible/inventory.js';
import { failureMessage, parseLine, redactor, resultEvent, isFatal, taskStartEvent, type TaskResult, type TaskStart } from '../../src/deploy/ansible/events.js';
import { runVars, generatedParams } from '../../src/deploy/ansible/vars.js';
import type { OperationPlan } from '../../src/domain/plan.js';
import type { ProvisionedNode } from '../../src/providers/types.js';

const nodes: ProvisionedNode[] = [
  { name: 'c1-slave-2', role: 'slave', address: '10.213.0.12', providerId: 'x' },
  { name: 'c1-master', role: 'master', address: '10.213.0.10', providerId: 'x' },
  { name: 'c1-slave-10', role: 'slave', address: '10.213.0.13', providerId: 'x' },
  { name: 'c1-slave-1', role: 'slave', address: '10.213.0.11', providerId: 'x' },
  { name: 'c1-storage', role: 'storage', address: '10.213.0.14', providerId: 'x' },
];

describe('inventory', () => {
  it("has the original's four groups, every one declared, hosts with address, root, key and node name", () => {
    const inv = buildInventory('c1', nodes, '/data/secrets/clusters/id/ssh_key');
    const lines = inv.split('\n');
    expect(lines).toContain('[c1_master]');
    expect(lines).toContain('[c1_slaves]');
    expect(lines).toContain('[c1_storage]');
    expect(lines).toContain('[c1_monitoring]');
    expect(lines[lines.indexOf('[c1_monitoring]') + 1]).toBe('');
    expect(lines).toContain('c1-master ansible_host=10.213.0.10 ansible_user=root ansible_ssh_private_key_file=/data/secrets/clusters/id/ssh_key michman_node_name=c1-master');
    const slaves = lines.slice(lines.indexOf('[c1_slaves]') + 1, lines.indexOf('[c1_storage]') - 1).map((l) => l.split(' ')[0]);
    expect(slaves).toEqual(['c1-slave-1', 'c1-slave-2', 'c1-slave-10']);
    expect(inv).toContain("[all:vars]\nansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'");
  });

  it("logs in as a cloud image's own user with privilege escalation", () => {
    const lines = buildInventory('c1', nodes, '/k', 'ubuntu').split('\n');
    expect(lines).toContain('c1-master ansible_host=10.213.0.10 ansible_user=ubuntu ansible_become=true ansible_ssh_private_key_file=/k michman_node_name=c1-master');
    expect(buildInventory('c1', nodes, '/k', 'root')).not.toContain('ansible_become');
  });
});

describe('callback lines', () => {
  const failed = '{"event":"result","host":"c1-storage","play":"p","role":"redis","task":"Configure","action":"template","status":"failed","ignored":false,"msg":"bad value pw123secret\\nline 2"}';

  it('parses results, stats and ignores other output', () => {
    expect(parseLine('PLAY [x] ****')).toBeUndefined();
    expect(parseLine('{"event":"nope"}')).toBeUndefined();
    const r = parseLine(failed) as TaskResult;
    expect(r).toMatchObject({ event: 'result', host: 'c1-storage', role: 'redis', task: 'Configure', status: 'failed', ignored: false });
    expect(isFatal(r)).toBe(true);
    expect(isFatal({ ...r, ignored: true })).toBe(false);
    expect(isFatal({ ...r, status: 'unreachable' })).toBe(true);
    expect(isFatal({ ...r, status: 'unreachable', ignored: true })).toBe(false);
    expect(parseLine('{"event":"stats","hosts":{"a":{"ok":1,"changed":0,"failures":0,"unreachable":0,"skipped":0}}}')).toMatchObject({ event: 'stats' });
  });

  it('makes one event per result and host, and an error naming host, role and task, without secrets', () => {
    const redact = redactor(['pw123secret', 'ab']);
    const r = parseLine(failed) as TaskResult;
    const ev = resultEvent(r, 'redis', redact);
    expect(ev).toMatchObject({ level: 'error', node: 'c1-storage', service: 'redis' });
    expect(ev.message).toBe('[redis] Configure: failed: bad value ********');
    expect(failureMessage('deploy.yml', r, redact)).toBe("ansible deploy.yml: host c1-storage: role redis, task 'Configure' failed: bad value ********");
    expect(resultEvent({ ...r, status: 'changed', msg: '' }, undefined, redact)).toMatchObject({ level: 'info', message: '[redis] Configure: changed' });
    // A task's start: a debug event naming it (redacted too: task names are templated).
    const start = parseLine('{"event":"task","play":"p","role":"redis","task":"Set pw123secret","handler":true}') as TaskStart;
    expect(start).toEqual({ event: 'task', play: 'p', role: 'redis', task: 'Set pw123secret', handler: true });
    expect(taskStartEvent(start, 'redis', redact)).toEqual({ level: 'debug', phase: '', service: 'redis', message: '[redis] Set ********: handler started' });
    // Too short to redact safely (would shred ordinary words).
    expect(redact('about')).toBe('about');
  });
});

describe('extra-vars of a run', () => {
  const plan: OperationPlan = {
    image: 'debian-12',
    nodes: [],
    levels: [['redis']],
    services: [
      {
        id: 's1',
        type: 'redis',
        version: '7.0',
        class: 'storage',
        accessPort: 6379,
        config: {},
        params: [{ ParameterName: 'db_password', Type: 'string', IsList: false, DefaultValue: '', Required: false }],
        nodes: ['c1-storage'],
      },
      {
        id: 's2',
        type: 'slurm',
        version: '22.05',
        class: 'master-slave',
        accessPort: 0,
        config: { use_rest: 'true' },
        params: [
          { ParameterName: 'use_rest', Type: 'bool', IsList: false, DefaultValue: 'false', Required: true },
          { ParameterName: 'partitions', Type: 'string', IsList: false, DefaultValue: '["main:all"]', Required: true },
        ],
        nodes: ['c1-master', 'c1-slave-1'],
      },
    ],
    cluster: {
      name: 'c1',
      displayName: 'c1',
      nSlaves: 3,
      ownerId: 'alice',
      monitoring: true,
      keys: ['ssh-ed25519 AAAA alice'],
      masterFlavor: 'm',
      slavesFlavor: 's',
      storageFlavor: 'st',
      monitoringFlavor: 'mo',
    },
  };

  it("uses the original's names and typing, and adds michman_only, michman_apt_proxy, michman_admin_keys", () => {
    const v = runVars({
      plan,
      clusterName: 'c1',
      only: 'redis',
      action: 'create',
      knownTypes: ['spark', 'redis'],
      keyFile: '/k',
      nodes,
      aptProxy: 'http://10.213.0.1:3142',
      generated: { redis: { db_password: 'generated-pw' } },
    });
    expect(v).toMatchObject({
      cluster_name: 'c1',
      n_slaves: 3,
      deploy_redis: true,
      deploy_slurm: true,
      deploy_spark: false,
      redis_version: '7.0',
      redis_db_password: 'generated-pw',
      slurm_use_rest: true,
      slurm_partitions: '["main:all"]',
      create_storage: true,
      create_monitoring: true,
      public_keys: ['ssh-ed25519 AAAA alice'],
      ansible_ssh_private_key_file: '/k',
      michman_only: 'redis',
      michman_apt_proxy: 'http://10.213.0.1:3142',
      michman_admin_keys: ['ssh-ed25519 AAAA alice'],
      cluster_owner: 'alice',
    });
    expect(v.michman_node_addresses).toMatchObject({ 'c1-master': '10.213.0.10', 'c1-storage': '10.213.0.14' });
    expect(v).not.toHaveProperty('spark_version');
    // Without an image record in the plan and a login user: root, and the image as named.
    expect(v).toMatchObject({ ansible_user: 'root', hadoop_user: 'root', os_image: plan.image });
  });

  it("takes the original's os_image and ansible_user from the plan's image record and the login user", () => {
    const p = { ...plan, imageRef: { cloudImageId: '0d3c9f5e-1111-4222-8333-444455556666', ansibleUser: 'debian' } };
    const v = runVars({ plan: p, clusterName: 'c1', action: 'create', knownTypes: [], keyFile: '/k', nodes, generated: {}, loginUser: 'debian' });
    expect(v).toMatchObject({ os_image: '0d3c9f5e-1111-4222-8333-444455556666', ansible_user: 'debian', hadoop_user: 'debian' });
  });

  it("keeps the user's password over a generated one, and generates only empty secret strings", () => {
    const p2 = { ...plan, services: [{ ...plan.services[0]!, config: { db_password: 'users-own' } }] };
    const v = runVars({ plan: p2, clusterName: 'c1', action: 'create', knownTypes: [], keyFile: '/k', nodes, generated: { redis: { db_password: 'gen' } } });
    expect(v.redis_db_password).toBe('users-own');
    expect(v).not.toHaveProperty('michman_only');
    expect(generatedParams(plan.services[0]!.params)).toEqual(['db_password']);
    expect(generatedParams(plan.services[1]!.params)).toEqual([]);
  });
});
