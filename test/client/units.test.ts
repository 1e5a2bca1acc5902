// The client's pieces that need no server: the event-stream parser, the --service shorthand, colour
// only on a terminal, credentials masked unless asked for (against a stand-in for the credentials
// route, which another change adds to the server).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEvents } from '../../src/wire/sse.js';
import { parseService } from '../../src/client/input.js';
import { stdoutOut, status } from '../../src/client/output.js';
import { UsageError } from '../../src/client/errors.js';
import { run, configHome } from './server.js';

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const x of chunks) c.enqueue(new TextEncoder().encode(x));
      c.close();
    },
  });

describe('client pieces', () => {
  it('parses server-sent events split anywhere across chunks', async () => {
    const out = [];
    for await (const e of parseEvents(streamOf('id: 1\nevent: info\nda', 'ta: {"a":1}\n\n: comment\n\nid: 2\r\nevent: end\r\ndata: {}\r\n\r\n'))) out.push(e);
    expect(out).toEqual([
      { id: '1', event: 'info', data: '{"a":1}' },
      { id: '2', event: 'end', data: '{}' },
    ]);
  });

  it('reads --service type[:version][,key=value...]', () => {
    expect(parseService('redis')).toEqual({ Type: 'redis' });
    expect(parseService('spark:3.5.7,spark_worker_cores=2,x=a=b')).toEqual({ Type: 'spark', Version: '3.5.7', Config: { spark_worker_cores: '2', x: 'a=b' } });
    expect(() => parseService('redis:')).toThrow(UsageError);
    expect(() => parseService('redis,novalue')).toThrow(UsageError);
    expect(() => parseService('a:b:c')).toThrow(UsageError);
  });

  it('colours only a terminal without NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    expect(status(stdoutOut('table', tty, {}), 'ACTIVE')).toBe('\x1b[32mACTIVE\x1b[0m');
    expect(status(stdoutOut('table', tty, { NO_COLOR: '1' }), 'ACTIVE')).toBe('ACTIVE');
    expect(status(stdoutOut('table', pipe, {}), 'FAILED')).toBe('FAILED');
  });
});

describe('cluster credentials', { timeout: 120_000 }, () => {
  let stub: Server;
  let url: string;
  let home: ReturnType<typeof configHome>;
  const creds = [{ Service: 'postgresql', Type: 'postgresql', User: 'postgres', Password: 'pw-Secret-1', Host: '127.0.0.5', Port: 5432, URL: '127.0.0.5:5432', ConnectionString: 'postgresql://postgres:pw-Secret-1@127.0.0.5:5432/postgres' }];

  beforeAll(async () => {
    home = configHome();
    stub = createServer((req, res) => {
      const ok = req.url === '/projects/demo/clusters/db-demo/credentials';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { Type: 1, Status: 200, Title: 'Request successful', Detail: { Message: 'Request: GET', Data: creds } } : { Type: 5, Status: 404, Title: 'Object not found', Detail: { Message: 'cluster not found', Data: 'No data' } }));
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => stub.close(r));
    home.cleanup();
  });

  it('masks passwords, in the table and in json, unless --show-passwords', async () => {
    const env = { MICHMAN_URL: url, XDG_CONFIG_HOME: home.dir };
    const masked = await run(['cluster', 'credentials', '-p', 'demo', 'db-demo'], { env });
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toMatch(/^postgresql\s+postgresql\s+postgres\s+\*{8}\s+127\.0\.0\.5\s+5432\s+postgresql:\/\/postgres:\*{8}@127\.0\.0\.5:5432\/postgres$/m);
    expect(masked.stdout).not.toContain('pw-Secret-1');
    const json = await run(['cluster', 'credentials', '-p', 'demo', 'db-demo', '-o', 'json'], { env });
    expect(json.stdout).not.toContain('pw-Secret-1');
    expect(JSON.parse(json.stdout)[0].User).toBe('postgres');
    const shown = await run(['cluster', 'credentials', '-p', 'demo', 'db-demo', '--show-passwords', '-o', 'json'], { env });
    expect(JSON.parse(shown.stdout)).toEqual(creds);
  }, 120_000);
});
