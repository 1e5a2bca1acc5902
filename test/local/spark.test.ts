// Spark standalone with HDFS on the local provider: a master and a NameNode, two workers and two
// DataNodes, as JVMs on loopback node addresses, started and health-checked by the local deployer
// (ready only when every worker is ALIVE and every DataNode live); a file put into HDFS is read
// back, and a Spark job writes to hdfs:// what another one reads; SparkPi (compiled here with the
// Scala compiler among Spark's jars) runs on both workers; scale out to 3 slaves and back; a
// redeploy starts nothing new; remove stops every JVM. Spark's jars come from the pyspark sdist in
// the artifact cache (put into /var/tmp/michman-artifacts once per host by `michman artifacts fetch
// spark`, checked against the sha256 PyPI publishes), unpacked next to it like the spark role does;
// Hadoop's from the Maven jars of the same cache, laid out by the role's fetch-jars.py (each jar
// checked against its pinned SHA-1 again); Java from Debian's openjdk-17-jre-headless. Set
// MICHMAN_TEST_SPARK_VERSION / MICHMAN_TEST_HADOOP_VERSION to try another catalog version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalProvider } from '../../src/providers/local/provider.js';
import { LocalDeployer } from '../../src/deploy/local/deployer.js';
import { findProcesses } from '../../src/host/processes.js';
import { httpGet } from '../../src/deploy/local/net.js';
import { ArtifactCache } from '../../src/providers/nspawn/artifactCache.js';
import { readSparkPins, sparkArtifacts } from '../../src/deploy/ansible/sparkArtifacts.js';
import { spark } from '../../src/deploy/local/spark.js';
import { clientSite, dataNodePort, hadoopClasspath, hadoopReleases, siteXml } from '../../src/deploy/local/hdfs.js';
import { isAlive } from '../../src/host/processes.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import type { Artifact } from '../../src/domain/artifacts.js';
import { JOBS } from '../helpers/sparkJobs.js';
import { context, deployment, tempRoot } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const VERSION = process.env.MICHMAN_TEST_SPARK_VERSION ?? '3.5.7';
const CACHE = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const java = ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/bin/java'].find((p) => existsSync(p));

const LINE = process.env.MICHMAN_TEST_HADOOP_VERSION ?? deployment('spark', [], { version: VERSION }).params.find((p) => p.ParameterName === 'hadoop_version')!.DefaultValue;
const RELEASE = hadoopReleases()[LINE]!;
const [SDIST, ...JARS] = sparkArtifacts(readSparkPins(join(PACKAGE_ROOT, 'ansible')), VERSION, LINE) as [Artifact, ...Artifact[]];
// Tests send nothing beyond loopback: the sdist and the jars must already be in the cache, checked
// (their stamps), as `michman artifacts fetch spark` leaves them (CI warms the cache before npm test).
const stamped = (a: Artifact) => existsSync(join(CACHE, a.path)) && existsSync(`${join(CACHE, a.path)}.${a.sha256 ? 'sha256' : 'sha1'}.ok`);
const cached = [SDIST, ...JARS].every(stamped);
const missing = !java
  ? 'no Java 17 (apt-get install openjdk-17-jre-headless)'
  : !cached
    ? `pyspark ${VERSION} or the Hadoop ${RELEASE} jars are not in the artifact cache ${CACHE}: run MICHMAN_NSPAWN_ARTIFACTS_DIR=${CACHE} michman artifacts fetch spark --spark-version ${VERSION} --hadoop-version ${LINE}`
    : undefined;

