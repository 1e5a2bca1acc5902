// The cluster log line as Michman ships it to Logstash and reads it back from Elasticsearch or
// OpenSearch (config logs_output: logstash, logstash_addr, elastic_addr). One line per event of an
// operation: the fields of the event (already redacted by the deployers: no passwords, no
// extra-vars), the cluster and operation, and the original's `Cluster_name: <action>_<clusterID>`,
// which names the index a Logstash pipeline writes to (`index => "%{Cluster_name}"`) and which
// GET /logs/projects/{p}/clusters/{c} searches, as the original's SQL query did.

export interface ClusterLogLine {
  '@timestamp': string;
  /** `<action>_<clusterID>`: the index (the original's field name and value). */
  Cluster_name: string;
  cluster_id: string;
  operation_id: string;
  action: string;
  /** Order of lines with the same timestamp, within the shipping process. */
  seq: number;
  level: string;
  phase: string;
  node?: string;
  service?: string;
  message: string;
}

export interface LoggedEvent {
  time?: number;
  level: string;
  phase: string;
  node?: string;
  service?: string;
  message: string;
}

/** The index of a cluster's lines for one action (Elasticsearch index names are lower-case). */
export const logIndex = (action: string, clusterId: string): string => `${action}_${clusterId}`.toLowerCase();

export function clusterLogLine(e: LoggedEvent, at: { clusterId: string; operationId: string; action: string; seq: number; now?: number }): ClusterLogLine {
  return {
    '@timestamp': new Date(e.time ?? at.now ?? Date.now()).toISOString(),
    Cluster_name: logIndex(at.action, at.clusterId),
    cluster_id: at.clusterId,
    operation_id: at.operationId,
    action: at.action,
    seq: at.seq,
    level: e.level,
    phase: e.phase,
    ...(e.node ? { node: e.node } : {}),
    ...(e.service ? { service: e.service } : {}),
    message: e.message,
  };
}

/** The text GET /logs/projects/{p}/clusters/{c} answers, one event a line, whatever the source. */
export function logText(events: ReadonlyArray<{ time: number; level: string; phase: string; node?: string | undefined; service?: string | undefined; message: string }>): string {
  return events.map((e) => `${new Date(e.time).toISOString()} ${e.level.toUpperCase()} [${e.phase}${e.node ? ` ${e.node}` : ''}${e.service ? ` ${e.service}` : ''}] ${e.message}`).join('\n');
}

/** `host:port` of logstash_addr (an optional tcp:// prefix allowed); undefined when it is not one. */
export function parseHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(addr.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
