// A minimal CQL native protocol (v4) client for health checks and the superuser's password: STARTUP,
// a PLAIN SASL login, and statements whose results are read as text columns. node:net only, hard
// timeouts; the password goes over the socket only and never into an error message.
import { connect, type Socket } from 'node:net';

const OP = { ERROR: 0x00, STARTUP: 0x01, READY: 0x02, AUTHENTICATE: 0x03, QUERY: 0x07, RESULT: 0x08, AUTH_RESPONSE: 0x0f, AUTH_SUCCESS: 0x10 } as const;
/** The server's error code for a refused login. */
export const CQL_BAD_CREDENTIALS = 0x0100;

export class CqlError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const shortString = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  const h = Buffer.alloc(2);
  h.writeUInt16BE(b.length);
  return Buffer.concat([h, b]);
};

export class CqlSession {
  private buf = Buffer.alloc(0);
  private waiting: Array<(f: { op: number; body: Buffer }) => void> = [];
  private failure: Error | undefined;
  private stream = 0;

  private constructor(
    private readonly sock: Socket,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 9) {
        const n = this.buf.readInt32BE(5);
        if (this.buf.length < 9 + n) break;
        const frame = { op: this.buf[4]!, body: this.buf.subarray(9, 9 + n) };
        this.buf = this.buf.subarray(9 + n);
        this.waiting.shift()?.(frame);
      }
    });
    sock.on('error', (e) => (this.failure = e));
  }

  /** Connects and logs in (when the server asks for it) as `user`. */
  static async open(host: string, port: number, user: string, password: string, timeoutMs = 10_000): Promise<CqlSession> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const c = new CqlSession(sock, timeoutMs);
    try {
      const opts = Buffer.concat([Buffer.from([0, 1]), shortString('CQL_VERSION'), shortString('3.0.0')]);
      let f = await c.request(OP.STARTUP, opts);
      if (f.op === OP.AUTHENTICATE) {
        const token = Buffer.concat([Buffer.from([0]), Buffer.from(user, 'utf8'), Buffer.from([0]), Buffer.from(password, 'utf8')]);
        const len = Buffer.alloc(4);
        len.writeInt32BE(token.length);
        f = await c.request(OP.AUTH_RESPONSE, Buffer.concat([len, token]));
        if (f.op !== OP.AUTH_SUCCESS) throw c.error(f, `login as ${user}`);
      } else if (f.op !== OP.READY) throw c.error(f, 'STARTUP');
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Runs one statement at consistency ONE (or `consistency`); the rows of a SELECT as text columns. */
  async query(statement: string, consistency = 0x0001): Promise<string[][]> {
    const q = Buffer.from(statement, 'utf8');
    const head = Buffer.alloc(4);
    head.writeInt32BE(q.length);
    const tail = Buffer.alloc(3);
    tail.writeUInt16BE(consistency);
    const f = await this.request(OP.QUERY, Buffer.concat([head, q, tail]));
    if (f.op !== OP.RESULT) throw this.error(f, statement.split(' ')[0] ?? 'query');
    return rowsOf(f.body);
  }

  close(): void {
    this.sock.destroy();
  }

  private request(op: number, body: Buffer): Promise<{ op: number; body: Buffer }> {
    if (this.failure) return Promise.reject(this.failure);
    this.stream = (this.stream + 1) % 32768;
    const h = Buffer.alloc(9);
    h.writeUInt8(4, 0);
    h.writeInt16BE(this.stream, 2);
    h.writeUInt8(op, 4);
    h.writeInt32BE(body.length, 5);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CQL answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.sock.once('close', () => reject(this.failure ?? new Error('connection closed by the server')));
      this.waiting.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
      this.sock.write(Buffer.concat([h, body]));
    });
  }

  private error(f: { op: number; body: Buffer }, what: string): Error {
    if (f.op !== OP.ERROR) return new Error(`${what}: unexpected answer (opcode ${f.op})`);
    const code = f.body.readInt32BE(0);
    const n = f.body.readUInt16BE(4);
    return new CqlError(`${what}: ${f.body.subarray(6, 6 + n).toString('utf8')}`, code);
  }
}

/** Rows of a RESULT Rows body, every cell as UTF-8 text (enough for text, ascii and inet-free checks). */
function rowsOf(b: Buffer): string[][] {
  if (b.readInt32BE(0) !== 2) return [];
  let p = 4;
  const flags = b.readInt32BE(p);
  const cols = b.readInt32BE(p + 4);
  p += 8;
  if (flags & 2) p += 4 + Math.max(b.readInt32BE(p), 0);
  const str = () => {
    const n = b.readUInt16BE(p);
    p += 2 + n;
  };
  if (flags & 1) (str(), str());
  const type = (): void => {
    const t = b.readUInt16BE(p);
    p += 2;
    if (t === 0x00) str();
    else if (t === 0x20 || t === 0x22) type();
    else if (t === 0x21) (type(), type());
    else if (t === 0x31) {
      const n = b.readUInt16BE(p);
      p += 2;
      for (let i = 0; i < n; i++) type();
    } else if (t === 0x30) {
      str(), str();
      const n = b.readUInt16BE(p);
      p += 2;
      for (let i = 0; i < n; i++) (str(), type());
    }
  };
  if (!(flags & 4)) {
    for (let i = 0; i < cols; i++) {
      if (!(flags & 1)) (str(), str());
      str();
      type();
    }
  }
  const count = b.readInt32BE(p);
  p += 4;
  const rows: string[][] = [];
  for (let r = 0; r < count; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) {
      const n = b.readInt32BE(p);
      p += 4;
      row.push(n < 0 ? '' : b.subarray(p, p + n).toString('utf8'));
      p += Math.max(n, 0);
    }
    rows.push(row);
  }
  return rows;
}

/** A CQL string literal. */
export const cqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
