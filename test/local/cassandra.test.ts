// Cassandra on the local provider, as ccm runs it: three JVMs on loopback node addresses (each its
// own address, directories and a small heap), the master the seed; the ring shows 3 nodes UN
// (nodetool over each node's local JMX port); a keyspace with RF = 3 gets a row written at QUORUM
// through one node and read at QUORUM through another (cassandra-driver, held to one node each);
// the generated superuser password works and the default one no longer does; a redeploy starts
// nothing new and remove stops every JVM. Cassandra's jars come from Maven Central through the
// artifact cache (`michman artifacts fetch cassandra` puts them into /var/tmp/michman-artifacts),
// laid out by the cassandra role's own fetch-jars.py (each jar's SHA-1 checked again).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import driver from 'cassandra-driver';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { findProcesses } from '../../src/host/processes.js';
import { cassandraArtifacts, readCassandraPins } from '../../src/deploy/ansible/cassandraArtifacts.js';
import { cassandra, nodetoolArgs } from '../../src/deploy/local/cassandra.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import type { Artifact } from '../../src/domain/artifacts.js';
import { context, deployment, tempRoot } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const VERSION = '5.0.6';
const CACHE = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const java = ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/bin/java'].find((p) => existsSync(p));
const JARS = cassandraArtifacts(readCassandraPins(join(PACKAGE_ROOT, 'ansible')), VERSION);
// Tests send nothing beyond loopback: the jars must already be in the cache, checked (their stamps).
const stamped = (a: Artifact) => existsSync(join(CACHE, a.path)) && existsSync(`${join(CACHE, a.path)}.sha1.ok`);
const missing = !java
  ? 'no Java 17 (apt-get install openjdk-17-jre-headless)'
  : !JARS.every(stamped)
    ? `the Cassandra ${VERSION} jars are not in the artifact cache ${CACHE}: run MICHMAN_NSPAWN_ARTIFACTS_DIR=${CACHE} michman artifacts fetch cassandra`
    : undefined;

/** `<cache>/local/apache-cassandra-<v>`: the cached Maven jars in the layout the cassandra role gives them. */
function localCassandraHome(): string {
  const home = join(CACHE, 'local', `apache-cassandra-${VERSION}`);
  if (existsSync(join(home, 'MICHMAN-INSTALLED'))) return home;
  const manifest = `${home}.sha1-${process.pid}`;
  mkdirSync(join(CACHE, 'local'), { recursive: true });
  writeFileSync(manifest, JARS.map((j) => `${j.sha1}  ${j.path.replace(/^maven2\//, '')}\n`).join(''));
  execFileSync('python3', [join(PACKAGE_ROOT, 'ansible/roles/cassandra/files/fetch-jars.py'), `file://${join(CACHE, 'maven2')}`, manifest, home], { stdio: 'pipe' });
  rmSync(manifest, { force: true });
  return home;
}

