// Service passwords: which config parameters are secrets, how a given one is taken out of the
// cluster before it is stored (the database and every answer keep a mask; the value goes to the
// secret store), and how a service's credentials read for its owner (GET .../credentials). No I/O.
import type { Service } from './wire.js';

/** What every answer and every database row show in place of a secret value. */
export const MASK = '********';

const SECRET_NAME = /password|passwd|token|secret/i;

/** A parameter named like a secret (the deployers' rule for generated secrets as well). */
export const isSecretParam = (name: string): boolean => SECRET_NAME.test(name);

/** Parameters whose empty value Michman fills with a generated secret: strings named like one. */
export function generatedSecretParams(params: ReadonlyArray<{ ParameterName: string; Type: string; IsList: boolean }>): string[] {
  return params.filter((p) => p.Type === 'string' && !p.IsList && isSecretParam(p.ParameterName)).map((p) => p.ParameterName);
}

/** Where a cluster's service secrets live in the secret store (the Ansible deployer's path too). */
export const serviceSecretPath = (clusterId: string, type: string): string => `michman/clusters/${clusterId}/services/${type}`;

/**
 * Takes the secret values a user gave out of the services: returns the services with each one
 * replaced by MASK, and the values by service type. A value that is already MASK (a GET sent back
 * in a PUT) or empty stays as it is: unchanged, or to be generated.
 */
export function sealSecrets<S extends Pick<Service, 'Type' | 'Config'>>(services: readonly S[]): { services: S[]; given: Map<string, Record<string, string>> } {
  const given = new Map<string, Record<string, string>>();
  const out = services.map((s) => {
    if (!s.Config) return s;
    let config: Record<string, string> | undefined;
    for (const [k, v] of Object.entries(s.Config)) {
      if (!isSecretParam(k) || typeof v !== 'string' || v === '' || v === MASK) continue;
      config ??= { ...s.Config };
      config[k] = MASK;
      const type = s.Type ?? '';
      given.set(type, { ...(given.get(type) ?? {}), [k]: v });
    }
    return config ? { ...s, Config: config } : s;
  });
  return { services: out, given };
}

/** A config with its masked values replaced by the stored ones (a masked value not stored: ''). */
export function unseal(config: Record<string, string>, stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) out[k] = v === MASK ? (stored[k] ?? '') : v;
  return out;
}

/** One element of GET /projects/{p}/clusters/{c}/credentials. */
export interface ServiceCredentials {
  Service: string;
  Type: string;
  User: string | null;
  Password: string | null;
  Host: string | null;
  Port: number | null;
  URL: string | null;
  ConnectionString: string | null;
}

export interface CredentialsInput {
  name: string;
  type: string;
  /** Parameter defaults, the user's values and the stored secrets, merged (no masks left). */
  config: Record<string, string>;
  /** The service's URL as the API shows it (`host:port` or a bare address), '' before it is up. */
  url: string;
}

/** `host:port`, `[v6]:port` or a bare address → host and port. */
export function splitAddress(url: string): { host: string | null; port: number | null } {
  if (!url) return { host: null, port: null };
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(url);
  if (!m) return { host: url, port: null };
  return { host: m[1]!, port: m[2] === undefined ? null : Number(m[2]) };
}

const enc = encodeURIComponent;
const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
const userinfo = (user: string | null, password: string | null) => (user ?? '') + (password !== null ? `:${enc(password)}` : '') + (user !== null || password !== null ? '@' : '');

type Render = (c: CredentialsInput, host: string, port: number | null) => Omit<ServiceCredentials, 'Service' | 'Type' | 'Host' | 'Port'> & { port?: number | null };

// Per type, what its roles and local modules really set up (catalog/<type>.json, deploy/local/<type>.ts).
const RENDER: Record<string, Render> = {
  redis: (c, h, p) => {
    const pw = orNull(c.config.db_password);
    return { User: null, Password: pw, URL: `redis://${h}:${p ?? 6379}`, ConnectionString: `redis://${pw !== null ? `:${enc(pw)}@` : ''}${h}:${p ?? 6379}` };
  },
  postgresql: (c, h, p) => {
    const user = orNull(c.config.db_user) ?? 'pguser';
    const pw = orNull(c.config.db_password);
    const db = c.config.db_name || 'postgres';
    return { User: user, Password: pw, URL: `postgresql://${h}:${p ?? 5432}/${enc(db)}`, ConnectionString: `postgresql://${enc(user)}${pw !== null ? `:${enc(pw)}` : ''}@${h}:${p ?? 5432}/${enc(db)}` };
  },
  mariadb: (c, h, p) => {
    const user = orNull(c.config.db_user) ?? 'user';
    const pw = orNull(c.config.db_password);
    const db = c.config.db_name || 'mariadb';
    return { User: user, Password: pw, URL: `mysql://${h}:${p ?? 3306}/${enc(db)}`, ConnectionString: `mysql://${enc(user)}${pw !== null ? `:${enc(pw)}` : ''}@${h}:${p ?? 3306}/${enc(db)}` };
  },
  // The HTTP interface (AccessPort 8123) with the user `default`; clickhouse-client uses the native port 9000.
  clickhouse: (c, h, p) => {
    const pw = orNull(c.config.db_password);
    return { User: 'default', Password: pw, URL: `http://${h}:${p ?? 8123}/`, ConnectionString: `http://${userinfo('default', pw)}${h}:${p ?? 8123}/` };
  },
  jupyter: (c, h, p) => {
    const token = orNull(c.config.token);
    const url = `http://${h}:${p ?? 8888}/${token !== null ? `?token=${enc(token)}` : ''}`;
    return { User: null, Password: token, URL: url, ConnectionString: url };
  },
  jupyterhub: (c, h, p) => ({ User: orNull(c.config.admin_user) ?? 'admin', Password: orNull(c.config.admin_password), URL: `http://${h}:${p ?? 8000}/`, ConnectionString: null }),
  // No password: the master's RPC address is what spark-submit and pyspark take.
  spark: (_c, h) => ({ User: null, Password: null, URL: `http://${h}:8080/`, ConnectionString: `spark://${h}:7077`, port: 7077 }),
  nats: (c, h, p) => {
    const user = orNull(c.config.user) ?? 'nats';
    const pw = orNull(c.config.password);
    return { User: user, Password: pw, URL: `nats://${h}:${p ?? 4222}`, ConnectionString: `nats://${userinfo(user, pw)}${h}:${p ?? 4222}` };
  },
};

/** A service's credentials; types without a recipe show their user-like and first secret parameter. */
export function renderCredentials(c: CredentialsInput): ServiceCredentials {
  const { host, port } = splitAddress(c.url);
  const base = { Service: c.name, Type: c.type };
  const render = RENDER[c.type];
  if (render && host !== null) {
    const r = render(c, host, port);
    const { port: own, ...rest } = r;
    return { ...base, Host: host, Port: own !== undefined ? own : port, ...rest };
  }
  const userKey = Object.keys(c.config).find((k) => /(^|_)user(name)?$/i.test(k));
  const secretKey = Object.keys(c.config).find((k) => isSecretParam(k) && c.config[k] !== '');
  // Before the service is up (no address yet) the known user and password still show.
  const known = render && host === null ? render(c, '', null) : undefined;
  return {
    ...base,
    User: known ? known.User : userKey ? orNull(c.config[userKey]) : null,
    Password: known ? known.Password : secretKey ? c.config[secretKey]! : null,
    Host: host,
    Port: port,
    URL: render ? null : orNull(c.url),
    ConnectionString: null,
  };
}
