// Spark standalone on the local provider: the master on the master node (RPC 7077, UI on the
// AccessPort), a worker on each slave node (UI 8081), each a JVM started straight from Spark's jars
// (no launch scripts, so the process is `java` with its service directory in its arguments).
// Spark is not a Debian package: it is looked for in SPARK_HOME, /opt/spark-<version>-bin-hadoop3
// and /opt/spark (a tarball's tree, or the jars of the pyspark sdist as the spark role unpacks it);
// Java from Debian's openjdk-17-jre-headless. HDFS (NameNode on the master, a DataNode per slave)
// is the companion module of hdfs.ts, started, checked and removed with it.
import { constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirOwned } from './files.js';
import { sparkHdfs } from './hdfs.js';
import { httpGet } from './net.js';
import { errorText, intParam, type Located, type ServiceModule, type ServiceRun } from './service.js';
import { JAVA, firstExisting } from './java.js';

export const SPARK_MASTER_PORT = 7077;
export const SPARK_WORKER_UI_PORT = 8081;
/** Heap of the master and worker daemons; executors get spark.executor.memory of the job. */
const DAEMON_HEAP = '256m';
/** What a worker offers when worker_mem_mb is 0 (auto): small, since the nodes share this host. */
const LOCAL_WORKER_MEM_MB = 1024;

/** Spark's home for `version` (a tree with jars/spark-core_<scala>-<version>.jar) and its Scala version. */
export async function sparkHome(version: string): Promise<string | undefined> {
  return (await sparkTree(version))?.home;
}

async function sparkTree(version: string): Promise<{ home: string; scala: string } | undefined> {
  const candidates = [process.env.SPARK_HOME, `/opt/spark-${version}-bin-hadoop3`, '/opt/spark'].filter((x): x is string => !!x);
  const core = new RegExp(`^spark-core_(2\\.1[23])-${version.replace(/\./g, '\\.')}\\.jar$`);
  for (const home of candidates) {
    const jars = await readdir(join(home, 'jars')).catch(() => [] as string[]);
    for (const j of jars) {
      const m = core.exec(j);
      if (m) return { home, scala: m[1]! };
    }
  }
  return undefined;
}

const isMaster = (run: ServiceRun) => run.node.role === 'master';
const masterOf = (run: ServiceRun) => run.nodes.find((n) => n.role === 'master') ?? run.nodes[0]!;

interface MasterStatus {
  status?: string;
  workers?: Array<{ host?: string; state?: string }>;
}

async function masterStatus(address: string, uiPort: number): Promise<MasterStatus> {
  const r = await httpGet(`http://${address}:${uiPort}/json/`, {}, 4000);
  if (r.status !== 200) throw new Error(`GET /json/ → ${r.status}`);
  return JSON.parse(r.body) as MasterStatus;
}

export const spark: ServiceModule = {
  type: 'spark',
  defaultPort: 8080,
  processName: 'java',
  runAs: ['nobody'],
  secretParams: {},
  companion: sparkHdfs,

  async locate(version): Promise<Located> {
    const java = await firstExisting(JAVA, constants.X_OK);
    if (!java) return { problem: "service 'spark' needs Java 17: apt-get install openjdk-17-jre-headless" };
    const home = await sparkHome(version);
    if (!home) {
      return {
        problem: `service 'spark' ${version} needs Spark's jars on this host: set SPARK_HOME or unpack spark-${version}-bin-hadoop3 (or the jars/ of the pyspark ${version} sdist) into /opt/spark-${version}-bin-hadoop3`,
        wrongVersion: true,
      };
    }
    return { program: java, note: `spark ${version} from ${home} (standalone master and workers, with HDFS)` };
  },

  ports: (run) => (isMaster(run) ? [run.port, SPARK_MASTER_PORT] : [SPARK_WORKER_UI_PORT]),

  validate(run) {
    const raw = (run.config.worker_mem_mb ?? '0').trim() || '0';
    if (raw !== '0') intParam(run, 'worker_mem_mb', 512, 1024 * 1024);
    if ((run.config.use_yarn ?? 'false') === 'true') throw new Error("service 'spark': use_yarn is not available on the local provider");
    if (run.nodes.filter((n) => n.role === 'slave').length === 0) throw new Error("service 'spark' needs at least one slave node for its workers");
  },

  async configure(run, program) {
    const { home, scala } = (await sparkTree(run.version))!;
    const work = join(run.dataDir, 'work');
    await mkdirOwned(work, run.user, 0o700);
    const common = ['-Xmx' + DAEMON_HEAP, '-cp', `${home}/jars/*`, `-Dmichman.service.dir=${run.dir}`, `-Dspark.local.dir=${work}`];
    // Spark's launch scripts export SPARK_SCALA_VERSION; the worker's executor launcher needs it.
    const env = { SPARK_HOME: home, SPARK_SCALA_VERSION: scala, SPARK_LOCAL_IP: run.address, SPARK_PUBLIC_DNS: run.address, SPARK_WORKER_DIR: work, HOME: run.dataDir };
    if (isMaster(run)) {
      return {
        program,
        args: [...common, 'org.apache.spark.deploy.master.Master', '--host', run.address, '--port', String(SPARK_MASTER_PORT), '--webui-port', String(run.port)],
        env,
      };
    }
    const mem = Number((run.config.worker_mem_mb ?? '0').trim() || '0') || LOCAL_WORKER_MEM_MB;
    const master = masterOf(run);
    return {
      program,
      args: [
        ...common,
        'org.apache.spark.deploy.worker.Worker',
        '--host',
        run.address,
        '--webui-port',
        String(SPARK_WORKER_UI_PORT),
        '--cores',
        '1',
        '--memory',
        `${mem}M`,
        '--work-dir',
        work,
        `spark://${master.address}:${SPARK_MASTER_PORT}`,
      ],
      env,
    };
  },

  /** Master: its status page says ALIVE. Worker: the master lists it ALIVE. */
  async health(run) {
    const master = masterOf(run);
    try {
      const st = await masterStatus(master.address, run.port);
      if (isMaster(run)) {
        const alive = (st.workers ?? []).filter((w) => w.state === 'ALIVE').length;
        return st.status === 'ALIVE'
          ? { healthy: true, detail: `spark://${run.address}:${SPARK_MASTER_PORT} ALIVE with ${alive} ALIVE worker(s)` }
          : { healthy: false, detail: `spark master status ${st.status}` };
      }
      const me = (st.workers ?? []).find((w) => w.host === run.address && w.state === 'ALIVE');
      return me ? { healthy: true, detail: `worker ${run.address} ALIVE at spark://${master.address}:${SPARK_MASTER_PORT}` } : { healthy: false, detail: `the master at ${master.address} lists no ALIVE worker ${run.address}` };
    } catch (e) {
      return { healthy: false, detail: `spark master ${master.address}:${run.port}: ${errorText(e)}` };
    }
  },
};