/** `<cache>/local/spark-<v>-bin-hadoop3`: jars/ and bin/ of the cached, checked pyspark sdist. */
async function localSparkHome(): Promise<string> {
  const home = join(CACHE, 'local', `spark-${VERSION}-bin-hadoop3`);
  if (existsSync(join(home, 'RELEASE'))) return home;
  // Checks the cached file against the pin again (no download: it is there).
  await new ArtifactCache(CACHE, join(CACHE, '.state-local'), '127.0.0.1').fetch([SDIST], (l) => console.log(l));
  const stage = `${home}.staging-${process.pid}`;
  mkdirSync(stage, { recursive: true });
  const top = `pyspark-${VERSION}`;
  execFileSync('tar', ['-xzf', join(CACHE, SDIST.path), '-C', stage, '--strip-components=2', '--no-same-owner', `${top}/deps/jars`, `${top}/deps/bin`, `${top}/deps/sbin`]);
  writeFileSync(join(stage, 'RELEASE'), `Spark ${VERSION} (jars of the pyspark sdist, sha256 ${SDIST.sha256})\n`);
  rmSync(home, { recursive: true, force: true });
  renameSync(stage, home);
  return home;
}

/** `<cache>/local/hadoop-<release>`: the cached Maven jars in the layout the spark role gives them. */
function localHadoopHome(): string {
  const home = join(CACHE, 'local', `hadoop-${RELEASE}`);
  if (existsSync(join(home, 'MICHMAN-INSTALLED'))) return home;
  const manifest = `${home}.sha1-${process.pid}`;
  mkdirSync(join(CACHE, 'local'), { recursive: true });
  writeFileSync(manifest, JARS.map((j) => `${j.sha1}  ${j.path.replace(/^maven2\//, '')}\n`).join(''));
  // The role's own installer, reading the cache through file:// (each jar's SHA-1 checked again).
  execFileSync('python3', [join(PACKAGE_ROOT, 'ansible/roles/spark/files/fetch-jars.py'), `file://${join(CACHE, 'maven2')}`, manifest, home], { stdio: 'pipe' });
  rmSync(manifest, { force: true });
  return home;
}

