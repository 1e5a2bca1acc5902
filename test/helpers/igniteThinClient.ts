// The least of Apache Ignite's binary thin-client protocol (port 10800) a test needs: handshake
// (protocol 1.1.0), get-or-create a cache by name, put and get a string value by string key. The
// npm client (apache-ignite-client) is unmaintained since 2019; this is ~100 lines of the documented
// wire format: little-endian frames `int32 length, int16 op, int64 request id, payload`, answers
// `int32 length, int64 request id, int32 status, payload`.
import { connect, type Socket } from 'node:net';

const OP_CACHE_GET = 1000;
const OP_CACHE_PUT = 1001;
const OP_CACHE_GET_OR_CREATE_WITH_NAME = 1052;
const TYPE_STRING = 9;
const TYPE_NULL = 101;

/** Java's String.hashCode: the cache ID of a cache name. */
export function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(5);
  head.writeInt8(TYPE_STRING, 0);
  head.writeInt32LE(b.length, 1);
  return Buffer.concat([head, b]);
}

export class IgniteThinClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<(frame: Buffer) => void> = [];
  private nextId = 1n;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 4) {
        const len = this.buf.readInt32LE(0);
        if (this.buf.length < 4 + len) break;
        const frame = this.buf.subarray(4, 4 + len);
        this.buf = this.buf.subarray(4 + len);
        this.waiters.shift()?.(frame);
      }
    });
  }

  private next(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('ignite thin client: no answer within 30 s')), 30_000);
      this.waiters.push((f) => (clearTimeout(t), resolve(f)));
    });
  }

  static async connect(host: string, port = 10800): Promise<IgniteThinClient> {
    const sock = connect({ host, port });
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    const c = new IgniteThinClient(sock);
    const hs = Buffer.alloc(12);
    hs.writeInt32LE(8, 0);
    hs.writeInt8(1, 4); // handshake
    hs.writeInt16LE(1, 5); // 1.1.0
    hs.writeInt16LE(1, 7);
    hs.writeInt16LE(0, 9);
    hs.writeInt8(2, 11); // thin client
    const answer = c.next();
    sock.write(hs);
    const f = await answer;
    if (f.readInt8(0) !== 1) throw new Error(`ignite handshake refused: ${f.toString('utf8', 1)}`);
    return c;
  }

  private async request(op: number, payload: Buffer): Promise<Buffer> {
    const id = this.nextId++;
    const head = Buffer.alloc(14);
    head.writeInt32LE(10 + payload.length, 0);
    head.writeInt16LE(op, 4);
    head.writeBigInt64LE(id, 6);
    const answer = this.next();
    this.sock.write(Buffer.concat([head, payload]));
    const f = await answer;
    if (f.readBigInt64LE(0) !== id) throw new Error('ignite thin client: answer to another request');
    const status = f.readInt32LE(8);
    if (status !== 0) {
      const msg = f.length > 17 && f.readInt8(12) === TYPE_STRING ? f.toString('utf8', 17, 17 + f.readInt32LE(13)) : '';
      throw new Error(`ignite op ${op} failed with status ${status}: ${msg}`);
    }
    return f.subarray(12);
  }

  private cacheHead(cache: string): Buffer {
    const b = Buffer.alloc(5);
    b.writeInt32LE(javaHash(cache), 0);
    b.writeInt8(0, 4);
    return b;
  }

  async getOrCreateCache(name: string): Promise<void> {
    await this.request(OP_CACHE_GET_OR_CREATE_WITH_NAME, str(name));
  }

  async put(cache: string, key: string, value: string): Promise<void> {
    await this.request(OP_CACHE_PUT, Buffer.concat([this.cacheHead(cache), str(key), str(value)]));
  }

  async get(cache: string, key: string): Promise<string | null> {
    const p = await this.request(OP_CACHE_GET, Buffer.concat([this.cacheHead(cache), str(key)]));
    const type = p.readInt8(0);
    if (type === TYPE_NULL) return null;
    if (type !== TYPE_STRING) throw new Error(`ignite get: a value of type ${type}, not a string`);
    return p.toString('utf8', 5, 5 + p.readInt32LE(1));
  }

  close(): void {
    this.sock.destroy();
  }
}
