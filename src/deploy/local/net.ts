// Small protocol clients for health checks: a TCP probe, HTTP GET, Redis RESP and the NATS client
// handshake, all over node:net / node:http with hard timeouts. Passwords go over the socket only.
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';

export { portOpen } from '../../host/net.js';

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 3000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A line-oriented conversation: connect, then hand every received chunk to `onData` until it settles. */
function converse<T>(
  host: string,
  port: number,
  timeoutMs: number,
  start: (s: Socket) => void,
  onData: (buffered: string, s: Socket) => { done: true; value: T } | { done: false },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, v?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(v as T);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    s.once('connect', () => start(s));
    s.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      if (buf.length > 1024 * 1024) return finish(new Error('answer too long'));
      try {
        const r = onData(buf, s);
        if (r.done) finish(undefined, r.value);
      } catch (e) {
        finish(e as Error);
      }
    });
    s.once('error', (e) => finish(e));
    s.once('close', () => finish(new Error('connection closed by the server')));
  });
}

function respCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Splits complete RESP replies (simple strings, errors, integers, bulk strings) off a buffer. */
function respReplies(buf: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const line = buf.slice(i, eol);
    if (line.startsWith('$')) {
      const n = Number(line.slice(1));
      if (n < 0) {
        out.push('(nil)');
        i = eol + 2;
        continue;
      }
      // Lengths are bytes; health replies are ASCII, so characters are bytes here.
      if (buf.length < eol + 2 + n + 2) break;
      out.push(buf.slice(eol + 2, eol + 2 + n));
      i = eol + 2 + n + 2;
    } else {
      out.push(line);
      i = eol + 2;
    }
  }
  return out;
}

/** Sends commands to Redis in one pipeline and returns one reply line per command. */
export function redisCommands(host: string, port: number, commands: string[][], timeoutMs = 3000): Promise<string[]> {
  return converse<string[]>(
    host,
    port,
    timeoutMs,
    (s) => s.write(commands.map(respCommand).join('')),
    (buf) => {
      const replies = respReplies(buf);
      return replies.length >= commands.length ? { done: true, value: replies.slice(0, commands.length) } : { done: false };
    },
  );
}

/**
 * The NATS client handshake: read INFO, send CONNECT with the credentials and PING, expect PONG.
 * Returns the server's answer line (PONG or -ERR ...) and the INFO it sent.
 */
export function natsPing(
  host: string,
  port: number,
  creds: { user: string; pass: string } | undefined,
  timeoutMs = 3000,
): Promise<{ answer: string; info: Record<string, unknown> }> {
  let info: Record<string, unknown> | undefined;
  return converse<{ answer: string; info: Record<string, unknown> }>(
    host,
    port,
    timeoutMs,
    () => undefined,
    (buf, s) => {
      const lines = buf.split('\r\n');
      if (!info) {
        const first = lines[0];
        if (first === undefined || lines.length < 2) return { done: false };
        if (!first.startsWith('INFO ')) throw new Error(`unexpected greeting: ${first.slice(0, 80)}`);
        info = JSON.parse(first.slice(5)) as Record<string, unknown>;
        const connectOpts = { verbose: false, pedantic: false, protocol: 1, name: 'michman-health', ...(creds ?? {}) };
        s.write(`CONNECT ${JSON.stringify(connectOpts)}\r\nPING\r\n`);
      }
      for (const l of lines.slice(1, -1)) {
        if (l === 'PONG' || l.startsWith('-ERR')) return { done: true, value: { answer: l, info } };
      }
      return { done: false };
    },
  );
}
