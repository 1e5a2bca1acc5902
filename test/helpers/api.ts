// An API under test: the real Fastify server on a fresh store, driven through inject() (the full
// HTTP pipeline: routing, parsing, validation, serialisation) without opening a port.
import { describe, beforeAll, afterAll } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/api/server.js';
import type { Store } from '../../src/store/store.js';
import { backends, type Backend, type OpenedStore } from './stores.js';
import { MemorySecretStore } from '../../src/secrets/memory.js';

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined for an empty body). */
  body: T;
  /** The envelope's Detail.Data, for brevity. */
  data: any;
  /** The envelope's Detail.Message. */
  message: string;
  raw: string;
}

export class Api {
  constructor(
    readonly app: FastifyInstance,
    readonly store: Store,
    /** The API's secret store: give it to a worker that deploys the clusters made here. */
    readonly secrets = new MemorySecretStore(),
  ) {}

  async request(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const res = await this.app.inject({
      method: method as 'GET',
      url,
      payload,
      headers: payload !== undefined && !headers['content-type'] ? { 'content-type': 'application/json', ...headers } : headers,
    });
    let parsed: any;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      parsed = undefined;
    }
    return {
      status: res.statusCode,
      headers: res.headers as Reply['headers'],
      body: parsed,
      data: parsed?.Detail?.Data,
      message: parsed?.Detail?.Message,
      raw: res.body,
    };
  }
  get = (url: string) => this.request('GET', url);
  post = (url: string, body?: unknown) => this.request('POST', url, body);
  put = (url: string, body?: unknown) => this.request('PUT', url, body);
  delete = (url: string) => this.request('DELETE', url);
}

export async function openApi(backend: Backend): Promise<{ api: Api; close(): Promise<void>; opened: OpenedStore }> {
  const opened = await backend.open();
  const secrets = new MemorySecretStore();
  const app = await buildServer({ store: opened.store, logger: false, secrets });
  return {
    api: new Api(app, opened.store, secrets),
    opened,
    async close() {
      await app.close();
      await opened.cleanup();
    },
  };
}

/**
 * Declares `fn`'s tests once per configured backend, each on its own fresh database.
 * `ctx.api` is valid inside tests (set in beforeAll).
 */
export function describeEachStore(title: string, fn: (ctx: { api: Api; backend: Backend }) => void): void {
  for (const backend of backends()) {
    describe(`${title} [${backend.name}]`, () => {
      const ctx = { backend } as { api: Api; backend: Backend };
      let close: () => Promise<void>;
      beforeAll(async () => {
        const o = await openApi(backend);
        ctx.api = o.api;
        close = o.close;
      });
      afterAll(async () => {
        await close?.();
      });
      fn(ctx);
    });
  }
}

// Fixtures used by several suites.
export const image = (name = 'ubuntu') => ({ Name: name, AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' });
export const flavor = (name = 'small') => ({ Name: name, VCPUs: 2, RAM: 4096, Disk: 20 });
export const project = (displayName: string, img = 'ubuntu', fl = 'small') => ({
  DisplayName: displayName,
  GroupID: 'researchers',
  Description: 'a project',
  DefaultImage: img,
  DefaultMasterFlavor: fl,
  DefaultSlavesFlavor: fl,
  DefaultStorageFlavor: fl,
  DefaultMonitoringFlavor: fl,
});