describe.skipIf(lacks(`spark on the local provider: ${missing}`, missing === undefined))('spark with HDFS on the local provider', () => {
  const tmp = tempRoot('spark');
  const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.83.0.0/16' });
  // Six JVMs start at once on a host that may be busy: generous, as a start that is slow is not a failure.
  const deployer = new LocalDeployer({ startTimeoutMs: 300_000, stopTimeoutMs: 20_000 });
  const ctx = context();
  const nodes: ProvisionedNode[] = [];
  let home = '';
  let hadoop = '';
  const saved = { SPARK_HOME: process.env.SPARK_HOME, HADOOP_HOME: process.env.HADOOP_HOME };
  const config = process.env.MICHMAN_TEST_HADOOP_VERSION ? { hadoop_version: LINE } : {};
  const spec = (on: ProvisionedNode[]) => deployment('spark', on, { version: VERSION, accessPort: 8080, config });
  const jobs = join(tmp.root, 'jobs');
  const master = () => nodes[0]!.address;

  const addNode = async (name: string, role: 'master' | 'slave') => nodes.push(await provider.ensureNode(ctx, { name: `${ctx.clusterId}-${name}`, role, flavor: 'local', image: 'host' }));
  const liveDataNodes = async () => {
    const r = await httpGet(`http://${master()}:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`);
    return Object.keys(JSON.parse((JSON.parse(r.body) as { beans: Array<{ LiveNodes: string }> }).beans[0]!.LiveNodes) as object).sort();
  };
  const aliveWorkers = async () => {
    const st = JSON.parse((await httpGet(`http://${master()}:8080/json/`)).body) as { workers: Array<{ host: string; state: string }> };
    return st.workers.filter((w) => w.state === 'ALIVE').map((w) => w.host).sort();
  };
  const dn = (n: ProvisionedNode) => `${n.address}:${dataNodePort(n.address)}`;
  /** A client's configuration (core-site.xml, hdfs-site.xml), as README shows it. */
  const clientConf = join(tmp.root, 'hdfs-conf');
  /** The HDFS shell as a client of the cluster (README shows the same command). */
  const hdfs = (...args: string[]) =>
    execFileSync(java!, ['-cp', hadoopClasspath(hadoop, clientConf), 'org.apache.hadoop.fs.FsShell', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  const submit = (cls: string, args: string[], everyWorker?: { cores: number }) => {
    // SparkPi must run on every worker: ask for all their cores and wait until all have registered
    // (seen in CI: a short job finished on the first executor alone). Standalone mode counts the
    // ratio against spark.cores.max, so both are needed, as in test/nspawn/spark.test.ts.
    const wait = everyWorker
      ? ['--conf', `spark.cores.max=${everyWorker.cores}`, '--conf', 'spark.scheduler.minRegisteredResourcesRatio=1.0', '--conf', 'spark.scheduler.maxRegisteredResourcesWaitingTime=120s']
      : [];
    const out = execFileSync(
      join(home, 'bin', 'spark-submit'),
      [
        ...wait,
        '--master',
        `spark://${master()}:7077`,
        '--conf',
        'spark.driver.host=127.0.0.1',
        '--conf',
        'spark.executor.memory=512m',
        '--conf',
        'spark.driver.memory=512m',
        '--conf',
        'spark.hadoop.dfs.client.use.datanode.hostname=true',
        '--class',
        cls,
        join(jobs, 'jobs.jar'),
        ...args,
      ],
      { encoding: 'utf8', env: { ...process.env, SPARK_HOME: home, JAVA_HOME: java!.replace(/\/bin\/java$/, ''), SPARK_LOCAL_IP: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    console.log(out.trim());
    return out;
  };

  beforeAll(async () => {
    home = await localSparkHome();
    hadoop = localHadoopHome();
    process.env.SPARK_HOME = home;
    process.env.HADOOP_HOME = hadoop;
    await addNode('master', 'master');
    await addNode('slave-1', 'slave');
    await addNode('slave-2', 'slave');
    const site = clientSite(master());
    mkdirSync(clientConf, { recursive: true });
    writeFileSync(join(clientConf, 'core-site.xml'), siteXml(site.core));
    writeFileSync(join(clientConf, 'hdfs-site.xml'), siteXml(site.hdfs));
  }, 600_000);

  afterAll(async () => {
    await deployer.remove(ctx, spec(nodes)).catch(() => undefined);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await tmp.cleanup();
  }, 120_000);

  it('refuses, naming what is missing, when Spark or Hadoop is not on this host', async () => {
    process.env.SPARK_HOME = join(tmp.root, 'nowhere');
    const loc = await spark.locate('4.1.0');
    process.env.SPARK_HOME = home;
    expect('problem' in loc && loc.problem).toMatch(/needs Spark's jars on this host: set SPARK_HOME/);
    if (!existsSync('/opt/hadoop') && Object.values(hadoopReleases()).every((r) => !existsSync(`/opt/hadoop-${r}`))) {
      process.env.HADOOP_HOME = join(tmp.root, 'nowhere');
      const problems = await deployer.check([{ type: 'spark', version: VERSION }]);
      process.env.HADOOP_HOME = hadoop;
      expect(problems.join('; ')).toMatch(/needs Hadoop's HDFS jars on this host .*set HADOOP_HOME/);
    }
  });

  it('starts a master, a NameNode, two workers and two DataNodes: every worker ALIVE, every DataNode live', async () => {
    const t0 = performance.now();
    await deployer.deploy(ctx, spec(nodes));
    console.log(`local spark + hdfs: deploy -> healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const h = await deployer.health(ctx, spec(nodes));
    expect(h.healthy, h.detail).toBe(true);
    expect(h.detail).toContain(`NameNode hdfs://${master()}:9000 with 2 live DataNode(s)`);
    expect(await aliveWorkers()).toEqual([nodes[1]!.address, nodes[2]!.address].sort());
    expect(await liveDataNodes()).toEqual([dn(nodes[1]!), dn(nodes[2]!)].sort());
  }, 600_000);

  it('a file put into HDFS is read back, with a block on each DataNode', () => {
    const file = join(tmp.root, 'hello.txt');
    writeFileSync(file, 'hello from michman\n');
    hdfs('-mkdir', '-p', '/michman');
    hdfs('-put', file, '/michman/hello.txt');
    expect(hdfs('-cat', '/michman/hello.txt')).toBe('hello from michman\n');
    // Replication 2 over 2 DataNodes: the block is on both, so both took part in the write.
    const where = execFileSync(java!, ['-cp', hadoopClasspath(hadoop, clientConf), 'org.apache.hadoop.hdfs.tools.DFSck', '-D', `dfs.namenode.http-address=${master()}:9870`, '/michman/hello.txt', '-files', '-blocks', '-locations'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    expect(where).toMatch(/Status: HEALTHY/);
    expect(where).toContain(`:${dataNodePort(nodes[1]!.address)}`);
    expect(where).toContain(`:${dataNodePort(nodes[2]!.address)}`);
  }, 600_000);

  it('runs SparkPi on both workers, and a Spark job reads from hdfs:// what another wrote', async () => {
    mkdirSync(jobs, { recursive: true });
    writeFileSync(join(jobs, 'jobs.scala'), JOBS);
    execFileSync(java!, ['-cp', `${home}/jars/*`, 'scala.tools.nsc.Main', '-usejavacp', '-d', join(jobs, 'jobs.jar'), join(jobs, 'jobs.scala')], { stdio: 'pipe', timeout: 300_000 });
    const status = JSON.parse((await httpGet(`http://${master()}:8080/json/`, {}, 20_000)).body) as { cores: number };
    const pi = submit('SparkPi', ['4'], { cores: status.cores });
    expect(pi).toMatch(/Pi is roughly 3\.1/);
    expect(pi).toContain(nodes[1]!.address);
    expect(pi).toContain(nodes[2]!.address);
    const url = `hdfs://${master()}:9000/michman/lines`;
    expect(submit('HdfsWrite', [url])).toContain(`wrote ${url}`);
    expect(submit('HdfsRead', [url])).toContain('read 10000 lines, sum 50005000');
    expect(hdfs('-ls', '/michman/lines')).toContain('_SUCCESS');
  }, 900_000);

  it('scales out to 3 slaves (a worker and a DataNode join) and back in to 2', async () => {
    await addNode('slave-3', 'slave');
    await deployer.deploy(ctx, spec(nodes));
    expect(await aliveWorkers()).toEqual(nodes.slice(1).map((n) => n.address).sort());
    expect(await liveDataNodes()).toEqual(nodes.slice(1).map(dn).sort());
    expect((await deployer.health(ctx, spec(nodes))).detail).toContain('with 3 live DataNode(s)');
    // Scale in as the engine does: remove the service from the leaving node, then converge the rest.
    const leaving = nodes.pop()!;
    await deployer.remove(ctx, spec([leaving]));
    expect(await findProcesses({ programs: ['java'], marker: leaving.dataDir! })).toEqual([]);
    await deployer.deploy(ctx, spec(nodes));
    const h = await deployer.health(ctx, spec(nodes));
    expect(h.healthy, h.detail).toBe(true);
    await provider.deleteNode(ctx, leaving);
    // The file written with 2 DataNodes is still there.
    expect(hdfs('-cat', '/michman/hello.txt')).toBe('hello from michman\n');
  }, 900_000);

  it('a redeploy starts nothing new, and remove stops every JVM', async () => {
    const before = await findProcesses({ programs: ['java'], marker: tmp.dataRoot });
    expect(before).toHaveLength(6); // master, NameNode, 2 workers, 2 DataNodes
    await deployer.deploy(ctx, spec(nodes));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual(before);
    await deployer.remove(ctx, spec(nodes));
    for (const pid of before) expect(await isAlive(pid), `pid ${pid}`).toBe(false);
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual([]);
  }, 300_000);
});
