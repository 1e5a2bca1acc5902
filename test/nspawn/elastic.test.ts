// OpenSearch (catalog type elastic) on nspawn, end to end through the API, the engine and the real
// elastic role: a master (cluster manager) and two slaves (data nodes) reach ACTIVE as one cluster
// (the health check counts every node); an index with a replica goes green; a document indexed
// through one node is found by a search through another; the heap is sized from the node's memory
// by default; a second apply changes nothing; the role's remove path and the delete leave nothing.
// OpenSearch comes from the pinned Maven Central distribution through the host's artifact cache
// (`michman artifacts fetch elastic --service-version 2.19.3` warms it), Java from Debian.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { IMAGES_DIR, applyAgain, e2eApi, linkNames, netnsList, nspawnMissing, processesWith, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';
import { opensearchZip } from '../helpers/opensearch.js';

const NETWORK = process.env.MICHMAN_TEST_ELASTIC_NETWORK ?? '10.214.22.0/24';
const ARTIFACTS_DIR = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';

async function os(n: ProvisionedNode, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`http://${n.address}:9200${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(90_000) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

const missing = lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined) || lacks('the OpenSearch artifact in the cache (michman artifacts fetch elastic --service-version 2.19.3)', existsSync(opensearchZip()));

describe.skipIf(missing)('an OpenSearch (elastic) cluster on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-elastic-',
    project: 'es',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true, nspawn_artifacts_dir: ARTIFACTS_DIR }),
    overrides: { deploy_deadline_seconds: 900, ansible_task_timeout_seconds: 600 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;
  const apply = (playbook = 'deploy.yml') => ({ running: api.running(), provider: machinery().provider, clusterId, clusterName: 'ess-es', nodes, playbook, only: 'elastic', vars: { n_slaves: 2 }, timeoutMs: 8 * 60_000 });

  it('creates 1 master + 2 slaves with elastic 2.19.3, and reaches ACTIVE as one cluster', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/es/clusters', { DisplayName: 'ess', NSlaves: 2, Services: [{ Type: 'elastic', Version: '2.19.3' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('ess-es', 20);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn elastic: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'ess-es', signal: new AbortController().signal, emit: () => undefined });
    expect(nodes.map((n) => n.name).sort()).toEqual(['ess-es-master', 'ess-es-slave-1', 'ess-es-slave-2']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = await events('ess-es');
    expect(all.some((e) => /opensearch cluster ess-es \w+ with 3 of 3 node\(s\)/.test(e.Message))).toBe(true);
  }, 22 * 60_000);

  it('refuses at POST a version nothing is pinned for, and 3.3.2 (Java 21), by name', async () => {
    const r = await call('POST', '/projects/es/clusters', { DisplayName: 'ess3', NSlaves: 1, Services: [{ Type: 'elastic', Version: '3.3.2' }] });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.stringify(r.body)).toContain('elastic version 3.3.2 cannot be deployed');
  }, 60_000);

  it('is one cluster: the master manages it, the slaves hold the data; heaps are sized from the node memory', async () => {
    const cat = await os(node('-master'), 'GET', '/_cat/nodes?format=json&h=name,node.role,cluster_manager,ip,heap.max');
    expect(cat.status).toBe(200);
    const byName = new Map((cat.json as Array<Record<string, string>>).map((x) => [x.name, x]));
    expect([...byName.keys()].sort()).toEqual(nodes.map((n) => n.name).sort());
    expect(byName.get('ess-es-master')!.cluster_manager).toBe('*');
    for (const s of ['ess-es-slave-1', 'ess-es-slave-2']) expect(byName.get(s)!['node.role']).toContain('d');
    const jvm = await os(node('-slave-1'), 'GET', '/_nodes/jvm');
    for (const n of Object.values(jvm.json.nodes as Record<string, { jvm: { mem: { heap_max_in_bytes: number } } }>)) {
      expect(n.jvm.mem.heap_max_in_bytes).toBeGreaterThanOrEqual(250 * 2 ** 20);
      expect(n.jvm.mem.heap_max_in_bytes).toBeLessThanOrEqual(2 * 2 ** 30);
    }
  }, 120_000);

  it('an index with a replica is green, and a document indexed through slave-1 is found through slave-2 and the master', async () => {
    expect((await os(node('-slave-1'), 'PUT', '/e2e', { settings: { number_of_shards: 2, number_of_replicas: 1 } })).status).toBe(200);
    const put = await os(node('-slave-1'), 'PUT', '/e2e/_doc/1?refresh=true', { title: 'written through slave-1', n: 42 });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    const health = await os(node('-master'), 'GET', '/_cluster/health/e2e?wait_for_status=green&timeout=60s');
    expect(health.json).toMatchObject({ status: 'green', number_of_nodes: 3, number_of_data_nodes: 2, active_shards: 4, unassigned_shards: 0 });
    for (const via of ['-slave-2', '-master']) {
      const found = await os(node(via), 'POST', '/e2e/_search', { query: { match: { title: 'slave-1' } } });
      expect(found.json.hits.total.value, via).toBe(1);
      expect(found.json.hits.hits[0]._source).toEqual({ title: 'written through slave-1', n: 42 });
    }
  }, 180_000);

  it('a second apply of the elastic role (deploy.yml) reports changed=0', async () => {
    const again = await applyAgain(apply());
    expect(again.changed).toEqual([]);
    expect(again.total).toBe(0);
  }, 9 * 60_000);

  it("the role's remove path leaves nothing of OpenSearch on the nodes", async () => {
    const leftovers =
      'getent passwd opensearch >/dev/null && echo user; ' +
      'for p in /opt/opensearch /opt/opensearch-2.19.3 /etc/opensearch /var/lib/opensearch /var/log/opensearch /etc/systemd/system/opensearch.service; do [ -e $p ] && echo $p; done; ' +
      "pgrep -f '[o]rg.opensearch.bootstrap' >/dev/null && echo process; true";
    expect(ssh(keyFile, node('-slave-2').address, leftovers).trim().split('\n')).toEqual(expect.arrayContaining(['user', '/opt/opensearch', '/var/lib/opensearch', 'process']));
    await runRole(apply('remove.yml'));
    for (const n of nodes) expect(ssh(keyFile, n.address, leftovers).trim(), n.name).toBe('');
  }, 9 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/es/clusters/ess-es')).status).toBe(200);
    expect((await settle('ess-es', 10)).status).toBe('GONE');
    const m = machinery();
    expect(await m.provider.leftovers(clusterId)).toEqual([]);
    expect(netnsList().filter((n) => n.includes(clusterId))).toEqual([]);
    expect(linkNames()).not.toContain(m.provider.bridge);
    expect(processesWith(join(api.dir(), 'data', 'nspawn'))).toEqual([]);
  }, 11 * 60_000);
});
