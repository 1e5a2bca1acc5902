// HDFS of a local Spark cluster (the spark module's companion, see ServiceModule.companion): the
// NameNode on the master node (RPC 9000, so the cluster's `hdfs://<master>:9000`; HTTP/JMX 9870)
// and a DataNode on each slave node, each a JVM started straight from Hadoop's jars, with its own
// configuration, data and service directory (`<node>/services/spark-hdfs`).
//
// Hadoop is looked for in HADOOP_HOME, /opt/hadoop-<release> and /opt/hadoop, for the release of the
// cluster's hadoop_version (3.3 → 3.3.6, 3.4 → 3.4.2, as pinned for the spark role): a tarball's
// tree, or the jars from Maven Central in share/hadoop/common/lib as the role's fetch-jars.py lays
// them out (README shows how to make one from the artifact cache).
//
// Loopback nodes and the DataNode's identity: a node's connections leave from 127.0.0.1 whatever
// address it binds (the kernel's source for 127/8 is 127.0.0.1), so the NameNode sees every
// DataNode at 127.0.0.1 and tells them apart by their data-transfer port alone. Each DataNode
// therefore gets a data-transfer port of its own, derived from its node address, and names itself
// by that address (dfs.datanode.hostname); clients and DataNodes connect to DataNodes by that name
// (dfs.client.use.datanode.hostname, also needed by any client outside the cluster).
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../paths.js';
import { readSparkPins } from '../ansible/sparkArtifacts.js';
import { writeOwned } from './files.js';
import { httpGet } from './net.js';
import { errorText, runSetupTool, type Located, type ServiceModule, type ServiceRun } from './service.js';
import { JAVA } from './java.js';

export const HDFS_NAMENODE_PORT = 9000;
export const HDFS_NAMENODE_HTTP_PORT = 9870;
export const HDFS_DATANODE_HTTP_PORT = 9864;
export const HDFS_DATANODE_IPC_PORT = 9867;
const HEAP = '256m';

/** Hadoop releases by catalog hadoop_version, from the spark role's pins. */
export function hadoopReleases(): Record<string, string> {
  const pins = readSparkPins(join(PACKAGE_ROOT, 'ansible'));
  return Object.fromEntries(Object.entries(pins.hadoop).map(([line, h]) => [line, h.version]));
}

