// The client's only way to the server: HTTP with Node's fetch. Every answer is the envelope
// {Type, Status, Title, Detail:{Message, Data}}; a success gives Data, a failure an ApiError with the
// server's own Title and Message, and no answer at all an UnreachableError (exit 3).
import { parseEvents, type ServerEvent } from '../wire/sse.js';
import { ApiError, UnreachableError } from './errors.js';

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** Milliseconds; default 60 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private url(path: string, query: Record<string, string | undefined> = {}): string {
    const u = new URL(this.baseUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': 'michman-cli', ...extra };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  private async send(method: string, path: string, o: RequestOptions, signal: AbortSignal): Promise<Response> {
    const headers = this.headers(o.headers);
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.url(path, o.query), { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal, redirect: 'manual' });
    } catch (err) {
      throw unreachable(this.baseUrl, err);
    }
  }

  /** The envelope's Data of a 2xx (undefined for 204); ApiError otherwise. */
  async request<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const signal = AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const res = await this.send(method, path, o, signal);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw unreachable(this.baseUrl, err);
    }
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      if (res.status === 204) return undefined as T;
      if (!body || typeof body !== 'object' || !('Detail' in body)) throw new UnreachableError(`${this.baseUrl} answered ${method} ${path} with something that is not a Michman API answer (HTTP ${res.status}); is --url right?`);
      return body.Detail?.Data as T;
    }
    if (body && typeof body === 'object' && ('Title' in body || 'Detail' in body)) {
      throw new ApiError(res.status, String(body.Title ?? ''), String(body.Detail?.Message ?? ''));
    }
    if (res.status >= 300 && res.status < 400) throw new ApiError(res.status, 'Redirected', `to ${res.headers.get('location') ?? '?'}; give --url the server's API address`);
    throw new ApiError(res.status, res.statusText || 'Error', text.slice(0, 200).trim());
  }

  get = <T = any>(path: string, query?: Record<string, string | undefined>) => this.request<T>('GET', path, { query });
  post = <T = any>(path: string, body?: unknown, query?: Record<string, string | undefined>) => this.request<T>('POST', path, { body, query });
  put = <T = any>(path: string, body?: unknown, query?: Record<string, string | undefined>) => this.request<T>('PUT', path, { body, query });
  delete = <T = any>(path: string, query?: Record<string, string | undefined>) => this.request<T>('DELETE', path, { query });

  /**
   * A server-sent event stream, resumed with Last-Event-ID when the connection drops, until the
   * server sends `event: end` (its operations ended). Calls onEvent for every event but `end`.
   */
  async stream(path: string, onEvent: (e: ServerEvent) => void | Promise<void>, o: { lastEventId?: string; signal?: AbortSignal; retries?: number } = {}): Promise<string | undefined> {
    let last = o.lastEventId;
    let failures = 0;
    for (;;) {
      const headers = this.headers({ accept: 'text/event-stream', ...(last !== undefined ? { 'last-event-id': last } : {}) });
      let res: Response;
      try {
        res = await fetch(this.url(path), { headers, signal: o.signal, redirect: 'manual' });
      } catch (err) {
        if (o.signal?.aborted) return last;
        if (++failures > (o.retries ?? 5)) throw unreachable(this.baseUrl, err);
        await sleep(Math.min(5_000, 250 * 2 ** failures));
        continue;
      }
      if (res.status !== 200 || !String(res.headers.get('content-type')).includes('text/event-stream')) {
        // The same request without the stream header gives the error envelope.
        await res.body?.cancel();
        await this.get(path, { limit: '1' });
        throw new ApiError(res.status, 'Not an event stream', `${path} answered ${res.headers.get('content-type') ?? 'no content type'}`);
      }
      const events = parseEvents(res.body!);
      for (;;) {
        let next: IteratorResult<ServerEvent>;
        try {
          next = await events.next();
        } catch (err) {
          if (o.signal?.aborted) return last;
          if (++failures > (o.retries ?? 5)) throw unreachable(this.baseUrl, err);
          break;
        }
        if (next.done) break;
        const e = next.value;
        failures = 0;
        if (e.id !== undefined) last = e.id;
        if (e.event === 'end') {
          await events.return(undefined).catch(() => undefined);
          return last;
        }
        // The handler's own errors (an API error while it reads the operation) are the caller's.
        await onEvent(e);
      }
      // Closed without `end` (a proxy's idle timeout, a server restart): resume where it stopped.
      await sleep(Math.min(5_000, 250 * 2 ** failures));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A clear sentence for "no answer", from fetch's TypeError and its cause. */
function unreachable(base: string, err: unknown): UnreachableError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new UnreachableError(`cannot reach the Michman server at ${base}: no answer in time`);
  const code = e.cause?.code;
  const why =
    code === 'ECONNREFUSED' ? 'connection refused (is `michman serve` running there?)'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'unknown host'
    : code === 'ECONNRESET' ? 'connection reset'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route to host'
    : (e.cause?.message ?? e.message);
  return new UnreachableError(`cannot reach the Michman server at ${base}: ${why}; set --url or MICHMAN_URL`);
}
