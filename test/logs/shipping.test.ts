// The pieces of cluster log shipping: the line format, logstash_addr parsing, and the shipper's
// behaviour when Logstash is away (lines wait, then arrive in order once it listens).
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { clusterLogLine, logIndex, logText, parseHostPort } from '../../src/logs/lines.js';
import { LogstashShipper } from '../../src/logs/logstash.js';
import { freePort } from '../helpers/serveProcess.js';

describe('cluster log lines', () => {
  it("carry the event, the cluster, the operation and the original's Cluster_name", () => {
    const l = clusterLogLine({ time: Date.UTC(2026, 0, 2, 3, 4, 5), level: 'info', phase: 'deploy', node: 'c-master', service: 'redis', message: 'ok' }, { clusterId: 'ABC', operationId: 'op1', action: 'create', seq: 7 });
    expect(l).toEqual({ '@timestamp': '2026-01-02T03:04:05.000Z', Cluster_name: 'create_abc', cluster_id: 'ABC', operation_id: 'op1', action: 'create', seq: 7, level: 'info', phase: 'deploy', node: 'c-master', service: 'redis', message: 'ok' });
    expect(logIndex('delete', 'X-1')).toBe('delete_x-1');
    expect(logText([{ time: 0, level: 'warn', phase: 'health', message: 'm' }])).toBe('1970-01-01T00:00:00.000Z WARN [health] m');
  });

  it('logstash_addr is host:port (tcp:// allowed), nothing else', () => {
    expect(parseHostPort('127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseHostPort('tcp://logstash.example.org:5044')).toEqual({ host: 'logstash.example.org', port: 5044 });
    expect(parseHostPort('[::1]:5000')).toEqual({ host: '::1', port: 5000 });
    for (const bad of ['http://127.0.0.1:5000', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'a b:1']) expect(parseHostPort(bad), bad).toBeUndefined();
  });
});

describe('LogstashShipper', () => {
  let server: Server | undefined;
  let shipper: LogstashShipper | undefined;
  afterEach(async () => {
    await shipper?.close(100);
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('keeps lines while Logstash is away and delivers them, in order, once it listens', async () => {
    const port = await freePort();
    shipper = new LogstashShipper(`127.0.0.1:${port}`);
    for (let i = 0; i < 50; i++) shipper.ship({ n: i });
    await new Promise((r) => setTimeout(r, 300));
    expect(shipper.pending).toBe(50);
    let got = '';
    server = createServer((s) => s.on('data', (c: Buffer) => (got += c.toString())));
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    for (let i = 0; i < 100 && got.split('\n').length < 51; i++) await new Promise((r) => setTimeout(r, 100));
    expect(got.trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n)).toEqual([...Array(50).keys()]);
  });

  it('drops the oldest lines beyond its bound, not the newest', () => {
    shipper = new LogstashShipper('127.0.0.1:1', { maxQueued: 3 });
    for (let i = 0; i < 5; i++) shipper.ship({ n: i });
    expect(shipper.pending).toBe(3);
  });
});
