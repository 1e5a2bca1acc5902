// A fake OpenStack on 127.0.0.1 (ephemeral port): the subsets of Keystone v3, Nova, Neutron,
// Glance and Cinder the provider uses, with the real services' shapes, status codes and
// microversion header, plus knobs for the error paths: injected HTTP failures and hangs, revoked
// tokens, quotas, servers that boot into ERROR with a fault. No vitest here: bench/ may import it.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeServer {
  id: string;
  name: string;
  status: string;
  metadata: Record<string, string>;
  tags: string[];
  flavorId: string;
  imageId: string;
  portId: string;
  keyName?: string;
  group?: string;
  readyAt: number;
  goneAt?: number;
  fault?: { message: string; code: number };
}
export interface FakePort {
  id: string;
  name: string;
  description: string;
  network_id: string;
  device_id: string;
  tags: string[];
  fixed_ips: Array<{ ip_address: string }>;
  security_groups: string[];
}
export interface FakeFip {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  description: string;
  tags: string[];
}
export interface FakeRule {
  id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}
export interface FakeSg {
  id: string;
  name: string;
  description: string;
  tags: string[];
  rules: FakeRule[];
}
export interface FakeVolume {
  id: string;
  name: string;
  size: number;
  status: string;
  metadata: Record<string, string>;
  attachments: Array<{ server_id: string }>;
}

export interface Fault {
  method?: string;
  /** Matched against the path after the service prefix, e.g. /servers or /v3/auth/tokens. */
  path: RegExp;
  /** HTTP status to answer with; 0 = destroy the connection (a reset). */
  status?: number;
  /** Hold the request this long before answering (a timeout when longer than the client waits). */
  delayMs?: number;
  /** How many matching requests it hits. */
  times: number;
  message?: string;
  /** Retry-After header (seconds) sent with the status. */
  retryAfter?: number;
}

export const PROJECT_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const PASSWORD = 'fake-password-s3cret';
const APP_CRED_ID = 'appcred-1';
const APP_CRED_SECRET = 'appcred-s3cret';

export class FakeOpenStack {
  url = '';
  private http: HttpServer | undefined;
  readonly tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  readonly flavors = [
    { id: '1', name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1 },
    { id: '2', name: 'm1.small', vcpus: 2, ram: 2048, disk: 20 },
  ];
  readonly images = [{ id: '0b3c0c6e-0000-4000-8000-000000000001', name: 'cirros', status: 'active' }];
  readonly networks = [
    { id: '6d0a6a7e-0000-4000-8000-000000000001', name: 'private', 'router:external': false },
    { id: '6d0a6a7e-0000-4000-8000-000000000002', name: 'public', 'router:external': true },
  ];
  readonly servers = new Map<string, FakeServer>();
  readonly ports = new Map<string, FakePort>();
  readonly fips = new Map<string, FakeFip>();
  readonly sgs = new Map<string, FakeSg>();
  readonly volumes = new Map<string, FakeVolume>();
  readonly serverGroups = new Map<string, { id: string; name: string; policy: string }>();
  readonly keypairs = new Map<string, { name: string; public_key: string }>();
  /** POST /servers accepted, per server name: duplicates show here. */
  readonly serverCreates = new Map<string, number>();
  readonly requests: Array<{ method: string; path: string; status: number; headers: Record<string, string | string[] | undefined>; body: string }> = [];
  faults: Fault[] = [];
  /** Server name → fault message: that server goes to ERROR instead of ACTIVE. */
  readonly bootErrors = new Map<string, string>();
  bootMs = 30;
  deleteMs = 20;
  tokenLifetimeMs = 3600_000;
  limits = { instances: 100, cores: 200, ram: 512_000, floatingip: 50, security_group: 10, port: 500, volumes: 10, gigabytes: 1000 };
  authCount = 0;
  private ip = 10;
  /** First two octets of fixed IPs (tests of SSH reachability use 127.0, i.e. loopback). */
  fixedPrefix = '10.0';
  /**
   * The most items one list answer holds (Nova's max_limit, Neutron's pagination_max_limit); more
   * follow through the `<kind>_links` next link with a marker. Infinity = one page.
   */
  pageSize = Infinity;

