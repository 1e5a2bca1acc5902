// A Vault-protocol fake on 127.0.0.1: token auth (X-Vault-Token, 403 "permission denied" otherwise),
// a KV v1 mount `secret/` and a KV v2 mount `kv/` (data/ and metadata/ paths, nested data,
// versions). Enough of Vault's HTTP API for the secret store; no Vault server runs on this machine.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVault {
  addr: string;
  token: string;
  /** Every request seen: method, path and the token it carried. */
  seen: { method: string; path: string; token: string | undefined }[];
  v1: Map<string, Record<string, unknown>>;
  v2: Map<string, { versions: Record<string, unknown>[] }>;
  close(): Promise<void>;
}

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString()));
    req.on('end', () => resolve(s));
  });

export async function startFakeVault(token = 'hvs.test-root-token-0123456789'): Promise<FakeVault> {
  const v1 = new Map<string, Record<string, unknown>>();
  const v2 = new Map<string, { versions: Record<string, unknown>[] }>();
  const seen: FakeVault['seen'] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const t = req.headers['x-vault-token'];
    seen.push({ method: req.method ?? '', path: url.pathname, token: typeof t === 'string' ? t : undefined });
    const send = (status: number, json?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(json === undefined ? '' : JSON.stringify(json));
    };
    if (t !== token) return send(403, { errors: ['permission denied'] });
    const text = await body(req);
    const m1 = /^\/v1\/secret\/(.+)$/.exec(url.pathname);
    const m2 = /^\/v1\/kv\/(data|metadata)\/(.+)$/.exec(url.pathname);
    if (m1) {
      const key = m1[1]!;
      if (req.method === 'GET') return v1.has(key) ? send(200, { request_id: 'r', lease_duration: 2764800, data: v1.get(key) }) : send(404, { errors: [] });
      if (req.method === 'POST' || req.method === 'PUT') {
        v1.set(key, JSON.parse(text) as Record<string, unknown>);
        return send(204);
      }
      if (req.method === 'DELETE') {
        v1.delete(key);
        return send(204);
      }
    }
    if (m2) {
      const [, part, key] = m2 as unknown as [string, string, string];
      const entry = v2.get(key);
      if (part === 'data' && req.method === 'GET') {
        if (!entry) return send(404, { errors: [] });
        const version = entry.versions.length;
        return send(200, { data: { data: entry.versions[version - 1], metadata: { version, created_time: new Date().toISOString(), deletion_time: '', destroyed: false } } });
      }
      if (part === 'data' && (req.method === 'POST' || req.method === 'PUT')) {
        const { data } = JSON.parse(text) as { data?: Record<string, unknown> };
        if (!data) return send(400, { errors: ['no data provided'] });
        const e = entry ?? { versions: [] };
        e.versions.push(data);
        v2.set(key, e);
        return send(200, { data: { version: e.versions.length } });
      }
      if (part === 'metadata' && req.method === 'DELETE') {
        v2.delete(key);
        return send(204);
      }
    }
    send(404, { errors: [] });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    addr: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    seen,
    v1,
    v2,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
