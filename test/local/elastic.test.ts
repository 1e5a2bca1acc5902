// OpenSearch (type elastic) on the local provider: three JVMs on loopback node addresses (the master
// the cluster manager, the slaves data nodes), one cluster; an index with one replica makes
// `_cluster/health` green with 3 nodes; a document indexed through one slave is found by a search
// through the other; heap_size reaches the JVMs; a slave added by scale-out joins; a redeploy
// starts nothing new, and remove leaves no JVM and no listening port. OpenSearch comes from the pinned minimal distribution in the
// artifact cache (`michman artifacts fetch elastic --service-version 2.19.3`, as .ci/run does before
// npm test): the checked zip is unpacked once into <cache>/local/opensearch-<v>, as the role unpacks
// it into /opt/opensearch-<v>. Nothing is downloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { findProcesses } from '../../src/host/processes.js';
import { portOpen } from '../../src/host/net.js';
import { elasticArtifacts, readElasticPins } from '../../src/deploy/ansible/jvmArtifacts.js';
import { defaultHeapMb, elastic, ELASTIC_TRANSPORT_PORT, parseHeapSize } from '../../src/deploy/local/elastic.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { context, deployment, tempRoot } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const VERSION = '2.19.3';
const CACHE = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const java = ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/bin/java'].find((p) => existsSync(p));
const [ZIP] = elasticArtifacts(readElasticPins(join(PACKAGE_ROOT, 'ansible')), VERSION);
const zipPath = join(CACHE, ZIP!.path);
// Tests send nothing beyond loopback: the zip must already be in the cache, checked (its stamp).
const missing = !java
  ? 'no Java 17 (apt-get install openjdk-17-jre-headless)'
  : !existsSync('/usr/bin/unzip')
    ? 'no /usr/bin/unzip (apt-get install unzip)'
    : !(existsSync(zipPath) && existsSync(`${zipPath}.sha512.ok`))
      ? `the OpenSearch ${VERSION} distribution is not in the artifact cache ${CACHE}: run MICHMAN_NSPAWN_ARTIFACTS_DIR=${CACHE} michman artifacts fetch elastic --service-version ${VERSION}`
      : undefined;

/** `<cache>/local/opensearch-<v>`: the cached zip unpacked (staged, renamed into place when complete), readable by all. */
function localOpenSearchHome(): string {
  const home = join(CACHE, 'local', `opensearch-${VERSION}`);
  if (existsSync(join(home, 'MICHMAN-INSTALLED'))) return home;
  const stage = `${home}.staging-${process.pid}`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  execFileSync('/usr/bin/unzip', ['-q', zipPath, '-d', stage], { stdio: 'pipe' });
  execFileSync('/bin/chmod', ['-R', 'a+rX', stage], { stdio: 'pipe' });
  writeFileSync(join(stage, `opensearch-${VERSION}`, 'MICHMAN-INSTALLED'), `${ZIP!.sha512}\n`);
  try {
    renameSync(join(stage, `opensearch-${VERSION}`), home);
  } catch (e) {
    if (!existsSync(join(home, 'MICHMAN-INSTALLED'))) throw e; // another run put it there first
  }
  rmSync(stage, { recursive: true, force: true });
  return home;
}

describe('elastic on the local provider: heap sizing', () => {
  it('defaults to an eighth of each node’s share of the host, between 256 and 512 MiB', () => {
    expect(defaultHeapMb(24 * 1024, 3)).toBe(512);
    expect(defaultHeapMb(8 * 1024, 3)).toBe(341);
    expect(defaultHeapMb(2 * 1024, 3)).toBe(256);
  });

  it('takes heap_size as the role does (512m, 2g), and refuses anything else naming the key', () => {
    expect(parseHeapSize('')).toBeUndefined();
    expect(parseHeapSize('384m')).toBe(384);
    expect(parseHeapSize('2G')).toBe(2048);
    for (const bad of ['512', '1.5g', '64m', '512k', '-1g']) expect(() => parseHeapSize(bad)).toThrow(/heap_size must be empty .* got/);
  });
});

