// Cluster logs as the original Michman kept them, on the real `michman serve` (fake provider):
// logs_output: logstash ships every event of an operation as a JSON line to Logstash's tcp input
// (json_lines codec; here a receiver in the test that speaks it), and elastic_addr makes
// GET /logs/projects/{p}/clusters/{c} read them back through the search API of a REAL OpenSearch
// run by the test on 127.0.0.1 from the pinned artifact. The test plays the Logstash pipeline's
// output stage: it indexes what the receiver got into the index each line names (Cluster_name).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServeProcess } from '../helpers/serveProcess.js';
import { LocalOpenSearch, lacksOpenSearch } from '../helpers/opensearch.js';
import { until } from '../engine/workerProcess.js';
import { logText } from '../../src/logs/lines.js';

const SECRET = 'Vry-s3cret-redis-pass-77';

/** Logstash's tcp input with codec json_lines: newline-delimited JSON objects over TCP. */
class JsonLinesReceiver {
  readonly lines: Array<Record<string, unknown>> = [];
  raw = '';
  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<JsonLinesReceiver> {
    const server = createServer();
    let self: JsonLinesReceiver | undefined;
    server.on('connection', (sock) => {
      let buf = '';
      sock.on('data', (c: Buffer) => {
        self!.raw += c.toString();
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) self!.lines.push(JSON.parse(line) as Record<string, unknown>);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new JsonLinesReceiver(server, (server.address() as { port: number }).port);
    return self;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe.skipIf(lacksOpenSearch())('cluster logs: Logstash json_lines out, OpenSearch search API back', () => {
  let os: LocalOpenSearch;
  let receiver: JsonLinesReceiver;
  let serve: ServeProcess;
  const dir = mkdtempSync(join(tmpdir(), 'michman-logs-'));

  beforeAll(async () => {
    receiver = await JsonLinesReceiver.start();
    os = await LocalOpenSearch.start();
    serve = await ServeProcess.start(dir, { provider: 'fake', fake_boot_ms: 50, logs_output: 'logstash', logstash_addr: `127.0.0.1:${receiver.port}`, elastic_addr: os.url });
  }, 240_000);

  afterAll(async () => {
    if (serve?.alive) await serve.stop('SIGTERM');
    await receiver?.close();
    await os?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('ships each event of the create as a json_lines line (no password in them), and GET /logs reads the same lines back from OpenSearch', async () => {
    expect((await serve.call('POST', '/images', { Name: 'img', AnsibleUser: 'u', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' })).status).toBe(201);
    expect((await serve.call('POST', '/flavors', { Name: 'f', VCPUs: 1, RAM: 1024, Disk: 10 })).status).toBe(201);
    const p = await serve.call('POST', '/projects', { DisplayName: 'pp', DefaultImage: 'img', DefaultMasterFlavor: 'f', DefaultSlavesFlavor: 'f', DefaultStorageFlavor: 'f', DefaultMonitoringFlavor: 'f' });
    expect(p.status, p.text).toBe(201);
    const c = await serve.call('POST', '/projects/pp/clusters', { DisplayName: 'cc', NSlaves: 1, Services: [{ Type: 'redis', Config: { db_password: SECRET } }] });
    expect(c.status, c.text).toBe(201);
    const id = c.data.ID as string;
    await until('the cluster to be ACTIVE', async () => ((await serve.call('GET', '/projects/pp/clusters/cc-pp')).data?.EntityStatus === 'ACTIVE' ? true : undefined), 60_000);

    // Every event of the create reaches the receiver (events are shipped once committed).
    const events = (await serve.call('GET', '/projects/pp/clusters/cc-pp/events')).data as Array<{ Message: string }>;
    expect(events.length).toBeGreaterThan(3);
    const mine = () => receiver.lines.filter((l) => l.cluster_id === id && l.action === 'create');
    await until('the create events at the receiver', async () => (mine().length >= events.length ? true : undefined), 30_000);
    const lines = mine();
    expect(lines.length).toBe(events.length);
    for (const l of lines) {
      expect(l).toMatchObject({ Cluster_name: `create_${id}`, cluster_id: id, action: 'create' });
      expect(typeof l['@timestamp']).toBe('string');
      expect(typeof l.message).toBe('string');
      expect(typeof l.operation_id).toBe('string');
    }
    expect(lines.map((l) => l.message).sort()).toEqual(events.map((e) => e.Message).sort());
    expect(receiver.raw).not.toContain(SECRET);

    // The Logstash pipeline's output: index => "%{Cluster_name}".
    const bulk = lines.map((l) => `${JSON.stringify({ index: { _index: l.Cluster_name } })}\n${JSON.stringify(l)}\n`).join('');
    const b = await os.request('POST', '/_bulk?refresh=true', bulk, 'application/x-ndjson');
    expect(b.status).toBe(200);
    expect(b.json.errors).toBe(false);

    const logs = await serve.call('GET', '/logs/projects/pp/clusters/cc-pp?action=create');
    expect(logs.status, logs.text).toBe(200);
    expect(logs.data.logs_source).toBe('elasticsearch');
    expect(logs.data.cluster_id).toBe('cc-pp');
    const text = logText(lines.map((l) => ({ time: Date.parse(String(l['@timestamp'])), level: String(l.level), phase: String(l.phase), node: l.node as string | undefined, service: l.service as string | undefined, message: String(l.message) })).sort((a, b) => a.time - b.time));
    expect(String(logs.data.cluster_logs).split('\n').sort()).toEqual(text.split('\n').sort());
    expect(String(logs.data.cluster_logs)).toContain(String(lines[0]!.message));

    // An action whose index holds nothing answers an empty log, not an error.
    const del = await serve.call('GET', '/logs/projects/pp/clusters/cc-pp?action=delete');
    expect(del.status, del.text).toBe(200);
    expect(del.data.cluster_logs).toBe('');
  }, 180_000);

  it('a search API that does not answer is a 503 naming elastic_addr, not an empty log', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'michman-logs-'));
    const closed = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => r(port));
      });
    });
    const other = await ServeProcess.start(dir2, { provider: 'fake', fake_boot_ms: 50, logs_output: 'logstash', logstash_addr: `127.0.0.1:${receiver.port}`, elastic_addr: `http://elastic:hunter2@127.0.0.1:${closed}` });
    try {
      await other.call('POST', '/images', { Name: 'img', AnsibleUser: 'u', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' });
      await other.call('POST', '/flavors', { Name: 'f', VCPUs: 1, RAM: 1024, Disk: 10 });
      await other.call('POST', '/projects', { DisplayName: 'pp', DefaultImage: 'img', DefaultMasterFlavor: 'f', DefaultSlavesFlavor: 'f', DefaultStorageFlavor: 'f', DefaultMonitoringFlavor: 'f' });
      expect((await other.call('POST', '/projects/pp/clusters', { DisplayName: 'cc', NSlaves: 1 })).status).toBe(201);
      const r = await other.call('GET', '/logs/projects/pp/clusters/cc-pp');
      expect(r.status, r.text).toBe(503);
      expect(r.text).toContain('elastic_addr');
      expect(r.text).not.toContain('hunter2');
    } finally {
      await other.stop('SIGTERM');
      rmSync(dir2, { recursive: true, force: true });
    }
  }, 60_000);
});
