// A minimal NATS client over a TCP socket, speaking the text protocol (INFO, CONNECT, SUB, PUB,
// MSG, PING/PONG): enough for tests to subscribe on one server and publish on another, without a
// client library.
import { connect, type Socket } from 'node:net';

export interface NatsMessage {
  subject: string;
  sid: string;
  payload: string;
}

export class NatsConnection {
  readonly info: Record<string, unknown>;
  readonly messages: NatsMessage[] = [];
  private buf = Buffer.alloc(0);
  private readonly pongs: Array<(v: void) => void> = [];
  private errors: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly socket: Socket,
    info: Record<string, unknown>,
  ) {
    this.info = info;
  }

  /** Connects, logs in and waits for the server's PONG (so a bad login fails here). */
  static async open(host: string, port: number, creds: { user: string; pass: string }, timeoutMs = 10_000): Promise<NatsConnection> {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    const first = await new Promise<{ info: Record<string, unknown>; rest: Buffer }>((resolve, reject) => {
      let b = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        b = Buffer.concat([b, d]);
        const end = b.indexOf('\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const line = b.subarray(0, end).toString('utf8');
        if (!line.startsWith('INFO ')) return reject(new Error(`unexpected greeting: ${line.slice(0, 80)}`));
        resolve({ info: JSON.parse(line.slice(5)) as Record<string, unknown>, rest: b.subarray(end + 2) });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('timeout', () => reject(new Error(`no INFO from ${host}:${port}`)));
    });
    const c = new NatsConnection(socket, first.info);
    socket.on('data', (d: Buffer) => c.feed(d));
    socket.on('error', (e) => c.errors.push(e.message));
    if (first.rest.length > 0) c.feed(first.rest);
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, name: 'michman-test', user: creds.user, pass: creds.pass })}\r\n`);
    await c.flush(timeoutMs);
    return c;
  }

  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\r\n');
      if (end < 0) break;
      const line = this.buf.subarray(0, end).toString('utf8');
      if (line.startsWith('MSG ')) {
        const parts = line.split(' ');
        const size = Number(parts.at(-1));
        if (this.buf.length < end + 2 + size + 2) break;
        const payload = this.buf.subarray(end + 2, end + 2 + size).toString('utf8');
        this.buf = this.buf.subarray(end + 2 + size + 2);
        this.messages.push({ subject: parts[1]!, sid: parts[2]!, payload });
      } else {
        this.buf = this.buf.subarray(end + 2);
        if (line === 'PING') this.socket.write('PONG\r\n');
        else if (line === 'PONG') this.pongs.shift()?.();
        else if (line.startsWith('-ERR')) this.errors.push(line);
      }
      for (const w of this.waiters) w();
    }
  }

  /** PING and wait for the PONG: everything sent before has been processed by the server. */
  flush(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PONG (${this.errors.join('; ') || 'no error from the server'})`)), timeoutMs);
      const check = () => {
        if (this.errors.length > 0) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(new Error(this.errors.join('; ')));
        }
      };
      this.waiters.add(check);
      this.pongs.push(() => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      });
      this.socket.write('PING\r\n');
    });
  }

  subscribe(subject: string, sid: string): Promise<void> {
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return this.flush();
  }

  publish(subject: string, payload: string): Promise<void> {
    this.socket.write(`PUB ${subject} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`);
    return this.flush();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Subscribes on `to` and publishes on `from` until the subscriber has the message (interest crosses
 * the route a moment after SUB, so the first publications may find no subscriber there yet).
 * Resolves with the payload received; rejects after `tries` publications.
 */
export async function crossNodeMessage(
  from: NatsConnection,
  to: NatsConnection,
  subject: string,
  payload: string,
  tries = 50,
): Promise<NatsMessage> {
  await to.subscribe(subject, subject);
  for (let i = 0; i < tries; i++) {
    await from.publish(subject, payload);
    await to.flush();
    const got = to.messages.find((m) => m.subject === subject && m.payload === payload);
    if (got) return got;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no message on ${subject} after ${tries} publications`);
}
