// An authenticated session: one cached token shared by every call, renewed shortly before it
// expires and again when a service answers 401 (a revoked token), with the endpoint of each
// service taken from the token's catalog for the configured region and interface.
import { send, OpenStackError, type HttpOptions, DEFAULT_HTTP } from '../http.js';
import type { CredentialSource } from '../credentials.js';
import { endpointFor } from './catalog.js';
import { issueToken, type Token } from './tokens.js';

export type ServiceType = 'compute' | 'network' | 'image' | 'block-storage';

/** Nova features used (tags on create, server groups' `policy`, fault details) need this microversion. */
export const COMPUTE_MICROVERSION = '2.79';

/** Renew this long before Keystone's expiry, so a long poll never carries a token that dies midway. */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** A list longer than this many pages is taken for a link loop. */
const MAX_PAGES = 10_000;

export class Session {
  private token: Token | undefined;
  private authenticating: Promise<Token> | undefined;
  private issuedAt = 0;
  private where: { region?: string; iface: string } = { iface: 'public' };
  /** Keystone calls made, for tests that check re-authentication. */
  authCount = 0;

  constructor(
    private readonly credentials: CredentialSource,
    readonly http: HttpOptions = DEFAULT_HTTP,
  ) {}

  private async authenticate(signal?: AbortSignal): Promise<Token> {
    this.authenticating ??= (async () => {
      try {
        const creds = await this.credentials();
        this.authCount++;
        const t = await issueToken(creds, this.http, signal);
        this.where = { region: creds.regionName, iface: creds.interface };
        this.token = t;
        this.issuedAt = Date.now();
        return t;
      } finally {
        this.authenticating = undefined;
      }
    })();
    return this.authenticating;
  }

  private async current(signal?: AbortSignal): Promise<Token> {
    const t = this.token;
    // Half the lifetime when Keystone issues short tokens, so a fresh one is always used at least once.
    if (t && t.expiresAt - Date.now() > Math.min(RENEW_BEFORE_MS, (t.expiresAt - this.issuedAt) / 2)) return t;
    return this.authenticate(signal);
  }

  async projectId(signal?: AbortSignal): Promise<string> {
    return (await this.current(signal)).projectId;
  }

  async endpoint(type: ServiceType, signal?: AbortSignal): Promise<string> {
    return this.endpointIn(await this.current(signal), type);
  }

  private endpointIn(t: Token, type: ServiceType): string {
    const { region, iface } = this.where;
    const url = endpointFor(t.catalog, type, region, iface);
    if (!url) throw new Error(`the service catalog has no ${type} endpoint (region ${region ?? 'any'}, interface ${iface})`);
    // Neutron and Glance register their root; the APIs live under a version prefix.
    if (type === 'network' && !/\/v2\.0$/.test(url)) return `${url}/v2.0`;
    if (type === 'image' && !/\/v2$/.test(url)) return `${url}/v2`;
    return url;
  }

  /** A call to a service; a 401 renews the token once and repeats the call. */
  /**
   * Every item of a paged list: follows `<key>_links` rel=next (Nova's servers_links, Neutron's
   * ports_links, ...) to the last page. The links are absolute; they are followed on the endpoint
   * of the catalog, so a cloud that names its internal host in them still works.
   */
  async requestAll<T>(type: ServiceType, path: string, key: string, o: RequestOptions = {}): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let next: string | undefined = path;
    while (next !== undefined) {
      if (seen.has(next) || seen.size >= MAX_PAGES) throw new Error(`${type} ${path}: the list does not end (page links loop or exceed ${MAX_PAGES} pages)`);
      seen.add(next);
      const page: Record<string, unknown> = await this.request<Record<string, unknown>>(type, 'GET', next, undefined, o);
      const items = page[key];
      if (Array.isArray(items)) out.push(...(items as T[]));
      const links = page[`${key}_links`];
      const href = Array.isArray(links) ? (links as Array<{ rel?: string; href?: string }>).find((l) => l.rel === 'next')?.href : undefined;
      next = href && Array.isArray(items) && items.length > 0 ? await this.relative(type, href, o.signal) : undefined;
    }
    return out;
  }

  /** A link of the cloud's, as a path below the service's catalog endpoint. */
  private async relative(type: ServiceType, href: string, signal?: AbortSignal): Promise<string> {
    const base = new URL(await this.endpoint(type, signal));
    const u = new URL(href, base);
    const basePath = base.pathname.replace(/\/+$/, '');
    const path = u.pathname.startsWith(`${basePath}/`) ? u.pathname.slice(basePath.length) : u.pathname.replace(/^\/v[\d.]+(?=\/)/, '');
    return `${path}${u.search}`;
  }

  async request<T = unknown>(type: ServiceType, method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const t = await this.current(o.signal);
      const base = this.endpointIn(t, type);
      const headers: Record<string, string> = { 'X-Auth-Token': t.value, ...o.headers };
      if (type === 'compute') headers['OpenStack-API-Version'] = `compute ${COMPUTE_MICROVERSION}`;
      try {
        const r = await send<T>({ service: type, method, url: `${base}${path}`, headers, body, signal: o.signal }, this.http);
        return r.body;
      } catch (err) {
        if (err instanceof OpenStackError && err.status === 401 && attempt === 0) {
          if (this.token === t) this.token = undefined;
          continue;
        }
        throw err;
      }
    }
  }
}
