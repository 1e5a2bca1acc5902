// Cassandra on the local provider, as ccm runs it: one JVM per node of the service, each on its own
// loopback node address (CQL on the AccessPort, gossip on 7000), with its own configuration, data
// and log directories and a small heap; the master is the seed and starts first, then the slaves
// join its ring one after the other (a node's start waits for the CQL ports of the nodes before
// it). JMX, which nodetool uses, listens on 127.0.0.1 only, on a port of its own per node (jmxPort).
//
// Cassandra is not a Debian package: its jars are looked for in CASSANDRA_HOME and
// /opt/apache-cassandra-<version> (lib/*.jar: the official tarball's tree, or the Maven Central
// class path that the cassandra role's fetch-jars.py lays out; README shows how to make one from the
// artifact cache). Java from Debian's openjdk-17-jre-headless.
import { constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { portOpen } from '../../host/net.js';
import { mkdirOwned, writeOwned } from './files.js';
import { CQL_BAD_CREDENTIALS, CqlError, CqlSession, cqlString } from './cql.js';
import { errorText, intParam, type Located, type ServiceModule, type ServiceRun } from './service.js';
import { JAVA, firstExisting } from './java.js';

export const CASSANDRA_STORAGE_PORT = 7000;
/** The heap of a local node when heap_mb is 0: small, since the nodes share this host. */
const LOCAL_HEAP_MB = 512;
/** Java 17's module rules opened for Cassandra (its jvm17-server.options), and for nodetool. */
export const CASSANDRA_JPMS = [
  ...['java.base/jdk.internal.misc', 'java.base/sun.nio.ch', 'java.management.rmi/com.sun.jmx.remote.internal.rmi', 'java.rmi/sun.rmi.registry', 'java.rmi/sun.rmi.server', 'java.sql/java.sql', 'java.base/java.lang.ref', 'jdk.unsupported/sun.misc'].map((m) => `--add-exports=${m}=ALL-UNNAMED`),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'java.base/java.lang',
    'java.base/java.util',
    'java.base/java.nio',
  ].map((m) => `--add-opens=${m}=ALL-UNNAMED`),
];

/** A tree with lib/cassandra-all-<v>.jar (Maven) or lib/apache-cassandra-<v>.jar (tarball), and its jamm jar. */
export async function cassandraHome(version: string): Promise<{ home: string; jamm: string } | undefined> {
  for (const home of [process.env.CASSANDRA_HOME, `/opt/apache-cassandra-${version}`].filter((x): x is string => !!x)) {
    const jars = await readdir(join(home, 'lib')).catch(() => [] as string[]);
    const jamm = jars.find((j) => /^jamm-.*\.jar$/.test(j));
    if (jamm && (jars.includes(`cassandra-all-${version}.jar`) || jars.includes(`apache-cassandra-${version}.jar`))) return { home, jamm };
  }
  return undefined;
}

/** The node's JMX port on 127.0.0.1: 27000–29047, from the low 11 bits of its address. */
export function jmxPort(address: string): number {
  const o = address.split('.').map(Number);
  return 27000 + (((o[2]! & 0x7) << 8) | o[3]!);
}

/** nodetool's java arguments against a local node (run with the same java). */
export function nodetoolArgs(home: string, address: string, historyDir: string): string[] {
  return ['-Xmx128m', '-XX:+UseSerialGC', `-Duser.home=${historyDir}`, ...CASSANDRA_JPMS, '-cp', `${home}/lib/*`, 'org.apache.cassandra.tools.NodeTool', '-h', '127.0.0.1', '-p', String(jmxPort(address))];
}

const masterOf = (run: ServiceRun) => run.nodes.find((n) => n.role === 'master') ?? run.nodes[0]!;
const heapMb = (run: ServiceRun) => {
  const raw = (run.config.heap_mb ?? '0').trim() || '0';
  return raw === '0' ? LOCAL_HEAP_MB : intParam(run, 'heap_mb', 256, 64 * 1024);
};

function yaml(run: ServiceRun): string {
  const d = run.dataDir;
  return [
    `cluster_name: ${JSON.stringify(`michman-${run.clusterId}`.slice(0, 48))}`,
    'num_tokens: 16',
    'allocate_tokens_for_local_replication_factor: 3',
    'partitioner: org.apache.cassandra.dht.Murmur3Partitioner',
    'authenticator: PasswordAuthenticator',
    'authorizer: AllowAllAuthorizer',
    'role_manager: CassandraRoleManager',
    `data_file_directories: [${JSON.stringify(join(d, 'data'))}]`,
    `commitlog_directory: ${JSON.stringify(join(d, 'commitlog'))}`,
    `saved_caches_directory: ${JSON.stringify(join(d, 'saved_caches'))}`,
    `hints_directory: ${JSON.stringify(join(d, 'hints'))}`,
    `cdc_raw_directory: ${JSON.stringify(join(d, 'cdc_raw'))}`,
    'commitlog_sync: periodic',
    'commitlog_sync_period: 10000ms',
    'seed_provider:',
    '  - class_name: org.apache.cassandra.locator.SimpleSeedProvider',
    '    parameters:',
    `      - seeds: "${masterOf(run).address}:${CASSANDRA_STORAGE_PORT}"`,
    `listen_address: ${run.address}`,
    `rpc_address: ${run.address}`,
    `storage_port: ${CASSANDRA_STORAGE_PORT}`,
    `native_transport_port: ${run.port}`,
    'start_native_transport: true',
    'endpoint_snitch: SimpleSnitch',
    '',
  ].join('\n');
}

