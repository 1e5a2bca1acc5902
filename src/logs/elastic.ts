// Reads a cluster's log lines back from Elasticsearch or OpenSearch (config elastic_addr) through
// the search API: the index `<action>_<clusterID>` (lines.ts) that a Logstash pipeline fed from
// logs_output: logstash writes, the lines of one operation, in order. The original asked the SQL
// plugin (`_sql?format=txt`), which OpenSearch's minimal distribution does not carry; the search
// API exists in every release of both.
import { logIndex } from './lines.js';

export interface ElasticLogEvent {
  time: number;
  level: string;
  phase: string;
  node?: string;
  service?: string;
  message: string;
}

interface Hit {
  _source?: { '@timestamp'?: string; level?: string; phase?: string; node?: string; service?: string; message?: string; seq?: number };
}

export class ElasticLogReader {
  private readonly base: string;
  /** The address without user and password, for messages. */
  private readonly shown: string;
  private readonly headers: Record<string, string> = { 'content-type': 'application/json' };

  constructor(
    addr: string,
    private readonly o: { timeoutMs?: number; maxLines?: number } = {},
  ) {
    // fetch refuses URLs with credentials: http://user:pass@host becomes a Basic Authorization header.
    const u = new URL(addr);
    if (u.username || u.password) {
      this.headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.base = u.toString().replace(/\/+$/, '');
    this.shown = this.base;
  }

  /** The lines of operation `operationId`; [] when the index does not exist (nothing shipped). */
  async read(clusterId: string, action: string, operationId: string): Promise<ElasticLogEvent[]> {
    const url = `${this.base}/${encodeURIComponent(logIndex(action, clusterId))}/_search`;
    const body = {
      size: this.o.maxLines ?? 10_000,
      query: { bool: { filter: [{ match_phrase: { operation_id: operationId } }] } },
      sort: [{ '@timestamp': { order: 'asc' } }, { seq: { order: 'asc', unmapped_type: 'long' } }],
    };
    const res = await fetch(url, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
    }).catch((e: unknown) => {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
      throw new Error(`POST ${this.shown}/${logIndex(action, clusterId)}/_search: ${cause}`);
    });
    const text = await res.text();
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`POST ${this.shown}/${logIndex(action, clusterId)}/_search answered ${res.status}: ${text.slice(0, 200)}`);
    const hits = (JSON.parse(text) as { hits?: { hits?: Hit[] } }).hits?.hits ?? [];
    return hits.map((h) => {
      const s = h._source ?? {};
      return {
        time: Date.parse(s['@timestamp'] ?? '') || 0,
        level: s.level ?? 'info',
        phase: s.phase ?? '',
        ...(s.node ? { node: s.node } : {}),
        ...(s.service ? { service: s.service } : {}),
        message: s.message ?? '',
      };
    });
  }
}