  /** One page of `items` after `?marker=`, at most `?limit=` or pageSize, with the next link. */
  private page<T extends { id: string }>(kind: string, base: string, q: URLSearchParams, items: T[]): Record<string, unknown> {
    const marker = q.get('marker');
    const start = marker ? items.findIndex((x) => x.id === marker) + 1 : 0;
    const limit = Math.min(Number(q.get('limit') ?? Infinity) || Infinity, this.pageSize);
    const out = items.slice(start, start + limit);
    const more = start + limit < items.length;
    if (!more) return { [kind]: out };
    const next = new URLSearchParams(q);
    next.set('marker', out[out.length - 1]!.id);
    next.set('limit', String(limit));
    return { [kind]: out, [`${kind}_links`]: [{ rel: 'next', href: `${this.url}${base}?${next.toString()}` }] };
  }

  async start(): Promise<this> {
    this.http = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.http!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.http?.closeAllConnections();
    await new Promise<void>((r) => this.http?.close(() => r()) ?? r());
  }

  /** A clouds.yaml `auth` block for this fake. */
  auth(kind: 'password' | 'application_credential' = 'password') {
    return kind === 'password'
      ? { auth_url: `${this.url}/identity/v3`, username: 'admin', password: PASSWORD, project_name: 'admin', user_domain_name: 'Default', project_domain_name: 'Default' }
      : { auth_url: `${this.url}/identity/v3`, application_credential_id: APP_CRED_ID, application_credential_secret: APP_CRED_SECRET };
  }
  readonly secrets = [PASSWORD, APP_CRED_SECRET];

  revokeAllTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  /** Everything tagged (or named, or with metadata) for the cluster. */
  taggedWith(clusterId: string): string[] {
    const tag = `michman-cluster-${clusterId}`;
    const out: string[] = [];
    for (const s of this.live()) if (s.tags.includes(tag) || s.metadata.michman_cluster === clusterId) out.push(`server ${s.name}`);
    for (const p of this.ports.values()) if (p.tags.includes(tag)) out.push(`port ${p.name}`);
    for (const f of this.fips.values()) if (f.tags.includes(tag)) out.push(`fip ${f.floating_ip_address}`);
    for (const g of this.sgs.values()) if (g.tags.includes(tag) || g.name.endsWith(clusterId)) out.push(`sg ${g.name}`);
    for (const v of this.volumes.values()) if (v.metadata.michman_cluster === clusterId) out.push(`volume ${v.name}`);
    for (const g of this.serverGroups.values()) if (g.name.endsWith(clusterId)) out.push(`server group ${g.name}`);
    for (const k of this.keypairs.values()) if (k.name.endsWith(clusterId)) out.push(`keypair ${k.name}`);
    return out;
  }

  live(): FakeServer[] {
    const now = Date.now();
    for (const [id, s] of this.servers) if (s.goneAt !== undefined && now >= s.goneAt) this.gone(id);
    return [...this.servers.values()];
  }

  private gone(id: string) {
    const s = this.servers.get(id)!;
    this.servers.delete(id);
    const p = this.ports.get(s.portId);
    if (p) p.device_id = '';
    for (const v of this.volumes.values()) if (v.attachments.some((a) => a.server_id === id)) (v.attachments = []), (v.status = 'available');
  }

