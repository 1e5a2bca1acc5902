// OpenSearch (catalog type `elastic`) on the local provider, as the elastic role lays it out but with
// one JVM per node on the node's loopback address: the master is the cluster manager, the slaves are
// data (and ingest) nodes, all in one cluster (seed hosts and initial cluster manager = the master
// nodes), REST on the AccessPort, transport on 9300. Bound to loopback addresses only, OpenSearch
// does not enforce its bootstrap checks, so it runs under this host's open-files limit (20000 here)
// where the nspawn machines, bound to a bridge, cannot (65535 needed).
//
// OpenSearch is not a Debian package: its tree (the minimal distribution, no plugins, so no security
// plugin, as the role installs it: plain HTTP without login, `admin_password` unused) is looked for
// in OPENSEARCH_HOME and /opt/opensearch-<version> (the role's elastic_home); Maven Central's
// integ-test-zip from the artifact cache unpacks to that (README). Java from Debian's
// openjdk-17-jre-headless. The JVM is started directly (not by bin/opensearch), with the options
// the distribution's own JvmOptionsParser makes from the node's jvm.options, so that the process is
// `java` with its service directory in its arguments.
import { execFile } from 'node:child_process';
import { constants, readFile, readdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { mkdirOwned, writeOwned } from './files.js';
import { httpGet } from './net.js';
import { baseEnv, errorText, type Located, type ServiceModule, type ServiceRun } from './service.js';
import { JAVA, firstExisting } from './java.js';

export const ELASTIC_TRANSPORT_PORT = 9300;
/** The elastic role's default heap bounds are 256m..2g; local nodes share one host, so at most 512m. */
const HEAP_MIN_MB = 256;
const LOCAL_HEAP_MAX_MB = 512;

/** A tree with lib/opensearch-<version>.jar and config/jvm.options: the distribution, unpacked. */
export async function opensearchHome(version: string): Promise<string | undefined> {
  for (const home of [process.env.OPENSEARCH_HOME, `/opt/opensearch-${version}`].filter((x): x is string => !!x)) {
    const jars = await readdir(join(home, 'lib')).catch(() => [] as string[]);
    if (!jars.includes(`opensearch-${version}.jar`)) continue;
    if (await firstExisting([join(home, 'config', 'jvm.options')])) return home;
  }
  return undefined;
}

/** heap_size as the role takes it (`512m`, `2g`), in MiB; undefined when empty. */
export function parseHeapSize(raw: string | undefined): number | undefined {
  const v = (raw ?? '').trim();
  if (v === '') return undefined;
  const m = /^([0-9]+)([mMgG])$/.exec(v);
  const mb = m ? Number(m[1]) * (m[2]!.toLowerCase() === 'g' ? 1024 : 1) : NaN;
  if (!Number.isSafeInteger(mb) || mb < 128 || mb > 64 * 1024) {
    throw new Error(`service 'elastic': heap_size must be empty (sized from the node's memory) or a size from 128m to 64g such as 512m or 2g, got '${v}'`);
  }
  return mb;
}

/**
 * The default heap: the role's rule (an eighth of the node's memory) where a local node's memory is
 * its share of this host's (its memory cgroup limit when lower than MemTotal; local nodes have no
 * flavor RAM of their own), between 256 and 512 MiB.
 */
export function defaultHeapMb(hostMb: number, nodesOnHost: number): number {
  const share = Math.floor(hostMb / Math.max(1, nodesOnHost) / 8);
  return Math.min(LOCAL_HEAP_MAX_MB, Math.max(HEAP_MIN_MB, share));
}

/** MemTotal, or Michman's own memory cgroup limit (v2) when that is lower: what the nodes share. */
async function hostMemoryMb(): Promise<number> {
  let mb = Math.floor(totalmem() / 1048576);
  try {
    const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'));
    const max = line ? (await readFile(join('/sys/fs/cgroup', line.slice(3).trim(), 'memory.max'), 'utf8')).trim() : 'max';
    if (/^[0-9]+$/.test(max)) mb = Math.min(mb, Math.floor(Number(max) / 1048576));
  } catch {
    /* no cgroup v2 limit readable: MemTotal */
  }
  return mb;
}

async function heapMb(run: ServiceRun): Promise<number> {
  return parseHeapSize(run.config.heap_size) ?? defaultHeapMb(await hostMemoryMb(), run.nodes.length);
}

const masters = (run: ServiceRun) => {
  const m = run.nodes.filter((n) => n.role === 'master');
  return m.length > 0 ? m : [run.nodes[0]!];
};

/** The role's node roles; a service without data nodes (a lone master) keeps the data on its manager. */
function nodeRoles(run: ServiceRun): string[] {
  const isManager = masters(run).some((n) => n.address === run.address);
  if (!isManager) return ['data', 'ingest'];
  return run.nodes.every((n) => masters(run).includes(n)) ? ['cluster_manager', 'data', 'ingest'] : ['cluster_manager'];
}

async function opensearchYml(run: ServiceRun): Promise<string> {
  const d = run.dataDir;
  const lines = [
    `cluster.name: ${JSON.stringify(`michman-${run.clusterId}`)}`,
    `node.name: ${JSON.stringify(run.node.name)}`,
    `node.roles: [${nodeRoles(run).join(', ')}]`,
    `network.host: ${run.address}`,
    `http.port: ${run.port}`,
    `transport.port: ${ELASTIC_TRANSPORT_PORT}`,
    `discovery.seed_hosts: [${masters(run)
      .map((n) => JSON.stringify(`${n.address}:${ELASTIC_TRANSPORT_PORT}`))
      .join(', ')}]`,
    `cluster.initial_cluster_manager_nodes: [${masters(run)
      .map((n) => JSON.stringify(n.name))
      .join(', ')}]`,
    `path.data: ${JSON.stringify(join(d, 'index'))}`,
    `path.logs: ${JSON.stringify(join(d, 'logs'))}`,
  ];
  // As the role: below Lucene's wanted vm.max_map_count (a setting of the host's kernel), index
  // files are read without mmap.
  const maps = Number((await readFile('/proc/sys/vm/max_map_count', 'utf8').catch(() => '0')).trim());
  if (!(maps >= 262144)) lines.push('node.store.allow_mmap: false');
  return lines.join('\n') + '\n';
}

/** The distribution's jvm.options with its GC log, error file and heap dumps moved out of its tree (as the role does). */
function jvmOptions(dist: string, run: ServiceRun): string {
  const logs = join(run.dataDir, 'logs');
  return dist
    .replace(/file=logs\/gc\.log/g, `file=${logs}/gc.log`)
    .replace(/ErrorFile=logs\//g, `ErrorFile=${logs}/`)
    .replace(/HeapDumpPath=data/g, `HeapDumpPath=${run.dataDir}`);
}

/** The JVM options the distribution's launcher computes for this configuration (what bin/opensearch does). */
function parsedJvmOptions(java: string, home: string, run: ServiceRun, env: Record<string, string>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(
      java,
      ['-Xshare:auto', '-cp', `${home}/lib/*`, 'org.opensearch.tools.launchers.JvmOptionsParser', run.confDir],
      { env: { ...baseEnv(run.confDir), ...env }, cwd: run.confDir, signal: run.signal, timeout: 120_000, maxBuffer: 1024 * 1024, ...(run.user ? { uid: run.user.uid, gid: run.user.gid } : {}) },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`elastic on ${run.node.name}: OpenSearch's JvmOptionsParser failed: ${err.message.split('\n')[0]}\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-10).join('\n')}`));
        resolve(stdout.trim().split(/\s+/).filter(Boolean));
      },
    );
  });
}

