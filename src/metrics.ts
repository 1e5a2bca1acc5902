// Michman's own Prometheus metrics (GET /metrics, prom-client). Requests are counted by route
// pattern (never the raw URL, which would carry project and cluster names and grow without bound);
// cluster, service and operation counts are read from the database at each scrape, so every API
// replica reports the whole system; claim latency is observed by the workers of this process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.js';
import { StatsRepo, type Count } from './store/repos/stats.js';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly claimLatency: Histogram<'kind'>;

  constructor(store: Store, o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const stats = new StatsRepo({ db: store.db, kit: store.kit });
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'michman_' });
    this.httpRequests = new Counter({ name: 'michman_http_requests_total', help: 'HTTP requests by method, route pattern and status code.', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'michman_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.claimLatency = new Histogram({
      name: 'michman_operation_claim_latency_seconds',
      help: 'Time from an operation being queued to a worker of this process claiming it, by kind.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    const fromDb = (name: string, help: string, labelNames: string[], read: () => Promise<Count[]>, keep?: (c: Count) => boolean) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const counts = await read();
          this.reset();
          for (const c of counts) if (!keep || keep(c)) this.set(c.labels, c.n);
        },
      });
    fromDb('michman_clusters', 'Clusters by EntityStatus (DELETED ones aside).', ['status'], () => stats.clustersByStatus());
    fromDb('michman_cluster_services', 'Services of clusters by type and EntityStatus (ACTIVE, UNHEALTHY; UNKNOWN before their first check).', ['type', 'status'], () => stats.servicesByStatus());
    fromDb('michman_operations', 'Operations by kind and status (queued, running, succeeded, failed, cancelled).', ['kind', 'status'], () => stats.operationsByKindAndStatus());
    new Gauge({
      name: 'michman_queue_depth',
      help: 'Operations queued and not yet claimed by a worker.',
      registers,
      async collect() {
        const counts = await stats.operationsByKindAndStatus();
        this.set(counts.filter((c) => c.labels.status === 'queued').reduce((a, c) => a + c.n, 0));
      },
    });
  }

  /** A worker claimed an operation queued at `queuedAt`. */
  claimed(kind: string, queuedAt: number, now = Date.now()): void {
    this.claimLatency.observe({ kind }, Math.max(0, (now - queuedAt) / 1000));
  }

  request(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }
}
