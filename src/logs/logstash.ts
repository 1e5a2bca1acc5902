// Ships cluster log lines to Logstash's `tcp` input with the `json_lines` codec: one JSON object
// and a newline per line, over one long-lived TCP connection. The worker never waits for Logstash:
// lines are queued (bounded; the oldest are dropped, and counted, when Logstash is away too long),
// written as the socket drains, and the connection is re-opened with a growing delay after an
// error. The database keeps every event anyway; Logstash gets a copy.
import { connect, type Socket } from 'node:net';
import { parseHostPort } from './lines.js';

export interface ShipperLog {
  warn(obj: object, msg: string): void;
}

export class LogstashShipper {
  private readonly host: string;
  private readonly port: number;
  private queue: string[] = [];
  private socket: Socket | undefined;
  private connected = false;
  private retryMs = 500;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private dropped = 0;
  private flushing = false;

  constructor(
    addr: string,
    private readonly o: { log?: ShipperLog; maxQueued?: number } = {},
  ) {
    const hp = parseHostPort(addr);
    if (!hp) throw new Error(`logstash_addr '${addr}' is not host:port`);
    this.host = hp.host;
    this.port = hp.port;
  }

  ship(line: object): void {
    if (this.closed) return;
    this.queue.push(`${JSON.stringify(line)}\n`);
    const max = this.o.maxQueued ?? 100_000;
    if (this.queue.length > max) {
      this.dropped += this.queue.length - max;
      this.queue.splice(0, this.queue.length - max);
    }
    this.flush();
  }

  /** Lines waiting for the connection. */
  get pending(): number {
    return this.queue.length;
  }

  private open(): void {
    if (this.socket || this.closed) return;
    const s = connect({ host: this.host, port: this.port });
    this.socket = s;
    s.setKeepAlive(true, 30_000);
    s.on('connect', () => {
      this.connected = true;
      this.retryMs = 500;
      if (this.dropped > 0) {
        this.o.log?.warn({ dropped: this.dropped }, `logstash ${this.host}:${this.port}: ${this.dropped} cluster log line(s) dropped while it was unreachable`);
        this.dropped = 0;
      }
      this.flush();
    });
    s.on('data', () => undefined);
    s.on('error', (err) => this.o.log?.warn({ err: err.message }, `logstash ${this.host}:${this.port}: ${err.message}`));
    s.on('close', () => {
      this.socket = undefined;
      this.connected = false;
      if (this.closed || this.queue.length === 0) return;
      this.timer = setTimeout(() => ((this.timer = undefined), this.open()), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(this.retryMs * 2, 30_000);
    });
  }

  private flush(): void {
    if (!this.connected) {
      if (!this.timer) this.open();
      return;
    }
    if (this.flushing) return;
    const s = this.socket!;
    this.flushing = true;
    // A line leaves the queue only when the socket accepted it; a write cut short by an error is
    // lost with the connection (at most what the kernel buffered).
    while (this.queue.length > 0) {
      const chunk = this.queue.splice(0, 500).join('');
      if (!s.write(chunk)) {
        s.once('drain', () => ((this.flushing = false), this.flush()));
        return;
      }
    }
    this.flushing = false;
  }

  /** Writes what is queued (waiting up to `timeoutMs` for Logstash), then closes the connection. */
  async close(timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.socket;
    if (s) await new Promise<void>((r) => s.end(() => r()));
  }
}