async function readable(path: string, mode = constants.R_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** A tree holding hadoop-hdfs-<release>.jar (tarball layout or the Maven jars' layout). */
export async function hadoopHome(release: string): Promise<string | undefined> {
  const candidates = [process.env.HADOOP_HOME, `/opt/hadoop-${release}`, '/opt/hadoop'].filter((x): x is string => !!x);
  for (const home of candidates) {
    for (const dir of ['share/hadoop/common/lib', 'share/hadoop/hdfs']) {
      if (await readable(join(home, dir, `hadoop-hdfs-${release}.jar`))) return home;
    }
  }
  return undefined;
}

/** The class path of the daemons and tools, as the spark role's spark_hadoop_classpath. */
export function hadoopClasspath(home: string, confDir?: string): string {
  const parts = ['hdfs', 'common/*', 'common/lib/*', 'hdfs/*', 'hdfs/lib/*'].map((p) => join(home, 'share/hadoop', p));
  return [...(confDir ? [confDir] : []), ...parts].join(':');
}

/** The DataNode data-transfer port of a node address: 10000–26383, from its low 14 bits. */
export function dataNodePort(address: string): number {
  const o = address.split('.').map(Number);
  return 10000 + (((o[2]! & 0x3f) << 8) | o[3]!);
}

const isMaster = (run: ServiceRun) => run.node.role === 'master';
const masterOf = (run: ServiceRun) => run.nodes.find((n) => n.role === 'master') ?? run.nodes[0]!;
const slavesOf = (run: ServiceRun) => run.nodes.filter((n) => n.role === 'slave');
const line = (run: ServiceRun) => (run.config.hadoop_version ?? '3.3').trim() || '3.3';

export function siteXml(props: Record<string, string | number | boolean>): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const body = Object.entries(props)
    .map(([k, v]) => `  <property><name>${esc(k)}</name><value>${esc(String(v))}</value></property>`)
    .join('\n');
  return `<?xml version="1.0"?>\n<!-- written by Michman (local provider) -->\n<configuration>\n${body}\n</configuration>\n`;
}

/** core-site.xml and hdfs-site.xml of a client of the cluster (what a node's daemon also reads). */
export function clientSite(masterAddress: string): { core: Record<string, string>; hdfs: Record<string, string | boolean> } {
  return {
    core: { 'fs.defaultFS': `hdfs://${masterAddress}:${HDFS_NAMENODE_PORT}` },
    hdfs: { 'dfs.client.use.datanode.hostname': true },
  };
}

async function writeConf(run: ServiceRun): Promise<void> {
  const master = masterOf(run).address;
  const client = clientSite(master);
  const xfer = dataNodePort(run.address);
  await writeOwned(join(run.confDir, 'core-site.xml'), siteXml({ ...client.core, 'hadoop.tmp.dir': join(run.dataDir, 'tmp') }), run.user, 0o644);
  await writeOwned(
    join(run.confDir, 'hdfs-site.xml'),
    siteXml({
      ...client.hdfs,
      'dfs.replication': Math.max(1, Math.min(3, slavesOf(run).length)),
      'dfs.namenode.name.dir': `file://${join(run.dataDir, 'name')}`,
      'dfs.datanode.data.dir': `file://${join(run.dataDir, 'dn')}`,
      'dfs.namenode.rpc-address': `${master}:${HDFS_NAMENODE_PORT}`,
      'dfs.namenode.http-address': `${master}:${HDFS_NAMENODE_HTTP_PORT}`,
      'dfs.datanode.address': `${run.address}:${xfer}`,
      'dfs.datanode.http.address': `${run.address}:${HDFS_DATANODE_HTTP_PORT}`,
      'dfs.datanode.ipc.address': `${run.address}:${HDFS_DATANODE_IPC_PORT}`,
      'dfs.datanode.hostname': run.address,
      'dfs.datanode.use.datanode.hostname': true,
      // Every DataNode registers from 127.0.0.1, which has no name to check against.
      'dfs.namenode.datanode.registration.ip-hostname-check': false,
      // Every cluster user may write (the cluster belongs to one project), as on the other providers.
      'dfs.permissions.enabled': false,
      'dfs.namenode.heartbeat.recheck-interval': 60000,
    }),
    run.user,
    0o644,
  );
  await writeOwned(
    join(run.confDir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO,console',
      'log4j.appender.console=org.apache.log4j.ConsoleAppender',
      'log4j.appender.console.target=System.err',
      'log4j.appender.console.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.console.layout.ConversionPattern=%d{yy/MM/dd HH:mm:ss} %p %c{2}: %m%n',
      '',
    ].join('\n'),
    run.user,
    0o644,
  );
}

async function homeFor(run: ServiceRun): Promise<string> {
  const release = hadoopReleases()[line(run)];
  if (!release) throw new Error(`service 'spark': hadoop_version '${line(run)}' is not one of ${Object.keys(hadoopReleases()).join(', ')}`);
  const home = await hadoopHome(release);
  if (!home) throw new Error(`service 'spark' with hadoop_version ${line(run)} needs Hadoop ${release}'s jars on this host: set HADOOP_HOME or make /opt/hadoop-${release} (see README, Spark)`);
  return home;
}

function jvmArgs(run: ServiceRun, home: string, mainClass: string): string[] {
  return [
    `-Xmx${HEAP}`,
    `-Dmichman.service.dir=${run.dir}`,
    `-Dhadoop.log.dir=${join(run.dataDir, 'logs')}`,
    '-Dhadoop.root.logger=INFO,console',
    `-Dlog4j.configuration=file:${join(run.confDir, 'log4j.properties')}`,
    '-cp',
    hadoopClasspath(home, run.confDir),
    mainClass,
  ];
}

async function jmx(address: string, query: string): Promise<Record<string, unknown>> {
  const r = await httpGet(`http://${address}:${HDFS_NAMENODE_HTTP_PORT}/jmx?qry=${query}`, {}, 4000);
  if (r.status !== 200) throw new Error(`GET /jmx → ${r.status}`);
  const bean = (JSON.parse(r.body) as { beans?: Array<Record<string, unknown>> }).beans?.[0];
  if (!bean) throw new Error(`no ${query} bean yet`);
  return bean;
}

export const sparkHdfs: ServiceModule = {
  type: 'spark-hdfs',
  defaultPort: HDFS_NAMENODE_HTTP_PORT,
  processName: 'java',
  runAs: ['nobody'],
  secretParams: {},

  async locate(): Promise<Located> {
    let java: string | undefined;
    for (const p of JAVA) if (!java && (await readable(p, constants.X_OK))) java = p;
    if (!java) return { problem: "service 'spark' needs Java 17: apt-get install openjdk-17-jre-headless" };
    const releases = hadoopReleases();
    for (const release of Object.values(releases)) {
      if (await hadoopHome(release)) return { program: java };
    }
    const list = Object.values(releases).join(' or ');
    return { problem: `service 'spark' needs Hadoop's HDFS jars on this host (${list}): set HADOOP_HOME or make /opt/hadoop-<release> (see README, Spark)` };
  },

  ports: (run) => (isMaster(run) ? [HDFS_NAMENODE_HTTP_PORT, HDFS_NAMENODE_PORT] : [dataNodePort(run.address), HDFS_DATANODE_HTTP_PORT, HDFS_DATANODE_IPC_PORT]),

  validate(run) {
    if (!hadoopReleases()[line(run)]) throw new Error(`service 'spark': hadoop_version '${line(run)}' is not one of ${Object.keys(hadoopReleases()).join(', ')}`);
    const seen = new Map<number, string>();
    for (const n of slavesOf(run)) {
      const p = dataNodePort(n.address);
      if (seen.has(p)) throw new Error(`service 'spark': the DataNodes of ${seen.get(p)} and ${n.address} would share port ${p} (their addresses agree in the low 14 bits)`);
      seen.set(p, n.address);
    }
  },

  /** The master formats the NameNode's directory once. */
  async initialize(run, program) {
    if (!isMaster(run)) return;
    const home = await homeFor(run);
    await writeConf(run);
    await runSetupTool(run, program, [...jvmArgs(run, home, 'org.apache.hadoop.hdfs.server.namenode.NameNode'), '-format', '-nonInteractive', '-clusterId', `michman-${run.clusterId}`], 'hdfs namenode -format');
  },

  async configure(run, program) {
    const home = await homeFor(run);
    await writeConf(run);
    const main = isMaster(run) ? 'org.apache.hadoop.hdfs.server.namenode.NameNode' : 'org.apache.hadoop.hdfs.server.datanode.DataNode';
    return { program, args: jvmArgs(run, home, main), env: { HOME: run.dataDir } };
  },

  /** NameNode: out of safe mode with a live DataNode on every slave. DataNode: the NameNode lists it live. */
  async health(run) {
    const master = masterOf(run).address;
    const url = `hdfs://${master}:${HDFS_NAMENODE_PORT}`;
    try {
      if (isMaster(run)) {
        const st = await jmx(master, 'Hadoop:service=NameNode,name=FSNamesystemState');
        const live = Number(st.NumLiveDataNodes ?? 0);
        const want = slavesOf(run).length;
        if (st.FSState !== 'Operational') return { healthy: false, detail: `NameNode ${url} is in ${String(st.FSState)} (${live} live DataNode(s))` };
        return live >= want
          ? { healthy: true, detail: `NameNode ${url} with ${live} live DataNode(s)` }
          : { healthy: false, detail: `NameNode ${url} has ${live} live DataNode(s) of ${want}` };
      }
      const info = await jmx(master, 'Hadoop:service=NameNode,name=NameNodeInfo');
      const liveNodes = JSON.parse(String(info.LiveNodes ?? '{}')) as Record<string, unknown>;
      const me = `${run.address}:${dataNodePort(run.address)}`;
      return me in liveNodes ? { healthy: true, detail: `DataNode ${me} live at ${url}` } : { healthy: false, detail: `the NameNode at ${url} lists no live DataNode ${me}` };
    } catch (e) {
      return { healthy: false, detail: `NameNode ${master}:${HDFS_NAMENODE_HTTP_PORT}: ${errorText(e)}` };
    }
  },
};
