// Health of services deployed by Ansible, checked from the host against the nodes' addresses by
// each service's own protocol (ansible/CONTRACT.md "What the deployer checks"): a role that
// "succeeded" but left a server that refuses logins is not healthy. Reuses the local deployer's
// small protocol clients; errors name the node and never the password.
import pg from 'pg';
import { createConnection } from 'mysql2/promise';
import type { ProvisionedNode } from '../../domain/nodes.js';
import type { HealthResult } from '../types.js';
import { httpGet, natsPing, redisCommands } from '../local/net.js';
import { portOpen } from '../../host/net.js';
import { errorText } from '../local/service.js';
import { NFS_PROGRAM, rpcCall } from './nfsRpc.js';

export interface HealthInput {
  type: string;
  nodes: ProvisionedNode[];
  /** The service's parameters as deployed: user config over generated secrets over defaults. */
  params: Record<string, string>;
  accessPort: number;
  /**
   * Runs a command on a node over SSH as root (for checks without a network protocol): logged in as
   * the deploys are (the image's user, through sudo, against the pinned host keys on clouds).
   */
  ssh(node: ProvisionedNode, command: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** All nodes of the cluster (slurm: every slave must be known to the controller). */
  clusterNodes: ProvisionedNode[];
}

type Check = (h: HealthInput, node: ProvisionedNode) => Promise<HealthResult>;

const port = (h: HealthInput, dflt: number) => (h.accessPort > 0 ? h.accessPort : dflt);

const redis: Check = async (h, n) => {
  const p = port(h, 6379);
  try {
    const [auth, pong] = await redisCommands(n.address, p, [['AUTH', h.params.db_password ?? ''], ['PING']]);
    if (auth !== '+OK') return { healthy: false, detail: `${n.name}: redis AUTH answered ${(auth ?? '').slice(0, 60)}` };
    return { healthy: pong === '+PONG', detail: `${n.name}: redis AUTH +OK, PING ${pong} at ${n.address}:${p}` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: redis ${n.address}:${p}: ${errorText(e)}` };
  }
};

const postgresql: Check = async (h, n) => {
  const p = port(h, 5432);
  const user = h.params.db_user || 'pguser';
  const database = h.params.db_name || 'postgres';
  const client = new pg.Client({ host: n.address, port: p, user, password: h.params.db_password ?? '', database, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const r = await client.query('SELECT 1 AS one');
    const ok = r.rows[0]?.one === 1;
    return { healthy: ok, detail: `${n.name}: postgresql SELECT 1 as ${user} on ${database} at ${n.address}:${p}${ok ? '' : ' returned an unexpected result'}` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: postgresql ${n.address}:${p}: ${errorText(e)}` };
  } finally {
    await client.end().catch(() => undefined);
  }
};

const mariadb: Check = async (h, n) => {
  const p = port(h, 3306);
  const user = h.params.db_user || 'user';
  const database = h.params.db_name || 'mariadb';
  let conn: Awaited<ReturnType<typeof createConnection>> | undefined;
  try {
    conn = await createConnection({ host: n.address, port: p, user, password: h.params.db_password ?? '', database, connectTimeout: 10_000 });
    const [rows] = await conn.query('SELECT 1 AS one');
    const ok = (rows as Array<{ one: number }>)[0]?.one === 1;
    return { healthy: ok, detail: `${n.name}: mariadb SELECT 1 as ${user} on ${database} at ${n.address}:${p}` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: mariadb ${n.address}:${p}: ${errorText(e)}` };
  } finally {
    await conn?.end().catch(() => undefined);
  }
};

const http =
  (name: string, dflt: number, path: string, accept: (status: number, body: string) => boolean, headers: (h: HealthInput) => Record<string, string> = () => ({})): Check =>
  async (h, n) => {
    const url = `http://${n.address}:${port(h, dflt)}${path}`;
    try {
      const r = await httpGet(url, headers(h), 4000);
      return { healthy: accept(r.status, r.body), detail: `${n.name}: ${name} GET ${url} → ${r.status}` };
    } catch (e) {
      return { healthy: false, detail: `${n.name}: ${name} GET ${url}: ${errorText(e)}` };
    }
  };

const jupyter = http('jupyter', 8888, '/api', (s) => s === 200, (h): Record<string, string> => (h.params.token ? { Authorization: `token ${h.params.token}` } : {}));
const clickhouse = http('clickhouse', 8123, '/ping', (s, b) => s === 200 && b.startsWith('Ok'));
const prometheus = http('prometheus', 9090, '/-/ready', (s) => s === 200);

/** Slurm: the controller on the master knows every slave, and none is down. */
const slurm: Check = async (h, n) => {
  if (n.role !== 'master') return { healthy: true, detail: `${n.name}: checked through the master` };
  const slaves = h.clusterNodes.filter((x) => x.role === 'slave').map((x) => x.name);
  try {
    const r = await h.ssh(n, "sinfo -h -N -o '%N %T'");
    if (r.code !== 0) return { healthy: false, detail: `${n.name}: sinfo exited with ${r.code}: ${r.stderr.trim().slice(0, 200)}` };
    const states = new Map(
      r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
    const bad = slaves.filter((s) => {
      const st = (states.get(s) ?? states.get(s.toLowerCase()) ?? 'missing').replace(/[*~#!%$@^-]+$/, '');
      return !['idle', 'allocated', 'mixed', 'completing'].includes(st);
    });
    if (bad.length > 0) return { healthy: false, detail: `${n.name}: sinfo: ${bad.map((s) => `${s} ${states.get(s) ?? 'missing'}`).join(', ')}` };
    return { healthy: true, detail: `${n.name}: sinfo: ${slaves.length} slave(s) up (${[...states.values()].join(', ')})` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: sinfo over ssh: ${errorText(e)}` };
  }
};

/**
 * Spark with HDFS, through the master: its status JSON lists an ALIVE worker at every slave's
 * address, and the NameNode counts every slave's DataNode live (and names each one).
 */
const spark: Check = async (h, n) => {
  if (n.role !== 'master') return { healthy: true, detail: `${n.name}: checked through the master` };
  const slaves = h.nodes.filter((x) => x.role === 'slave');
  const ui = port(h, 8080);
  try {
    const m = await httpGet(`http://${n.address}:${ui}/json/`, {}, 5000);
    if (m.status !== 200) return { healthy: false, detail: `${n.name}: spark master GET /json/ → ${m.status}` };
    const workers = ((JSON.parse(m.body) as { workers?: Array<{ host?: string; state?: string }> }).workers ?? []).filter((w) => w.state === 'ALIVE');
    const alive = new Set(workers.map((w) => w.host));
    const noWorker = slaves.filter((s) => !alive.has(s.address) && !alive.has(s.name)).map((s) => s.name);
    if (noWorker.length > 0) return { healthy: false, detail: `${n.name}: spark master at ${n.address}:${ui} has no ALIVE worker on ${noWorker.join(', ')} (${workers.length} alive)` };
    const jmx = await httpGet(`http://${n.address}:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`, {}, 5000);
    if (jmx.status !== 200) return { healthy: false, detail: `${n.name}: HDFS NameNode JMX → ${jmx.status}` };
    const info = (JSON.parse(jmx.body) as { beans?: Array<{ LiveNodes?: string }> }).beans?.[0];
    const live = Object.values(JSON.parse(info?.LiveNodes ?? '{}') as Record<string, { xferaddr?: string; infoAddr?: string }>).map((v) => (v.xferaddr ?? v.infoAddr ?? '').split(':')[0]);
    const noDataNode = slaves.filter((s) => !live.includes(s.address)).map((s) => s.name);
    if (noDataNode.length > 0) return { healthy: false, detail: `${n.name}: HDFS NameNode has no live DataNode on ${noDataNode.join(', ')} (${live.length} live)` };
    let yarn = '';
    if (h.params.use_yarn === 'true') {
      const rm = await httpGet(`http://${n.address}:8088/ws/v1/cluster/nodes`, { accept: 'application/json' }, 5000);
      if (rm.status !== 200) return { healthy: false, detail: `${n.name}: YARN ResourceManager GET /ws/v1/cluster/nodes → ${rm.status}` };
      const nms = ((JSON.parse(rm.body) as { nodes?: { node?: Array<{ nodeHostName?: string; state?: string }> } | null }).nodes?.node ?? []).filter((x) => x.state === 'RUNNING');
      const hosts = new Set(nms.map((x) => x.nodeHostName));
      const noNm = slaves.filter((s) => !hosts.has(s.address) && !hosts.has(s.name)).map((s) => s.name);
      if (noNm.length > 0) return { healthy: false, detail: `${n.name}: YARN ResourceManager has no RUNNING NodeManager on ${noNm.join(', ')} (${nms.length} running)` };
      yarn = `, YARN ${nms.length} RUNNING NodeManager(s)`;
    }
    return {
      healthy: true,
      detail: `${n.name}: spark://${n.address}:7077 has ${workers.length} ALIVE worker(s), hdfs://${n.address}:9000 ${live.length} live DataNode(s)${yarn} (${slaves.length} slave(s))`,
    };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: spark/HDFS status at ${n.address}: ${errorText(e)}` };
  }
};

/**
 * NATS, on every node of the service: the monitoring endpoint answers /varz, /routez lists a route to
 * every other node of the service (one cluster, not islands), and a client logs in with the
 * service's user and password (CONNECT, PING → PONG). Routes are matched by the peers' server IDs
 * (their /varz), not by address: a route's address is the connection's source, which on a node
 * with several interfaces need not be the peer's service address.
 */
const natsVarz = async (n: ProvisionedNode): Promise<{ server_id?: string; version?: string }> => {
  const r = await httpGet(`http://${n.address}:8222/varz`, {}, 4000);
  if (r.status !== 200) throw new Error(`GET /varz → ${r.status}`);
  return JSON.parse(r.body) as { server_id?: string; version?: string };
};

const nats: Check = async (h, n) => {
  const p = port(h, 4222);
  try {
    const varz = await natsVarz(n);
    const routez = await httpGet(`http://${n.address}:8222/routez`, {}, 4000);
    if (routez.status !== 200) return { healthy: false, detail: `${n.name}: nats GET /routez → ${routez.status}` };
    const routed = new Set(((JSON.parse(routez.body) as { routes?: Array<{ remote_id?: string }> | null }).routes ?? []).map((r) => r.remote_id));
    const peers = h.nodes.filter((x) => x.name !== n.name);
    const ids = await Promise.all(peers.map((x) => natsVarz(x).then((v) => v.server_id, () => undefined)));
    const missing = peers.filter((_, i) => ids[i] === undefined || !routed.has(ids[i])).map((x) => x.name);
    if (missing.length > 0) return { healthy: false, detail: `${n.name}: nats at ${n.address} has no route to ${missing.join(', ')} (${routed.size} route(s))` };
    const { answer } = await natsPing(n.address, p, { user: h.params.user || 'nats', pass: h.params.password ?? '' });
    if (answer !== 'PONG') return { healthy: false, detail: `${n.name}: nats CONNECT/PING at ${n.address}:${p} answered ${answer.slice(0, 80)}` };
    return { healthy: true, detail: `${n.name}: nats-server ${String(varz.version ?? '?')} at ${n.address}:${p}, routes to ${routed.size} node(s), CONNECT+PING → PONG` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: nats at ${n.address}: ${errorText(e)}` };
  }
};

/**
 * OpenSearch (type elastic), on every node of the service: `_cluster/health` answers, not red, and
 * counts every node of the service (one cluster, not islands).
 */
const elastic: Check = async (h, n) => {
  const url = `http://${n.address}:${port(h, 9200)}/_cluster/health`;
  try {
    const r = await httpGet(url, {}, 5000);
    if (r.status !== 200) return { healthy: false, detail: `${n.name}: opensearch GET ${url} → ${r.status}` };
    const b = JSON.parse(r.body) as { status?: string; number_of_nodes?: number; cluster_name?: string };
    const ok = b.status !== 'red' && b.number_of_nodes === h.nodes.length;
    return { healthy: ok, detail: `${n.name}: opensearch cluster ${b.cluster_name ?? '?'} ${b.status ?? '?'} with ${b.number_of_nodes ?? 0} of ${h.nodes.length} node(s)` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: opensearch GET ${url}: ${errorText(e)}` };
  }
};

/**
 * Ignite: the thin-client port answers on every node, and through the master control.sh (the
 * binary connector on 11211, `--baseline`) lists every node of the service in the topology.
 */
const ignite: Check = async (h, n) => {
  const thin = port(h, 10800);
  const open = await portOpen(n.address, thin, 3000);
  if (!open) return { healthy: false, detail: `${n.name}: ignite thin-client port ${n.address}:${thin} closed` };
  if (n.role !== 'master') return { healthy: true, detail: `${n.name}: thin-client port ${thin} open; topology checked through the master` };
  try {
    const r = await h.ssh(n, `ignite-control --host ${n.address} --baseline`);
    if (r.code !== 0) return { healthy: false, detail: `${n.name}: control.sh --baseline exited with ${r.code}: ${(r.stdout + r.stderr).trim().slice(-300)}` };
    // Every node's consistent ID is its node name (the role sets it).
    const missing = h.nodes.filter((x) => !r.stdout.includes(x.name) && !r.stdout.includes(`Address=${x.address}`)).map((x) => x.name);
    if (missing.length > 0) return { healthy: false, detail: `${n.name}: ignite topology lacks ${missing.join(', ')}` };
    const servers = /Number of baseline nodes: (\d+)/.exec(r.stdout)?.[1] ?? '?';
    return { healthy: true, detail: `${n.name}: ignite topology has every node of the service (${h.nodes.length}; baseline ${servers})` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: control.sh over ssh: ${errorText(e)}` };
  }
};

const jupyterhub = http('jupyterhub', 8000, '/hub/health', (s) => s === 200);

/** TensorFlow on every node: the virtualenv imports tensorflow, and TF_CONFIG names this node's worker. */
const tensorflow: Check = async (h, n) => {
  const venv = h.params.venv_path || '/opt/tensorflow/venv';
  const config = `${h.params.config_path || '/opt/tensorflow'}/tf_config.json`;
  const py = 'import json, sys; import tensorflow as tf; c = json.load(open(sys.argv[1])); print(tf.__version__, c["cluster"]["worker"][c["task"]["index"]])';
  try {
    const r = await h.ssh(n, `TF_CPP_MIN_LOG_LEVEL=3 ${venv}/bin/python -c '${py}' ${config}`);
    const [version, worker] = r.stdout.trim().split(/\s+/).slice(-2);
    if (r.code !== 0 || !version) return { healthy: false, detail: `${n.name}: import tensorflow exited with ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0]?.slice(0, 200) ?? ''}` };
    const mine = worker?.split(':')[0] === n.address;
    return { healthy: mine, detail: `${n.name}: tensorflow ${version} imports; TF_CONFIG worker ${worker ?? '?'}${mine ? '' : ` is not this node (${n.address})`}` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: tensorflow over ssh: ${errorText(e)}` };
  }
};

/**
 * Cassandra: every node's CQL port answers; on the master (the seed), nodetool (over SSH, local JMX)
 * shows every node of the service Up and Normal in one ring. One JVM per check, on one node only.
 */
const cassandra: Check = async (h, n) => {
  const p = port(h, 9042);
  if (!(await portOpen(n.address, p, 3000))) return { healthy: false, detail: `${n.name}: cassandra CQL port ${n.address}:${p} closed` };
  if (n.role !== 'master') return { healthy: true, detail: `${n.name}: cassandra CQL ${n.address}:${p} open` };
  try {
    const r = await h.ssh(n, 'nodetool status');
    if (r.code !== 0) return { healthy: false, detail: `${n.name}: nodetool status exited ${r.code}: ${r.stderr.trim().slice(-200)}` };
    const up = new Set([...r.stdout.matchAll(/^UN\s+(\S+)/gm)].map((m) => m[1]));
    const missing = h.nodes.filter((x) => !up.has(x.address)).map((x) => x.name);
    if (missing.length > 0) return { healthy: false, detail: `${n.name}: cassandra ring lacks Up/Normal ${missing.join(', ')} (UN: ${[...up].join(', ') || 'none'})` };
    return { healthy: true, detail: `${n.name}: cassandra CQL ${n.address}:${p} open, nodetool status: ${up.size} node(s) UN` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: cassandra nodetool status: ${errorText(e)}` };
  }
};

/**
 * NFS server: from the host, the NFS program answers its NULL procedure (v3 and v4) on 2049; and on
 * the storage node (a client the export admits; NFS-Ganesha lists and serves it only to those),
 * libnfs's nfs-ls reads the shared directory through the export, and NFS-Ganesha says over D-Bus that
 * it is out of its grace period: until then it answers every write with "try later"
 * (NFS3ERR_JUKEBOX), which a kernel client retries and libnfs's tools do not.
 */
export const GANESHA_GET_GRACE = 'dbus-send --system --print-reply --dest=org.ganesha.nfsd /org/ganesha/nfsd/admin org.ganesha.nfsd.admin.get_grace';

const nfsServer: Check = async (h, n) => {
  const nfsPort = port(h, 2049);
  const dir = h.params.dir_to_share || '/var/shared_dir';
  try {
    for (const v of [3, 4]) await rpcCall(n.address, nfsPort, NFS_PROGRAM, v, 0);
  } catch (e) {
    return { healthy: false, detail: `${n.name}: NFS at ${n.address}:${nfsPort}: ${errorText(e)}` };
  }
  const url = `nfs://${n.address}${dir}`;
  const answered = `${n.name}: NFS v3+v4 NULL answered at ${n.address}:${nfsPort}`;
  try {
    const r = await h.ssh(n, `nfs-ls '${url.replace(/'/g, '')}'`);
    if (r.code !== 0) return { healthy: false, detail: `${answered}, but nfs-ls ${url} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 200)}` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: nfs-ls ${url} over ssh: ${errorText(e)}` };
  }
  try {
    // The reply of get_grace: "boolean <in grace>", then "boolean <success>" and a message.
    const g = await h.ssh(n, GANESHA_GET_GRACE);
    const grace = /boolean (true|false)\s+boolean true/.exec(g.stdout)?.[1];
    if (g.code !== 0 || grace === undefined) return { healthy: false, detail: `${answered}; nfs-ls ${url} lists the export, but NFS-Ganesha's get_grace over D-Bus exited with ${g.code}: ${(g.stderr || g.stdout).trim().slice(0, 200)}` };
    if (grace === 'true') return { healthy: false, detail: `${answered}; nfs-ls ${url} lists the export, but NFS-Ganesha is in its grace period (writes are answered "try later" until it ends)` };
    return { healthy: true, detail: `${answered}; nfs-ls ${url} lists the export; NFS-Ganesha is out of its grace period` };
  } catch (e) {
    return { healthy: false, detail: `${n.name}: NFS-Ganesha's get_grace over ssh: ${errorText(e)}` };
  }
};

const CHECKS: Record<string, Check> = { redis, postgresql, mariadb, jupyter, jupyterhub, clickhouse, prometheus, slurm, spark, nats, elastic, ignite, tensorflow, cassandra, nfs_server: nfsServer };

export async function checkHealth(h: HealthInput): Promise<HealthResult> {
  if (h.nodes.length === 0) return { healthy: false, detail: 'no nodes' };
  const check: Check =
    CHECKS[h.type] ??
    (async (x, n) => {
      // No protocol check of our own: the access port answering is the least a service must do.
      if (x.accessPort <= 0) return { healthy: true, detail: `${n.name}: role applied (no protocol check for ${x.type})` };
      const open = await portOpen(n.address, x.accessPort, 2000);
      return { healthy: open, detail: `${n.name}: TCP ${n.address}:${x.accessPort} ${open ? 'open' : 'closed'}` };
    });
  const results = await Promise.all(h.nodes.map((n) => check(h, n)));
  return { healthy: results.every((r) => r.healthy), detail: results.map((r) => r.detail).join('; ') };
}
