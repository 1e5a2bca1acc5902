// Spark standalone on the local provider: a master and two workers as JVMs on loopback node
// addresses, started and health-checked by the local deployer; SparkPi (compiled here with the Scala
// compiler among Spark's jars) runs on both workers; a redeploy starts nothing new; remove stops
// every JVM. Spark's jars come from the pyspark sdist in the artifact cache (put into
// /var/tmp/michman-artifacts once per host by `michman artifacts fetch spark`, checked against the
// sha256 PyPI publishes), unpacked next to it like the spark role does; Java from Debian's
// openjdk-17-jre-headless. Set MICHMAN_TEST_SPARK_VERSION to try another catalog version.
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
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { JOBS } from '../helpers/sparkJobs.js';
import { context, deployment, tempRoot } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const VERSION = process.env.MICHMAN_TEST_SPARK_VERSION ?? '3.5.7';
const CACHE = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
const java = ['/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '/usr/bin/java'].find((p) => existsSync(p));

const SDIST = sparkArtifacts(readSparkPins(join(PACKAGE_ROOT, 'ansible')), VERSION, '3.4')[0]!;
// Tests send nothing beyond loopback: the sdist must already be in the cache, checked (its stamp),
// as `michman artifacts fetch spark` leaves it (CI warms the cache before npm test).
const cached = existsSync(join(CACHE, SDIST.path)) && existsSync(`${join(CACHE, SDIST.path)}.sha256.ok`);
const missing = !java
  ? 'no Java 17 (apt-get install openjdk-17-jre-headless)'
  : !cached
    ? `pyspark ${VERSION} is not in the artifact cache ${CACHE}: run MICHMAN_NSPAWN_ARTIFACTS_DIR=${CACHE} michman artifacts fetch spark --spark-version ${VERSION} --hadoop-version 3.3`
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

describe.skipIf(lacks(`spark on the local provider: ${missing}`, missing === undefined))('spark on the local provider', () => {
  const tmp = tempRoot('spark');
  const provider = new LocalProvider({ dataRoot: tmp.dataRoot, addressBase: '127.83.0.0/16' });
  const deployer = new LocalDeployer({ startTimeoutMs: 120_000, stopTimeoutMs: 20_000 });
  const ctx = context();
  let nodes: ProvisionedNode[] = [];
  let home = '';
  const savedHome = process.env.SPARK_HOME;

  beforeAll(async () => {
    home = await localSparkHome();
    process.env.SPARK_HOME = home;
    for (const [name, role] of [['master', 'master'], ['slave-1', 'slave'], ['slave-2', 'slave']] as const) {
      nodes.push(await provider.ensureNode(ctx, { name: `${ctx.clusterId}-${name}`, role, flavor: 'local', image: 'host' }));
    }
  }, 600_000);

  afterAll(async () => {
    await deployer.remove(ctx, deployment('spark', nodes, { version: VERSION })).catch(() => undefined);
    if (savedHome === undefined) delete process.env.SPARK_HOME;
    else process.env.SPARK_HOME = savedHome;
    await tmp.cleanup();
  }, 120_000);

  it('refuses, naming what is missing, when Spark is not on this host', async () => {
    process.env.SPARK_HOME = join(tmp.root, 'nowhere');
    const loc = await spark.locate('4.1.0');
    process.env.SPARK_HOME = home;
    expect('problem' in loc && loc.problem).toMatch(/needs Spark's jars on this host: set SPARK_HOME/);
  });

  it('starts a master and two workers, and every worker is ALIVE at the master', async () => {
    const t0 = performance.now();
    const d = deployment('spark', nodes, { version: VERSION, accessPort: 8080 });
    await deployer.deploy(ctx, d);
    console.log(`local spark: deploy -> healthy in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const h = await deployer.health(ctx, d);
    expect(h.healthy, h.detail).toBe(true);
    const st = JSON.parse((await httpGet(`http://${nodes[0]!.address}:8080/json/`)).body) as { workers: Array<{ host: string; state: string }> };
    expect(st.workers.filter((w) => w.state === 'ALIVE').map((w) => w.host).sort()).toEqual([nodes[1]!.address, nodes[2]!.address].sort());
  }, 300_000);

  it('runs SparkPi on both workers', () => {
    const dir = join(tmp.root, 'jobs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'jobs.scala'), JOBS);
    execFileSync(java!, ['-cp', `${home}/jars/*`, 'scala.tools.nsc.Main', '-usejavacp', '-d', join(dir, 'jobs.jar'), join(dir, 'jobs.scala')], { stdio: 'pipe', timeout: 300_000 });
    const out = execFileSync(
      join(home, 'bin', 'spark-submit'),
      ['--master', `spark://${nodes[0]!.address}:7077`, '--conf', 'spark.driver.host=127.0.0.1', '--conf', 'spark.executor.memory=512m', '--conf', 'spark.driver.memory=512m', '--class', 'SparkPi', join(dir, 'jobs.jar'), '4'],
      { encoding: 'utf8', env: { ...process.env, SPARK_HOME: home, JAVA_HOME: java!.replace(/\/bin\/java$/, ''), SPARK_LOCAL_IP: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
    console.log(out.trim());
    expect(out).toMatch(/Pi is roughly 3\.1/);
    expect(out).toContain(nodes[1]!.address);
    expect(out).toContain(nodes[2]!.address);
  }, 600_000);

  it('a redeploy starts nothing new, and remove stops every JVM', async () => {
    const before = await findProcesses({ programs: ['java'], marker: tmp.dataRoot });
    expect(before).toHaveLength(3);
    await deployer.deploy(ctx, deployment('spark', nodes, { version: VERSION, accessPort: 8080 }));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual(before);
    await deployer.remove(ctx, deployment('spark', nodes, { version: VERSION, accessPort: 8080 }));
    expect(await findProcesses({ programs: ['java'], marker: tmp.dataRoot })).toEqual([]);
  }, 300_000);
});