interface ClusterHealth {
  cluster_name?: string;
  status?: string;
  number_of_nodes?: number;
}

export const elastic: ServiceModule = {
  type: 'elastic',
  defaultPort: 9200,
  processName: 'java',
  runAs: ['nobody'],
  // admin_password belongs to the security plugin, which the minimal distribution lacks (as in the role).
  secretParams: {},

  async locate(version): Promise<Located> {
    if (Number(version.split('.')[0]) >= 3) {
      return { problem: `service 'elastic' ${version}: OpenSearch 3.x needs Java 21, and the local provider runs OpenSearch on Debian's Java 17`, wrongVersion: true };
    }
    const java = await firstExisting(JAVA, constants.X_OK);
    if (!java) return { problem: "service 'elastic' needs Java 17: apt-get install openjdk-17-jre-headless" };
    const home = await opensearchHome(version);
    if (!home) {
      return {
        problem: `service 'elastic' ${version} needs OpenSearch on this host: set OPENSEARCH_HOME or unpack opensearch-${version}.zip (Maven Central's org.opensearch.distribution.integ-test-zip, which 'michman artifacts fetch elastic --service-version ${version}' caches) into /opt`,
        wrongVersion: true,
      };
    }
    return { program: java, note: `opensearch ${version} from ${home} (one JVM per node, the master is the cluster manager)` };
  },

  ports: (run) => [run.port, ELASTIC_TRANSPORT_PORT],

  validate(run) {
    parseHeapSize(run.config.heap_size);
    if (run.port === ELASTIC_TRANSPORT_PORT) throw new Error(`service 'elastic': port ${run.port} is OpenSearch's transport port; choose another REST port`);
  },

  async configure(run, program) {
    const home = (await opensearchHome(run.version))!;
    const tmp = join(run.dataDir, 'tmp');
    for (const d of ['index', 'logs', 'tmp']) await mkdirOwned(join(run.dataDir, d), run.user, 0o700);
    await mkdirOwned(join(run.confDir, 'jvm.options.d'), run.user, 0o700);
    const dist = (f: string) => readFile(join(home, 'config', f), 'utf8');
    await writeOwned(join(run.confDir, 'jvm.options'), jvmOptions(await dist('jvm.options'), run), run.user, 0o600);
    await writeOwned(join(run.confDir, 'log4j2.properties'), await dist('log4j2.properties'), run.user, 0o600);
    const heap = await heapMb(run);
    await writeOwned(join(run.confDir, 'jvm.options.d', 'michman-heap.options'), `-Xms${heap}m\n-Xmx${heap}m\n`, run.user, 0o600);
    await writeOwned(join(run.confDir, 'opensearch.yml'), await opensearchYml(run), run.user, 0o600);
    const env = { OPENSEARCH_TMPDIR: tmp, OPENSEARCH_PATH_CONF: run.confDir };
    const options = await parsedJvmOptions(program, home, run, env);
    return {
      program,
      args: [
        '-Xshare:auto',
        ...options,
        `-Dopensearch.path.home=${home}`,
        `-Dopensearch.path.conf=${run.confDir}`,
        '-Dopensearch.distribution.type=zip',
        '-Dopensearch.bundled_jdk=false',
        '-cp',
        `${home}/lib/*`,
        'org.opensearch.bootstrap.OpenSearch',
        // Console logging off, as under the role's systemd unit: the node logs to path.logs.
        '--quiet',
      ],
      env: { ...env, HOME: run.dataDir },
    };
  },

  /** `_cluster/health` through this node, as the nspawn/OpenStack check: not red, and every node of the service in the cluster. */
  async health(run) {
    const url = `http://${run.address}:${run.port}/_cluster/health`;
    try {
      const r = await httpGet(url, {}, 5000);
      if (r.status !== 200) return { healthy: false, detail: `opensearch GET ${url} → ${r.status}` };
      const b = JSON.parse(r.body) as ClusterHealth;
      const ok = b.status !== 'red' && b.number_of_nodes === run.nodes.length;
      return { healthy: ok, detail: `opensearch at ${run.address}:${run.port}: cluster ${b.cluster_name ?? '?'} ${b.status ?? '?'} with ${b.number_of_nodes ?? 0} of ${run.nodes.length} node(s)` };
    } catch (e) {
      return { healthy: false, detail: `opensearch GET ${url}: ${errorText(e)}` };
    }
  },
};