describe.skipIf(lacks(`elastic on the local provider: ${missing}`, missing === undefined))('a 3-node OpenSearch cluster on the local provider', () => {
  const tmp = tempRoot('elastic');
  const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.214.21.0/24' });
  const deployer = new LocalDeployer({ startTimeoutMs: 300_000, stopTimeoutMs: 60_000 });
  const ctx = context();
  const nodes: ProvisionedNode[] = [];
  let home = '';
  const saved = process.env.OPENSEARCH_HOME;
  const spec = (on: ProvisionedNode[]) => deployment('elastic', on, { version: VERSION, accessPort: 9200, config: { heap_size: '384m' } });
  const addNode = async (name: string, role: 'master' | 'slave') => nodes.push(await provider.ensureNode(ctx, { name: `${ctx.clusterId}-${name}`, role, flavor: 'local', image: 'host' }));
  const call = async (n: ProvisionedNode, method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://${n.address}:9200${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json()) as any };
  };

  beforeAll(async () => {
    home = localOpenSearchHome();
    process.env.OPENSEARCH_HOME = home;
    await addNode('master', 'master');
    await addNode('slave-1', 'slave');
    await addNode('slave-2', 'slave');
  }, 300_000);

  afterAll(async () => {
    await deployer.remove(ctx, spec(nodes)).catch(() => undefined);
    if (saved === undefined) delete process.env.OPENSEARCH_HOME;
    else process.env.OPENSEARCH_HOME = saved;
    await tmp.cleanup();
  }, 180_000);

  it('refuses, naming what is missing, when OpenSearch is not on this host; 3.x for its Java', async () => {
    process.env.OPENSEARCH_HOME = join(tmp.root, 'nowhere');
    const loc = await elastic.locate('2.0.0');
    process.env.OPENSEARCH_HOME = home;
    expect('problem' in loc && loc.problem).toMatch(/needs OpenSearch on this host: set OPENSEARCH_HOME or unpack opensearch-2\.0\.0\.zip/);
    const v3 = await elastic.locate('3.3.2');
    expect('problem' in v3 && v3.problem).toMatch(/OpenSearch 3\.x needs Java 21/);
  });

  it('starts three nodes that form one cluster: the master the cluster manager, the slaves data nodes, heap_size in every JVM', async () => {
    const t0 = performance.now();
    await deployer.deploy(ctx, spec(nodes));
    console.log(`local elastic: deploy -> healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const h = await deployer.health(ctx, spec(nodes));
    expect(h.healthy, h.detail).toBe(true);
    const cat = await call(nodes[2]!, 'GET', '/_cat/nodes?format=json&h=ip,name,node.role,cluster_manager');
    expect(cat.status).toBe(200);
    const byName = new Map((cat.json as Array<{ ip: string; name: string; 'node.role': string; cluster_manager: string }>).map((r) => [r.name, r]));
    expect([...byName.keys()].sort()).toEqual(nodes.map((n) => n.name).sort());
    for (const n of nodes) expect(byName.get(n.name)!.ip).toBe(n.address);
    expect(byName.get(nodes[0]!.name)).toMatchObject({ 'node.role': 'm', cluster_manager: '*' });
    for (const s of nodes.slice(1)) expect(byName.get(s.name)!['node.role']).toMatch(/^(?=.*d)(?=.*i)[a-z]+$/);
    const jvms = await findProcesses({ programs: ['java'], marker: tmp.dataRoot });
    expect(jvms).toHaveLength(3);
    for (const pid of jvms) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('-Xmx384m');
  }, 600_000);

  it('an index with one replica makes _cluster/health green with 3 nodes; a document indexed through one slave is found through the other', async () => {
    const created = await call(nodes[1]!, 'PUT', '/e2e', { settings: { number_of_shards: 2, number_of_replicas: 1 } });
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    const health = await call(nodes[0]!, 'GET', '/_cluster/health/e2e?wait_for_status=green&timeout=120s');
    expect(health.json).toMatchObject({ status: 'green', number_of_nodes: 3, number_of_data_nodes: 2, timed_out: false, active_shards: 4 });
    const put = await call(nodes[1]!, 'PUT', '/e2e/_doc/1?refresh=wait_for', { text: 'indexed through slave-1' });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    const found = await call(nodes[2]!, 'POST', '/e2e/_search', { query: { match: { text: 'slave-1' } } });
    expect(found.status).toBe(200);
    expect(found.json.hits.hits.map((x: { _id: string; _source: unknown }) => [x._id, x._source])).toEqual([['1', { text: 'indexed through slave-1' }]]);
    const all = await call(nodes[2]!, 'GET', '/_cluster/health');
    expect(all.json).toMatchObject({ status: 'green', number_of_nodes: 3 });
  }, 300_000);

  it('a slave added by scale-out joins the cluster as a data node and finds the document', async () => {
    await addNode('slave-3', 'slave');
    await deployer.deploy(ctx, spec(nodes));
    const h = await deployer.health(ctx, spec(nodes));
    expect(h.healthy, h.detail).toBe(true);
    const health = await call(nodes[3]!, 'GET', '/_cluster/health?wait_for_status=green&timeout=120s');
    expect(health.json).toMatchObject({ status: 'green', number_of_nodes: 4, number_of_data_nodes: 3 });
    const found = await call(nodes[3]!, 'GET', '/e2e/_doc/1');
    expect(found.json).toMatchObject({ found: true, _source: { text: 'indexed through slave-1' } });
  }, 300_000);

  it('a redeploy starts nothing new; remove leaves no JVM and no listening port', async () => {
    const before = await findProcesses({ programs: ['java'], marker: tmp.dataRoot });
    expect(before).toHaveLength(4);
    await deployer.deploy(ctx, spec(nodes));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual(before);
    await deployer.remove(ctx, spec(nodes));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual([]);
    for (const n of nodes) for (const p of [9200, ELASTIC_TRANSPORT_PORT]) expect(await portOpen(n.address, p, 1000), `${n.address}:${p}`).toBe(false);
    for (const n of nodes) expect(existsSync(deployer.serviceDir(n, 'elastic'))).toBe(false);
  }, 300_000);
});