  private serverView(s: FakeServer) {
    const now = Date.now();
    let status = s.status;
    if (status === 'BUILD' && now >= s.readyAt) {
      const err = this.bootErrors.get(s.name);
      if (err) (s.status = 'ERROR'), (s.fault = { message: err, code: 500 });
      else s.status = 'ACTIVE';
      status = s.status;
    }
    const port = this.ports.get(s.portId);
    return {
      id: s.id,
      name: s.name,
      status,
      metadata: s.metadata,
      tags: s.tags,
      flavor: { original_name: this.flavors.find((f) => f.id === s.flavorId)?.name },
      image: { id: s.imageId },
      key_name: s.keyName ?? null,
      // Nova's cached network info: fixed addresses only (no notifications for floating IPs).
      addresses: status === 'ACTIVE' && port ? { private: port.fixed_ips.map((i) => ({ addr: i.ip_address, version: 4, 'OS-EXT-IPS:type': 'fixed' })) } : {},
      ...(s.fault ? { fault: s.fault } : {}),
    };
  }

  private nextIp(prefix: string) {
    this.ip += 1;
    return `${prefix}.${Math.floor(this.ip / 250)}.${(this.ip % 250) + 2}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const m = /^\/(identity|compute|network|image|volume)(\/.*)$/.exec(url.pathname);
    const record = (status: number) => this.requests.push({ method, path: url.pathname + url.search, status, headers: req.headers, body: raw });
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record(status);
      res.writeHead(status, { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (!m) return send(404, { message: 'not found' });
    const [, service, rest] = m as unknown as [string, string, string];
    const path = rest.replace(/^\/(v3|v2\.1|v2\.0|v2)(?=\/|$)/, '').replace(new RegExp(`^/${PROJECT_ID}`), '') || '/';

    const fault = this.faults.find((f) => f.times > 0 && (!f.method || f.method === method) && f.path.test(`/${service}${path}`));
    if (fault) {
      fault.times -= 1;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status === 0) {
        record(0);
        req.socket.destroy();
        return;
      }
      if (fault.status) return send(fault.status, { message: fault.message ?? `injected ${fault.status}` }, fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {});
    }

    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return send(400, { message: 'malformed JSON' });
      }
    }

    if (service === 'identity') {
      if (method === 'POST' && path === '/auth/tokens') return this.issueToken(body, send);
      return send(404, { error: { message: 'not found' } });
    }
    const token = req.headers['x-auth-token'];
    const t = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (!t || t.revoked || t.expiresAt < Date.now()) return send(401, { error: { message: 'The request you have made requires authentication.', code: 401 } });
    try {
      if (service === 'compute') {
        if (req.headers['openstack-api-version'] !== 'compute 2.79') return send(400, { message: 'expected microversion compute 2.79' });
        return this.compute(method, path, url.searchParams, body, send);
      }
      if (service === 'network') return this.network(method, path, url.searchParams, body, send);
      if (service === 'image') return this.image(method, path, url.searchParams, send);
      return this.volume(method, path, url.searchParams, body, send);
    } catch (err) {
      return send(500, { message: `fake: ${(err as Error).message}` });
    }
  }

  private issueToken(body: Record<string, unknown>, send: (s: number, b?: unknown, h?: Record<string, string>) => void) {
    const id = (body.auth as { identity?: { methods?: string[]; password?: { user?: { name?: string; password?: string } }; application_credential?: { id?: string; secret?: string } } })?.identity;
    const ok =
      (id?.methods?.[0] === 'password' && id.password?.user?.name === 'admin' && id.password.user.password === PASSWORD) ||
      (id?.methods?.[0] === 'application_credential' && id.application_credential?.id === APP_CRED_ID && id.application_credential.secret === APP_CRED_SECRET);
    if (!ok) return send(401, { error: { message: 'The request you have made requires authentication.', code: 401 } });
    this.authCount++;
    const value = `tok-${randomUUID()}`;
    const expiresAt = Date.now() + this.tokenLifetimeMs;
    this.tokens.set(value, { expiresAt, revoked: false });
    const ep = (type: string, path: string) => ({
      type,
      endpoints: ['public', 'internal'].map((i) => ({ interface: i, region: 'RegionOne', region_id: 'RegionOne', url: `${this.url}${path}` })),
    });
    send(
      201,
      {
        token: {
          expires_at: new Date(expiresAt).toISOString(),
          project: { id: PROJECT_ID, name: 'admin' },
          catalog: [ep('identity', '/identity/v3'), ep('compute', '/compute/v2.1'), ep('network', '/network'), ep('image', '/image'), ep('volumev3', `/volume/v3/${PROJECT_ID}`)],
        },
      },
      { 'X-Subject-Token': value },
    );
  }

  private compute(method: string, path: string, q: URLSearchParams, body: Record<string, unknown>, send: (s: number, b?: unknown) => void) {
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/servers') {
      const s = body.server as { name: string; imageRef: string; flavorRef: string; networks: Array<{ port?: string }>; key_name?: string; metadata?: Record<string, string>; tags?: string[] };
      const hints = body['os:scheduler_hints'] as { group?: string } | undefined;
      if (!this.flavors.some((f) => f.id === s.flavorRef)) return send(400, { badRequest: { code: 400, message: `Flavor ${s.flavorRef} could not be found.` } });
      if (!this.images.some((i) => i.id === s.imageRef)) return send(400, { badRequest: { code: 400, message: `Image ${s.imageRef} could not be found.` } });
      const portId = s.networks?.[0]?.port ?? '';
      const port = this.ports.get(portId);
      if (!port) return send(400, { badRequest: { code: 400, message: `Port ${portId} not found.` } });
      if (port.device_id) return send(409, { conflictingRequest: { code: 409, message: `Port ${portId} is still in use.` } });
      if (s.key_name && !this.keypairs.has(s.key_name)) return send(400, { badRequest: { code: 400, message: `Invalid key_name provided.` } });
      const used = this.live().length;
      if (used + 1 > this.limits.instances)
        return send(403, { forbidden: { code: 403, message: `Quota exceeded for instances: Requested 1, but already used ${used} of ${this.limits.instances} instances` } });
      const id = randomUUID();
      port.device_id = id;
      this.servers.set(id, {
        id,
        name: s.name,
        status: 'BUILD',
        metadata: s.metadata ?? {},
        tags: s.tags ?? [],
        flavorId: s.flavorRef,
        imageId: s.imageRef,
        portId,
        keyName: s.key_name,
        group: hints?.group,
        readyAt: Date.now() + this.bootMs,
      });
      this.serverCreates.set(s.name, (this.serverCreates.get(s.name) ?? 0) + 1);
      return send(202, { server: { id, links: [] } });
    }
    if (method === 'GET' && path === '/servers/detail') {
      const tags = q.get('tags');
      const name = q.get('name');
      const re = name ? new RegExp(name) : undefined;
      const list = this.live().filter((s) => (!tags || tags.split(',').every((t) => s.tags.includes(t))) && (!re || re.test(s.name)));
      return send(200, this.page('servers', `/compute/v2.1/servers/detail`, q, list.map((s) => this.serverView(s))));
    }
    if ((m = /^\/servers\/([^/]+)$/.exec(path))) {
      this.live();
      const s = this.servers.get(m[1]!);
      if (!s) return send(404, { itemNotFound: { code: 404, message: `Instance ${m[1]} could not be found.` } });
      if (method === 'GET') return send(200, { server: this.serverView(s) });
      if (method === 'DELETE') {
        s.goneAt ??= Date.now() + this.deleteMs;
        return send(204);
      }
    }
    if ((m = /^\/servers\/([^/]+)\/os-volume_attachments$/.exec(path)) && method === 'POST') {
      const v = this.volumes.get((body.volumeAttachment as { volumeId: string }).volumeId);
      if (!v || v.status !== 'available') return send(400, { badRequest: { code: 400, message: 'volume not available' } });
      v.status = 'in-use';
      v.attachments = [{ server_id: m[1]! }];
      return send(200, { volumeAttachment: { volumeId: v.id, serverId: m[1] } });
    }
    if ((m = /^\/flavors\/([^/]+)$/.exec(path)) && m[1] !== 'detail') {
      const f = this.flavors.find((x) => x.id === m![1]);
      return f ? send(200, { flavor: f }) : send(404, { itemNotFound: { code: 404, message: `Flavor ${m[1]} could not be found.` } });
    }
    if (path === '/flavors/detail') return send(200, { flavors: this.flavors });
    if (path === '/os-keypairs' && method === 'GET') return send(200, { keypairs: [...this.keypairs.values()].map((k) => ({ keypair: k })) });
    if (path === '/os-keypairs' && method === 'POST') {
      const k = body.keypair as { name: string; public_key: string };
      if (this.keypairs.has(k.name)) return send(409, { conflictingRequest: { code: 409, message: `Key pair '${k.name}' already exists.` } });
      this.keypairs.set(k.name, { name: k.name, public_key: k.public_key });
      return send(200, { keypair: k });
    }
    if ((m = /^\/os-keypairs\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      const k = this.keypairs.get(name);
      if (!k) return send(404, { itemNotFound: { code: 404, message: `Keypair ${name} not found.` } });
      if (method === 'DELETE') return this.keypairs.delete(name), send(202);
      return send(200, { keypair: k });
    }
    if (path === '/os-server-groups' && method === 'GET') return send(200, { server_groups: [...this.serverGroups.values()] });
    if (path === '/os-server-groups' && method === 'POST') {
      const g = { id: randomUUID(), ...(body.server_group as { name: string; policy: string }) };
      this.serverGroups.set(g.id, g);
      return send(200, { server_group: g });
    }
    if ((m = /^\/os-server-groups\/([^/]+)$/.exec(path)) && method === 'DELETE') {
      return this.serverGroups.delete(m[1]!) ? send(204) : send(404, { itemNotFound: { code: 404, message: 'not found' } });
    }
    if (path === '/limits') {
      const live = this.live();
      const fl = (s: FakeServer) => this.flavors.find((f) => f.id === s.flavorId)!;
      return send(200, {
        limits: {
          absolute: {
            maxTotalInstances: this.limits.instances,
            totalInstancesUsed: live.length,
            maxTotalCores: this.limits.cores,
            totalCoresUsed: live.reduce((a, s) => a + fl(s).vcpus, 0),
            maxTotalRAMSize: this.limits.ram,
            totalRAMUsed: live.reduce((a, s) => a + fl(s).ram, 0),
          },
        },
      });
    }
    return send(404, { itemNotFound: { code: 404, message: `no route ${method} ${path}` } });
  }

  private network(method: string, path: string, q: URLSearchParams, body: Record<string, unknown>, send: (s: number, b?: unknown) => void) {
    let m: RegExpExecArray | null;
    const notFound = (what: string) => send(404, { NeutronError: { type: 'NotFound', message: `${what} could not be found.`, detail: '' } });
    const filt = <T extends { name?: string; tags?: string[] }>(list: T[]) =>
      list.filter((x) => (!q.get('name') || x.name === q.get('name')) && (!q.get('tags') || q.get('tags')!.split(',').every((t) => (x.tags ?? []).includes(t))));
    if ((m = /^\/(ports|floatingips|security-groups|networks)\/([^/]+)\/tags\/([^/]+)$/.exec(path)) && method === 'PUT') {
      const coll = { ports: this.ports, floatingips: this.fips, 'security-groups': this.sgs, networks: undefined }[m[1]!];
      const r = coll?.get(m[2]!) as { tags: string[] } | undefined;
      if (!r) return notFound(m[1]!);
      const tag = decodeURIComponent(m[3]!);
      if (!r.tags.includes(tag)) r.tags.push(tag);
      return send(201);
    }
    if (path === '/networks') return send(200, { networks: filt(this.networks) });
    if ((m = /^\/networks\/([^/]+)$/.exec(path))) {
      const n = this.networks.find((x) => x.id === m![1]);
      return n ? send(200, { network: n }) : notFound(`Network ${m[1]}`);
    }
    if (path === '/ports' && method === 'GET') return send(200, this.page('ports', '/network/v2.0/ports', q, filt([...this.ports.values()])));
    if (path === '/ports' && method === 'POST') {
      const p = body.port as { network_id: string; name: string; description?: string; security_groups?: string[] };
      if (!this.networks.some((n) => n.id === p.network_id)) return notFound(`Network ${p.network_id}`);
      if (this.ports.size + 1 > this.limits.port) return send(409, { NeutronError: { type: 'OverQuota', message: 'Quota exceeded for resources: [port].' } });
      const port: FakePort = { id: randomUUID(), name: p.name, description: p.description ?? '', network_id: p.network_id, device_id: '', tags: [], fixed_ips: [{ ip_address: this.nextIp(this.fixedPrefix) }], security_groups: p.security_groups ?? [] };
      this.ports.set(port.id, port);
      return send(201, { port });
    }
    if ((m = /^\/ports\/([^/]+)$/.exec(path))) {
      const p = this.ports.get(m[1]!);
      if (!p) return notFound(`Port ${m[1]}`);
      if (method === 'DELETE') {
        this.ports.delete(p.id);
        for (const f of this.fips.values()) if (f.port_id === p.id) f.port_id = null;
        return send(204);
      }
      return send(200, { port: p });
    }
    if (path === '/floatingips' && method === 'GET') return send(200, { floatingips: filt([...this.fips.values()]) });
    if (path === '/floatingips' && method === 'POST') {
      const f = body.floatingip as { floating_network_id: string; port_id?: string; description?: string };
      if (this.fips.size + 1 > this.limits.floatingip) return send(409, { NeutronError: { type: 'OverQuota', message: 'Quota exceeded for resources: [floatingip].' } });
      const fip: FakeFip = { id: randomUUID(), floating_ip_address: this.nextIp('172.24'), floating_network_id: f.floating_network_id, port_id: f.port_id ?? null, description: f.description ?? '', tags: [] };
      this.fips.set(fip.id, fip);
      return send(201, { floatingip: fip });
    }
    if ((m = /^\/floatingips\/([^/]+)$/.exec(path))) {
      const f = this.fips.get(m[1]!);
      if (!f) return notFound(`Floating IP ${m[1]}`);
      if (method === 'DELETE') return this.fips.delete(f.id), send(204);
      if (method === 'PUT') f.port_id = (body.floatingip as { port_id: string | null }).port_id;
      return send(200, { floatingip: f });
    }
    const sgView = (g: FakeSg) => ({ id: g.id, name: g.name, description: g.description, tags: g.tags, security_group_rules: g.rules });
    if (path === '/security-groups' && method === 'GET') return send(200, { security_groups: filt([...this.sgs.values()]).map(sgView) });
    if (path === '/security-groups' && method === 'POST') {
      const b = body.security_group as { name: string; description?: string };
      if (this.sgs.size + 1 > this.limits.security_group) return send(409, { NeutronError: { type: 'OverQuota', message: 'Quota exceeded for resources: [security_group].' } });
      const id = randomUUID();
      const egress = (et: string): FakeRule => ({ id: randomUUID(), security_group_id: id, direction: 'egress', ethertype: et, protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null });
      const g: FakeSg = { id, name: b.name, description: b.description ?? '', tags: [], rules: [egress('IPv4'), egress('IPv6')] };
      this.sgs.set(id, g);
      return send(201, { security_group: sgView(g) });
    }
    if ((m = /^\/security-groups\/([^/]+)$/.exec(path))) {
      const g = this.sgs.get(m[1]!);
      if (!g) return notFound(`Security group ${m[1]}`);
      if (method === 'DELETE') {
        if ([...this.ports.values()].some((p) => p.security_groups.includes(g.id))) return send(409, { NeutronError: { type: 'SecurityGroupInUse', message: `Security Group ${g.id} in use.` } });
        this.sgs.delete(g.id);
        return send(204);
      }
      return send(200, { security_group: sgView(g) });
    }
    if (path === '/security-group-rules' && method === 'POST') {
      const r = body.security_group_rule as Omit<FakeRule, 'id'>;
      const g = this.sgs.get(r.security_group_id);
      if (!g) return notFound(`Security group ${r.security_group_id}`);
      const norm = (x: Omit<FakeRule, 'id'>) =>
        JSON.stringify([x.direction, x.ethertype, x.protocol ?? null, x.port_range_min ?? null, x.port_range_max ?? null, x.remote_ip_prefix ?? null, x.remote_group_id ?? null]);
      if (g.rules.some((x) => norm(x) === norm(r))) return send(409, { NeutronError: { type: 'SecurityGroupRuleExists', message: 'Security group rule already exists.' } });
      const rule = { id: randomUUID(), ...r };
      g.rules.push(rule);
      return send(201, { security_group_rule: rule });
    }
    if ((m = /^\/quotas\/([^/]+)\/details\.json$/.exec(path))) {
      return send(200, {
        quota: {
          floatingip: { limit: this.limits.floatingip, used: this.fips.size, reserved: 0 },
          security_group: { limit: this.limits.security_group, used: this.sgs.size, reserved: 0 },
          port: { limit: this.limits.port, used: this.ports.size, reserved: 0 },
        },
      });
    }
    return send(404, { NeutronError: { type: 'HTTPNotFound', message: `no route ${method} ${path}` } });
  }

  private image(method: string, path: string, q: URLSearchParams, send: (s: number, b?: unknown) => void) {
    let m: RegExpExecArray | null;
    if (path === '/images') return send(200, { images: this.images.filter((i) => !q.get('name') || i.name === q.get('name')) });
    if ((m = /^\/images\/([^/]+)$/.exec(path)) && method === 'GET') {
      const i = this.images.find((x) => x.id === m![1]);
      return i ? send(200, i) : send(404, { message: 'image not found' });
    }
    return send(404, { message: 'no route' });
  }

  private volume(method: string, path: string, q: URLSearchParams, body: Record<string, unknown>, send: (s: number, b?: unknown) => void) {
    let m: RegExpExecArray | null;
    if (path === '/volumes/detail') {
      const meta = q.get('metadata') ? (JSON.parse(q.get('metadata')!) as Record<string, string>) : {};
      return send(200, { volumes: [...this.volumes.values()].filter((v) => Object.entries(meta).every(([k, x]) => v.metadata[k] === x)) });
    }
    if (path === '/volumes' && method === 'POST') {
      const b = body.volume as { name: string; size: number; metadata?: Record<string, string> };
      if (this.volumes.size + 1 > this.limits.volumes) return send(413, { overLimit: { code: 413, message: 'VolumeLimitExceeded: Maximum number of volumes allowed exceeded' } });
      const v: FakeVolume = { id: randomUUID(), name: b.name, size: b.size, status: 'available', metadata: b.metadata ?? {}, attachments: [] };
      this.volumes.set(v.id, v);
      return send(202, { volume: v });
    }
    if ((m = /^\/volumes\/([^/]+)$/.exec(path))) {
      const v = this.volumes.get(m[1]!);
      if (!v) return send(404, { itemNotFound: { code: 404, message: `Volume ${m[1]} could not be found.` } });
      if (method === 'DELETE') {
        if (v.status === 'in-use') return send(400, { badRequest: { code: 400, message: 'Volume status must be available' } });
        return this.volumes.delete(v.id), send(202);
      }
      return send(200, { volume: v });
    }
    if (path === '/limits') {
      const vs = [...this.volumes.values()];
      return send(200, {
        limits: { absolute: { maxTotalVolumes: this.limits.volumes, totalVolumesUsed: vs.length, maxTotalVolumeGigabytes: this.limits.gigabytes, totalGigabytesUsed: vs.reduce((a, v) => a + v.size, 0) } },
      });
    }
    return send(404, { itemNotFound: { code: 404, message: 'no route' } });
  }
}