describe.skipIf(lacks(`cassandra on the local provider: ${missing}`, missing === undefined))('a 3-node Cassandra ring on the local provider', () => {
  const tmp = tempRoot('cassandra');
  const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.214.20.0/24' });
  const deployer = new LocalDeployer({ startTimeoutMs: 300_000, stopTimeoutMs: 60_000 });
  const ctx = context();
  const nodes: ProvisionedNode[] = [];
  let home = '';
  const saved = process.env.CASSANDRA_HOME;
  const spec = (on: ProvisionedNode[]) => deployment('cassandra', on, { version: VERSION, accessPort: 9042 });
  const addNode = async (name: string, role: 'master' | 'slave') => nodes.push(await provider.ensureNode(ctx, { name: `${ctx.clusterId}-${name}`, role, flavor: 'local', image: 'host' }));
  const client = (n: ProvisionedNode, password: string) =>
    new driver.Client({
      contactPoints: [`${n.address}:9042`],
      localDataCenter: 'datacenter1',
      credentials: { username: 'cassandra', password },
      policies: { loadBalancing: new driver.policies.loadBalancing.AllowListPolicy(new driver.policies.loadBalancing.RoundRobinPolicy(), [`${n.address}:9042`]) },
      socketOptions: { readTimeout: 60_000, connectTimeout: 20_000 },
    });

  beforeAll(async () => {
    home = localCassandraHome();
    process.env.CASSANDRA_HOME = home;
    await addNode('master', 'master');
    await addNode('slave-1', 'slave');
    await addNode('slave-2', 'slave');
  }, 300_000);

  afterAll(async () => {
    await deployer.remove(ctx, spec(nodes)).catch(() => undefined);
    if (saved === undefined) delete process.env.CASSANDRA_HOME;
    else process.env.CASSANDRA_HOME = saved;
    await tmp.cleanup();
  }, 180_000);

  it('refuses, naming what is missing, when Cassandra is not on this host', async () => {
    process.env.CASSANDRA_HOME = join(tmp.root, 'nowhere');
    const loc = await cassandra.locate('4.1.10');
    process.env.CASSANDRA_HOME = home;
    expect('problem' in loc && loc.problem).toMatch(/needs Cassandra's jars on this host: set CASSANDRA_HOME/);
  });

  it('starts three nodes, the master first: nodetool status shows all three UN', async () => {
    const t0 = performance.now();
    await deployer.deploy(ctx, spec(nodes));
    console.log(`local cassandra: deploy -> healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const h = await deployer.health(ctx, spec(nodes));
    expect(h.healthy, h.detail).toBe(true);
    // Another node learns that the last one finished joining through gossip, a moment after that
    // node itself answers (CI saw slave-1 still list it UJ): the ring is read until it converges,
    // for at most a minute.
    const un = () => {
      const status = execFileSync(java!, nodetoolArgs(home, nodes[1]!.address, tmp.root).concat('status'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
      return { status, up: [...status.matchAll(/^UN\s+(\S+)/gm)].map((m) => m[1]).sort() };
    };
    let seen = un();
    for (const until = Date.now() + 60_000; seen.up.length < nodes.length && Date.now() < until; seen = un()) await new Promise((r) => setTimeout(r, 2000));
    console.log(seen.status);
    expect(seen.up).toEqual(nodes.map((n) => n.address).sort());
  }, 600_000);

  it('writes a row at QUORUM through one node and reads it at QUORUM through another (RF = 3); the default password is refused', async () => {
    const password = (await deployer.secretsInUse(spec(nodes))).db_password!;
    expect(password).toMatch(/.{16,}/);
    const [w, r] = [client(nodes[1]!, password), client(nodes[2]!, password)];
    try {
      await w.connect();
      await w.execute("CREATE KEYSPACE IF NOT EXISTS e2e WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
      await w.execute('CREATE TABLE IF NOT EXISTS e2e.kv (id int PRIMARY KEY, v text)');
      await w.execute('INSERT INTO e2e.kv (id, v) VALUES (?, ?)', [1, 'written through slave-1'], { prepare: true, consistency: driver.types.consistencies.quorum });
      await r.connect();
      const got = await r.execute('SELECT v FROM e2e.kv WHERE id = ?', [1], { prepare: true, consistency: driver.types.consistencies.quorum });
      expect(got.first()?.get('v')).toBe('written through slave-1');
      expect(got.info.queriedHost).toBe(`${nodes[2]!.address}:9042`);
    } finally {
      await Promise.all([w.shutdown(), r.shutdown()]);
    }
    const bad = client(nodes[0]!, 'cassandra');
    await expect(bad.connect()).rejects.toThrow(/incorrect|authentication/i);
    await bad.shutdown();
  }, 300_000);

  it('a redeploy starts nothing new, and remove stops every JVM', async () => {
    const before = await findProcesses({ programs: ['java'], marker: tmp.dataRoot });
    expect(before).toHaveLength(3);
    await deployer.deploy(ctx, spec(nodes));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual(before);
    await deployer.remove(ctx, spec(nodes));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual([]);
  }, 300_000);
});