const logback = (logDir: string) => `<?xml version="1.0" encoding="UTF-8"?>
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${logDir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE" /></root>
</configuration>
`;

/**
 * Polls until every node before this one (the master first) answers on its CQL port: nodes join one
 * after the other, since a joining node allocates its tokens from the ring it sees, and two nodes
 * joining at once pick the same ones ("Bootstrap Token collision").
 */
async function earlierNodesUp(run: ServiceRun, timeoutMs: number): Promise<void> {
  const ordered = [masterOf(run), ...run.nodes.filter((n) => n !== masterOf(run))];
  const deadline = Date.now() + timeoutMs;
  for (const n of ordered.slice(0, ordered.findIndex((n) => n.address === run.address))) {
    while (!(await portOpen(n.address, run.port, 1000))) {
      if (run.signal.aborted) throw new Error('aborted');
      if (Date.now() > deadline) throw new Error(`cassandra on ${run.node.name}: ${n.name} (${n.address}:${run.port}) did not open its CQL port within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export const cassandra: ServiceModule = {
  type: 'cassandra',
  defaultPort: 9042,
  processName: 'java',
  runAs: ['nobody'],
  secretParams: { db_password: 'db_password' },

  async locate(version): Promise<Located> {
    const java = await firstExisting(JAVA, constants.X_OK);
    if (!java) return { problem: "service 'cassandra' needs Java 17: apt-get install openjdk-17-jre-headless" };
    const tree = await cassandraHome(version);
    if (!tree) {
      return {
        problem: `service 'cassandra' ${version} needs Cassandra's jars on this host: set CASSANDRA_HOME or unpack apache-cassandra-${version}-bin.tar.gz (or the Maven class path of cassandra-all ${version}) into /opt/apache-cassandra-${version}`,
        wrongVersion: true,
      };
    }
    return { program: java, note: `cassandra ${version} from ${tree.home} (one JVM per node, the master is the seed)` };
  },

  ports: (run) => [run.port, CASSANDRA_STORAGE_PORT],

  validate(run) {
    heapMb(run);
  },

  async configure(run, program) {
    const { home, jamm } = (await cassandraHome(run.version))!;
    const logs = join(run.dataDir, 'logs');
    for (const d of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw', 'logs']) await mkdirOwned(join(run.dataDir, d), run.user, 0o700);
    await writeOwned(join(run.confDir, 'cassandra.yaml'), yaml(run), run.user, 0o600);
    await writeOwned(join(run.confDir, 'logback.xml'), logback(logs), run.user, 0o600);
    await earlierNodesUp(run, 10 * 60_000);
    const heap = heapMb(run);
    return {
      program,
      args: [
        `-Xms${Math.min(heap, 256)}m`,
        `-Xmx${heap}m`,
        '-Xss512k',
        '-XX:+UseG1GC',
        '-XX:+ExitOnOutOfMemoryError',
        '-XX:+PerfDisableSharedMem',
        '-Djava.net.preferIPv4Stack=true',
        '-Djdk.attach.allowAttachSelf=true',
        '-Dio.netty.tryReflectionSetAccessible=true',
        '-Dcassandra-foreground=yes',
        `-Dcassandra.config=file://${join(run.confDir, 'cassandra.yaml')}`,
        `-Dcassandra.storagedir=${run.dataDir}`,
        `-Dcassandra.logdir=${logs}`,
        `-Dcassandra.jmx.local.port=${jmxPort(run.address)}`,
        `-Dlogback.configurationFile=${join(run.confDir, 'logback.xml')}`,
        `-Dmichman.service.dir=${run.dir}`,
        // A fresh ring of empty nodes forms in seconds: see the cassandra role's jvm.options.
        '-Dcassandra.ring_delay_ms=10000',
        '-Dcassandra.skip_wait_for_gossip_to_settle=0',
        '-Dcassandra.superuser_setup_delay_ms=1000',
        `-javaagent:${home}/lib/${jamm}`,
        ...CASSANDRA_JPMS,
        '-cp',
        `${home}/lib/*`,
        'org.apache.cassandra.service.CassandraDaemon',
      ],
      env: { HOME: run.dataDir },
    };
  },

  /**
   * A login as the superuser with the service's password. PasswordAuthenticator starts with
   * cassandra/cassandra: while that one still works, the password is set here (the node answers
   * logins before the deployer's afterStart, and whichever node sees it first sets it; harmless to repeat).
   */
  async health(run) {
    const pw = run.secrets.db_password ?? '';
    const login = () => CqlSession.open(run.address, run.port, 'cassandra', pw);
    try {
      let s: CqlSession;
      try {
        s = await login();
      } catch (e) {
        if (!(e instanceof CqlError && e.code === CQL_BAD_CREDENTIALS)) throw e;
        const first = await CqlSession.open(run.address, run.port, 'cassandra', 'cassandra');
        try {
          await first.query(`ALTER ROLE cassandra WITH PASSWORD = ${cqlString(pw)}`, 0x0006 /* QUORUM */);
        } finally {
          first.close();
        }
        s = await login();
      }
      try {
        const [row] = await s.query('SELECT release_version FROM system.local');
        const peers = await s.query('SELECT peer FROM system.peers_v2');
        return { healthy: true, detail: `cassandra ${row?.[0] ?? '?'} at ${run.address}:${run.port}: login as cassandra, ${peers.length} peer(s) known` };
      } finally {
        s.close();
      }
    } catch (e) {
      return { healthy: false, detail: `cassandra ${run.address}:${run.port}: ${errorText(e).split(pw).join('********')}` };
    }
  },
};
