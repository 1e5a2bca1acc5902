// A minimal WebSocket client (RFC 6455) over a TCP socket, for tests that talk to a server's
// websocket API (Jupyter's kernel channels) without a client library: Node 20 has no WebSocket
// without a flag. Text frames only; answers pings; client frames masked as the RFC requires.
import { connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export class WebSocketClient {
  private buf = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private readonly listeners = new Set<(text: string) => void>();
  closed = false;

  private constructor(private readonly socket: Socket) {}

  /** Opens ws://host:port/path with extra request headers (e.g. Authorization). */
  static open(host: string, port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<WebSocketClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const key = randomBytes(16).toString('base64');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`websocket ${host}:${port}${path}: no upgrade within ${timeoutMs} ms`));
      }, timeoutMs);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        if (!/^HTTP\/1\.1 101/.test(lines[0] ?? '')) {
          socket.destroy();
          return reject(new Error(`websocket ${path}: ${lines[0]}`));
        }
        const accept = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-accept:'))?.split(':')[1]?.trim();
        const want = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (accept !== want) {
          socket.destroy();
          return reject(new Error(`websocket ${path}: bad Sec-WebSocket-Accept`));
        }
        const ws = new WebSocketClient(socket);
        socket.on('data', (x: Buffer) => ws.feed(x));
        socket.on('close', () => (ws.closed = true));
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.feed(rest);
        resolve(ws);
      };
      socket.on('data', onData);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
  }

  private feed(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const fin = (this.buf[0]! & 0x80) !== 0;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 0x9) this.frame(0xa, payload);
      else if (opcode === 0x8) this.socket.end();
      else if (opcode === 0x1 || opcode === 0x0) {
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          for (const l of this.listeners) l(text);
        }
      }
    }
  }

  private frame(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (len >= 126 && len < 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else if (len >= 65536) {
      head[0] = 0x80 | opcode;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  send(text: string): void {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  /** Resolves with the first text message `accept` returns a value for. */
  waitFor<T>(accept: (text: string) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no matching websocket message within ${timeoutMs} ms`));
      }, timeoutMs);
      const l = (text: string) => {
        const v = accept(text);
        if (v === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(v);
      };
      this.listeners.add(l);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
