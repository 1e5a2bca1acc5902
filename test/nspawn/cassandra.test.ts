// Cassandra (with Spark, its catalog dependency) on nspawn, end to end through the API, the engine
// and the real cassandra role: a master (the seed) and two slaves reach ACTIVE (the health check
// sees every node's CQL port and `nodetool status` UN for all); a keyspace with RF = 3 gets a row
// written through one node and read at QUORUM through another, over the CQL native protocol from
// this test; the role replicates system_auth to 3 nodes; a Spark job reads the table through the
// Spark Cassandra Connector; a scale-out adds a node that joins the ring (and sets system_auth's
// replication again); with a node holding the superuser down it still logs in; a second apply
// changes nothing; the role's remove and the delete leave nothing. Jars come from Maven Central
// through the host's artifact cache (/var/tmp/michman-artifacts).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import type { ProvisionedNode } from '../../src/providers/types.js';
import { IMAGES_DIR, applyAgain, e2eApi, nothingLeftOf, nspawnMissing, runRole, ssh } from './helpers.js';
import { lacks } from '../helpers/requirements.js';

const NETWORK = process.env.MICHMAN_TEST_CASSANDRA_NETWORK ?? '10.214.20.0/24';
const ARTIFACTS_DIR = process.env.MICHMAN_ARTIFACTS_DIR ?? '/var/tmp/michman-artifacts';
// A quote and a space: the role must escape the password in its ALTER ROLE.
const PASSWORD = "e2e 'cass' Pw-7";
const HEAP_MB = 512;

const JOB = `
import org.apache.spark.sql.SparkSession
object CassandraRead {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder.appName("CassandraRead")
      .config("spark.cassandra.auth.password", sys.env("CASSANDRA_PASSWORD")).getOrCreate()
    val df = spark.read.format("org.apache.spark.sql.cassandra").options(Map("keyspace" -> args(0), "table" -> args(1))).load()
    val rows = df.collect()
    println(s"cassandra rows: \${rows.length}; sum of n: \${rows.map(_.getAs[Int]("n")).sum}; greeting: \${rows.find(_.getAs[Int]("id") == 1).map(_.getAs[String]("v")).getOrElse("-")}")
    spark.stop()
  }
}
`;

