// One HTTP call to an OpenStack API: JSON in and out, a timeout on every call, transient failures
// (5xx, 429, connection resets, timeouts) retried with backoff. Errors name the service, method,
// path and OpenStack's own message, never a header or a request body (they may hold secrets).

export class OpenStackError extends Error {
  constructor(
    readonly status: number,
    readonly service: string,
    readonly method: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${service} ${method} ${path}: ${status === 0 ? '' : `HTTP ${status}: `}${detail}`);
  }
  get notFound() {
    return this.status === 404;
  }
  get conflict() {
    return this.status === 409;
  }
}

export interface HttpOptions {
  /** Milliseconds one attempt may take. */
  timeoutMs: number;
  /** Attempts for a transient failure (1 = no retry). */
  attempts: number;
  /** First retry delay; doubles each time. */
  backoffMs: number;
}

export const DEFAULT_HTTP: HttpOptions = { timeoutMs: 30_000, attempts: 4, backoffMs: 500 };

export interface Call {
  service: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export { sleep } from '../../host/sleep.js';
import { sleep } from '../../host/sleep.js';

/** The longest Retry-After honoured: a cloud asking for more is treated as asking for a minute. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait before repeating a refused call: the Retry-After the cloud sent (seconds or an
 * HTTP date, capped at a minute), else `fallbackMs` (the client's backoff).
 */
export function retryDelayMs(headers: Headers, fallbackMs: number): number {
  const v = headers.get('retry-after')?.trim();
  if (!v) return fallbackMs;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return fallbackMs;
    ms = Math.max(0, at - Date.now());
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

const transientStatus = (s: number) => s === 429 || s === 502 || s === 503 || s === 504 || s === 500;

/** OpenStack services wrap their messages differently; take the first human text found. */
export function errorText(body: unknown, fallback: string): string {
  if (typeof body === 'string') return body.slice(0, 300) || fallback;
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
    if (o.NeutronError && typeof o.NeutronError === 'object') return String((o.NeutronError as { message?: string }).message ?? fallback);
    if (o.error && typeof o.error === 'object') return String((o.error as { message?: string }).message ?? fallback);
    for (const v of Object.values(o)) if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return (v as { message: string }).message;
  }
  return fallback;
}

const pathOf = (url: string) => {
  try {
    const u = new URL(url);
    return u.pathname;
  } catch {
    return url;
  }
};

/**
 * Sends the call; retries transient failures. POST is retried only when the request surely did not
 * reach the server (connection refused): a retried create could otherwise duplicate, and the
 * provider's find-by-name-and-tag handles the rest on the step's next attempt.
 */
export async function send<T = unknown>(c: Call, o: HttpOptions = DEFAULT_HTTP): Promise<Reply<T>> {
  const path = pathOf(c.url);
  let last: OpenStackError | undefined;
  for (let attempt = 1; attempt <= Math.max(1, o.attempts); attempt++) {
    if (c.signal?.aborted) throw c.signal.reason;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), o.timeoutMs);
    const onAbort = () => timeout.abort(c.signal!.reason);
    c.signal?.addEventListener('abort', onAbort, { once: true });
    let status = 0;
    let headers = new Headers();
    let body: unknown;
    try {
      const res = await fetch(c.url, {
        method: c.method,
        headers: { Accept: 'application/json', ...(c.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...c.headers },
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        signal: timeout.signal,
      });
      const text = await res.text();
      status = res.status;
      headers = res.headers;
      body = text;
      if (text && (res.headers.get('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
    } catch (err) {
      if (c.signal?.aborted) throw c.signal.reason;
      const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
      last = new OpenStackError(
        0,
        c.service,
        c.method,
        path,
        timeout.signal.aborted ? `no answer within ${Math.round(o.timeoutMs / 1000)} s` : `connection failed (${code || (err as Error).message})`,
      );
      // A POST that may have reached the server is not repeated here (see above).
      if (c.method === 'POST' && code !== 'ECONNREFUSED') throw last;
    } finally {
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
    }
    if (status >= 200 && status < 300) return { status, headers, body: body as T };
    if (status !== 0) {
      last = new OpenStackError(status, c.service, c.method, path, errorText(body, `HTTP ${status}`));
      // 503/429 mean "not processed": safe to repeat even for POST.
      const retry = c.method === 'POST' ? status === 503 || status === 429 : transientStatus(status);
      if (!retry) throw last;
    }
    const backoff = o.backoffMs * 2 ** (attempt - 1);
    if (attempt < o.attempts) await sleep(status === 429 || status === 503 ? retryDelayMs(headers, backoff) : backoff, c.signal);
  }
  throw last!;
}

/** Polls `probe` with exponential backoff (capped) until it returns a value; bounded by the signal and maxMs. */
export async function poll<T>(what: string, probe: () => Promise<T | undefined>, o: { signal: AbortSignal; firstMs?: number; maxDelayMs?: number; maxMs?: number }): Promise<T> {
  const started = Date.now();
  let delay = o.firstMs ?? 500;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - started > (o.maxMs ?? 30 * 60_000)) throw new Error(`${what}: still waiting after ${Math.round((Date.now() - started) / 1000)} s`);
    await sleep(delay, o.signal);
    delay = Math.min(delay * 1.5, o.maxDelayMs ?? 5_000);
  }
}