describe.skipIf(lacks(`nspawn machines: ${nspawnMissing}`, nspawnMissing === undefined))('a Cassandra ring (with Spark) on nspawn, end to end', () => {
  const api = e2eApi({
    tmpPrefix: 'michman-nspawn-cassandra-',
    project: 'cs',
    settings: (dir) => ({ data_dir: join(dir, 'data'), nspawn_network: NETWORK, nspawn_images_dir: IMAGES_DIR, nspawn_apt_cache: true, nspawn_artifacts_dir: ARTIFACTS_DIR }),
    overrides: { deploy_deadline_seconds: 1200, ansible_task_timeout_seconds: 600 },
  });
  const { call, events, settle, machinery } = api;

  let clusterId = '';
  let nodes: ProvisionedNode[] = [];
  let keyFile = '';
  const node = (suffix: string) => nodes.find((n) => n.name.endsWith(suffix))!;
  const refreshNodes = async () => {
    nodes = await machinery().provider.listNodes({ clusterId, clusterName: 'cas-cs', signal: new AbortController().signal, emit: () => undefined });
  };
  /** A client bound to one node only (no discovery of the others): what it reads came through that node. */
  const client = (n: ProvisionedNode) =>
    new cassandra.Client({
      contactPoints: [`${n.address}:9042`],
      localDataCenter: 'datacenter1',
      credentials: { username: 'cassandra', password: PASSWORD },
      policies: { loadBalancing: new cassandra.policies.loadBalancing.AllowListPolicy(new cassandra.policies.loadBalancing.RoundRobinPolicy(), [`${n.address}:9042`]) },
      socketOptions: { readTimeout: 60_000, connectTimeout: 20_000 },
    });
  /** Addresses `nodetool status` shows Up/Normal, as seen from a node. */
  const upNormal = (from: ProvisionedNode): string[] =>
    [...ssh(keyFile, from.address, 'nodetool status', 3 * 60_000).matchAll(/^UN\s+(\S+)/gm)].map((m) => m[1]!).sort();
  const vars = (m: ReturnType<typeof machinery>) => ({ n_slaves: nodes.filter((n) => n.role === 'slave').length, cassandra_db_password: PASSWORD, michman_maven_mirror: `${m.provider.artifacts.url}/maven2`, michman_pypi_mirror: `${m.provider.artifacts.url}/pypi` });

  it('creates 1 master + 2 slaves with Cassandra and Spark, and reaches ACTIVE with every node UN', async () => {
    const started = Date.now();
    const created = await call('POST', '/projects/cs/clusters', {
      DisplayName: 'cas',
      NSlaves: 2,
      Services: [{ Type: 'spark' }, { Type: 'cassandra', Config: { db_password: PASSWORD, heap_mb: String(HEAP_MB) } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const r = await settle('cas-cs', 20);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn cassandra: POST -> ACTIVE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    clusterId = r.cluster.ID;
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['cas-cs-master', 'cas-cs-slave-1', 'cas-cs-slave-2']);
    keyFile = (await machinery().provider.keys.ensure(clusterId)).privateKeyFile;
    const all = await events('cas-cs');
    console.log(all.filter((e) => /artifact cache|health|ok=/.test(e.Message)).map((e) => e.Message).join('\n'));
    expect(all.some((e) => /nodetool status: 3 node\(s\) UN/.test(e.Message))).toBe(true);
    expect(JSON.stringify(all)).not.toContain(PASSWORD);
    expect(upNormal(node('-slave-2'))).toEqual(nodes.map((n) => n.address).sort());
    // heap_mb reached the JVM: the daemon, running as the cassandra user, was started with the
    // options file (java @file, so the flags are not on its command line), and that file sets it.
    const daemon = ssh(keyFile, node('-slave-1').address, "tr '\\0' ' ' < /proc/$(pgrep -u cassandra -f '[C]assandraDaemon' | head -n1)/cmdline").trim();
    expect(daemon).toContain('@/etc/cassandra/jvm.options');
    expect(ssh(keyFile, node('-slave-1').address, "grep -o -- '^-Xmx[0-9]*m' /etc/cassandra/jvm.options").trim()).toBe(`-Xmx${HEAP_MB}m`);
  }, 22 * 60_000);

  it('refuses Cassandra 4.1.10 at POST, naming the version', async () => {
    const r = await call('POST', '/projects/cs/clusters', { DisplayName: 'old', NSlaves: 1, Services: [{ Type: 'spark' }, { Type: 'cassandra', Version: '4.1.10' }] });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(JSON.stringify(r.body)).toContain('cassandra 4.1.10 is not deployable here');
  });

  it('writes a row through one node and reads it at QUORUM through another (keyspace RF = 3), and refuses a wrong password', async () => {
    const [w, rd] = [client(node('-slave-1')), client(node('-master'))];
    try {
      await w.connect();
      await w.execute("CREATE KEYSPACE IF NOT EXISTS e2e WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
      await w.execute('CREATE TABLE IF NOT EXISTS e2e.kv (id int PRIMARY KEY, v text, n int)');
      for (let i = 1; i <= 20; i++) {
        await w.execute('INSERT INTO e2e.kv (id, v, n) VALUES (?, ?, ?)', [i, i === 1 ? 'hello from slave-1' : `row ${i}`, i], { prepare: true, consistency: cassandra.types.consistencies.quorum });
      }
      await rd.connect();
      const r = await rd.execute('SELECT v FROM e2e.kv WHERE id = ?', [1], { prepare: true, consistency: cassandra.types.consistencies.quorum });
      expect(r.first()?.get('v')).toBe('hello from slave-1');
      expect(r.info.queriedHost).toBe(`${node('-master').address}:9042`);
      const ks = await rd.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'e2e'");
      expect(ks.first()?.get('replication')).toMatchObject({ replication_factor: '3' });
      // The role replicated system_auth (roles, passwords) to min(3, ring nodes) = 3, at RF 1 by default.
      expect(await authReplication(rd)).toEqual({ class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '3' });
    } finally {
      await Promise.all([w.shutdown(), rd.shutdown()]);
    }
    const bad = new cassandra.Client({ contactPoints: [`${node('-slave-2').address}:9042`], localDataCenter: 'datacenter1', credentials: { username: 'cassandra', password: 'cassandra' } });
    await expect(bad.connect()).rejects.toThrow(/Provided username cassandra and\/or password are incorrect|authentication/i);
    await bad.shutdown();
  }, 5 * 60_000);

  it('a Spark job reads the table through the Spark Cassandra Connector, which spark-defaults.conf provides (no --jars)', () => {
    const master = node('-master');
    ssh(keyFile, master.address, `cat > /root/cjob.scala <<'EOF'\n${JOB}\nEOF\nJAVA_HOME=$(dirname $(dirname $(readlink -f /usr/bin/java))) java -cp '/opt/spark/jars/*' scala.tools.nsc.Main -usejavacp -d /root/cjob.jar /root/cjob.scala`, 5 * 60_000);
    const out = ssh(
      keyFile,
      master.address,
      // No --jars and no connection host: spark-defaults.conf carries both when Cassandra is in the cluster.
      `CASSANDRA_PASSWORD=${shellQuote(PASSWORD)} spark-submit --conf spark.cassandra.auth.username=cassandra ` +
        `--class CassandraRead /root/cjob.jar e2e kv 2>/root/cjob.err || { tail -40 /root/cjob.err; exit 1; }`,
      6 * 60_000,
    );
    console.log(out.trim());
    expect(out).toContain('cassandra rows: 20; sum of n: 210; greeting: hello from slave-1');
  }, 12 * 60_000);

  it('scales out to 3 slaves: the new node joins the ring (UN) and serves the data; the role puts system_auth back to RF 3', async () => {
    // Undo the role's work by hand: the scale-out's apply must set it again (and repair system_auth).
    const a = client(node('-master'));
    try {
      await a.connect();
      await a.execute("ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
      expect((await authReplication(a)).replication_factor).toBe('1');
    } finally {
      await a.shutdown();
    }
    const seen = (await events('cas-cs')).length;
    const started = Date.now();
    const put = await call('PUT', '/projects/cs/clusters/cas-cs', { NSlaves: 3 });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const r = await settle('cas-cs', 15);
    expect(r.status, `${JSON.stringify(r.op?.Error ?? r.op, null, 2)}\n${r.events.join('\n')}`).toBe('ACTIVE');
    console.log(`nspawn cassandra: scale-out 2 -> 3 slaves in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await refreshNodes();
    expect(nodes.map((n) => n.name).sort()).toEqual(['cas-cs-master', 'cas-cs-slave-1', 'cas-cs-slave-2', 'cas-cs-slave-3']);
    expect(upNormal(node('-master'))).toEqual(nodes.map((n) => n.address).sort());
    const c = client(node('-slave-3'));
    try {
      await c.connect();
      const got = await c.execute('SELECT v FROM e2e.kv WHERE id = ?', [1], { prepare: true, consistency: cassandra.types.consistencies.quorum });
      expect(got.first()?.get('v')).toBe('hello from slave-1');
      expect(await authReplication(c)).toEqual({ class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '3' });
    } finally {
      await c.shutdown();
    }
    expect((await events('cas-cs')).slice(seen).some((e) => /Repair system_auth on every node, one after the other: changed/.test(e.Message))).toBe(true);
  }, 17 * 60_000);

  it('with a node holding the superuser down, the superuser still logs in through every other node (system_auth has 3 replicas)', async () => {
    // The nodes that hold the role 'cassandra': at Cassandra's default RF 1 there is one, and
    // stopping it locks every client out (the superuser is read at QUORUM).
    const holders = ssh(keyFile, node('-master').address, 'nodetool getendpoints system_auth roles cassandra', 3 * 60_000).trim().split(/\s+/);
    expect(holders).toHaveLength(3);
    const down = nodes.find((n) => n.role === 'slave' && holders.includes(n.address)) ?? node('-master');
    ssh(keyFile, down.address, 'systemctl stop cassandra', 3 * 60_000);
    try {
      for (const n of nodes.filter((x) => x !== down)) {
        const c = new cassandra.Client({ contactPoints: [`${n.address}:9042`], localDataCenter: 'datacenter1', credentials: { username: 'cassandra', password: PASSWORD }, socketOptions: { readTimeout: 60_000 } });
        try {
          await c.connect();
          expect((await c.execute('SELECT release_version FROM system.local')).first()?.get('release_version'), n.name).toMatch(/^5\.0\./);
        } finally {
          await c.shutdown();
        }
      }
    } finally {
      ssh(keyFile, down.address, `systemctl start cassandra; for _ in $(seq 300); do (exec 3<>/dev/tcp/${down.address}/9042) 2>/dev/null && exit 0; sleep 1; done; exit 1`, 6 * 60_000);
    }
    expect(upNormal(node('-master'))).toEqual(nodes.map((n) => n.address).sort());
  }, 10 * 60_000);

  it('a second apply of the cassandra role (deploy.yml) reports changed=0', async () => {
    const m = machinery();
    const { changed, total } = await applyAgain({ running: api.running(), provider: m.provider, clusterId, clusterName: 'cas-cs', nodes, playbook: 'deploy.yml', only: 'cassandra', vars: vars(m), timeoutMs: 8 * 60_000 });
    expect(changed).toEqual([]);
    expect(total).toBe(0);
  }, 10 * 60_000);

  it("the role's remove path leaves nothing of Cassandra on the nodes", async () => {
    const leftovers =
      'getent passwd cassandra >/dev/null && echo user; ' +
      'for p in /etc/cassandra /var/lib/cassandra /var/log/cassandra /etc/systemd/system/cassandra.service /usr/local/bin/nodetool /usr/local/lib/michman-cql.py /opt/spark-cassandra-connector /var/tmp/michman-cassandra /opt/apache-cassandra-*; do [ -e $p ] && echo $p; done; ' +
      // [C]: the pattern must not match the shell that runs this very command.
      "pgrep -f '[C]assandraDaemon' >/dev/null && echo process; true";
    expect(ssh(keyFile, node('-slave-3').address, leftovers).trim().split('\n')).toEqual(expect.arrayContaining(['user', '/etc/cassandra', '/var/lib/cassandra', 'process']));
    const m = machinery();
    await runRole({ running: api.running(), provider: m.provider, clusterId, clusterName: 'cas-cs', nodes, playbook: 'remove.yml', only: 'cassandra', vars: vars(m), timeoutMs: 6 * 60_000 });
    for (const n of nodes) expect(ssh(keyFile, n.address, leftovers).trim(), n.name).toBe('');
  }, 8 * 60_000);

  it('delete leaves no container, namespace, link or process', async () => {
    expect((await call('DELETE', '/projects/cs/clusters/cas-cs')).status).toBe(200);
    expect((await settle('cas-cs', 10)).status).toBe('GONE');
    await nothingLeftOf(machinery().provider, clusterId, join(api.dir(), 'data'));
  }, 11 * 60_000);
});

/** system_auth's replication, as system_schema.keyspaces holds it. */
async function authReplication(c: cassandra.Client): Promise<Record<string, string>> {
  const r = await c.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'system_auth'");
  return r.first()?.get('replication') as Record<string, string>;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
