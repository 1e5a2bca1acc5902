// Finishing touches on the OpenAPI document @fastify/swagger builds from the route schemas, so that
// Swagger UI's "Try it out" and client generators work well: the wire objects become named
// component schemas referred to by $ref (routes keep their inline schemas for validation; only
// the document changes), every operation gets an operationId, the security schemes are declared
// (public routes need none), and the main objects carry an example.
import type { TSchema } from '@sinclair/typebox';
import {
  ClusterSchema,
  FlavorSchema,
  HealthCheckSchema,
  HealthConfigSchema,
  ImageSchema,
  ProjectSchema,
  ServiceConfigSchema,
  ServiceDependencySchema,
  ServicePortSchema,
  ServiceSchema,
  ServiceTypeSchema,
  ServiceVersionSchema,
  TemplateSchema,
} from '../domain/wire.js';
import { ErrorEnvelope } from './envelope.js';
import { OperationSchema, EventSchema } from './schemas.js';

type Json = Record<string, unknown>;

const COMPONENTS: TSchema[] = [
  ImageSchema,
  FlavorSchema,
  ProjectSchema,
  ServicePortSchema,
  HealthConfigSchema,
  HealthCheckSchema,
  ServiceConfigSchema,
  ServiceDependencySchema,
  ServiceVersionSchema,
  ServiceTypeSchema,
  ServiceSchema,
  TemplateSchema,
  ClusterSchema,
  OperationSchema,
  EventSchema,
  ErrorEnvelope,
];

/** Request examples: what a client sends (no generated field). */
const EXAMPLES: Record<string, Json> = {
  Image: { Name: 'ubuntu-22.04', AnsibleUser: 'ubuntu', CloudImageID: 'c5a3a1d6-6ee5-4c7e-9c3c-4d1f0a1e2b3c' },
  Flavor: { Name: 'm1.small', VCPUs: 2, RAM: 4096, Disk: 20 },
  Project: { DisplayName: 'research', GroupID: 'researchers', Description: 'Our team', DefaultImage: 'ubuntu-22.04', DefaultMasterFlavor: 'm1.small', DefaultSlavesFlavor: 'm1.small', DefaultStorageFlavor: 'm1.small', DefaultMonitoringFlavor: 'm1.small' },
  Cluster: { DisplayName: 'analytics', NSlaves: 2, Description: 'Spark with Jupyter', Services: [{ Type: 'spark', Version: '3.5.1' }, { Type: 'jupyter' }], Keys: ['ssh-ed25519 AAAAC3Nza... me@laptop'] },
  Template: { DisplayName: 'spark-small', NSlaves: 2, Description: 'Spark on two slaves', Services: [{ Type: 'spark', Name: 'compute' }] },
};

/** Paths anyone may call: no credentials needed. */
const PUBLIC = new Set(['/version', '/auth', '/logout']);

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

export function finishDocument(doc: Json): Json {
  const names = new Set(COMPONENTS.map((s) => String(s.title)));
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const walk = (v: unknown, top = false): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Json;
    if (!top && typeof o.title === 'string' && names.has(o.title) && (o.type === 'object' || o.properties !== undefined)) return ref(o.title);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x)]));
  };
  const schemas: Json = { ...((doc.components as Json | undefined)?.schemas as Json | undefined) };
  for (const s of COMPONENTS) {
    const name = String(s.title);
    const plain = walk(JSON.parse(JSON.stringify(s)) as Json, true) as Json;
    schemas[name] = EXAMPLES[name] ? { ...plain, example: EXAMPLES[name] } : plain;
  }
  const paths = walk(doc.paths ?? {}) as Record<string, Json>;
  const used = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const m of METHODS) {
      const op = item[m] as Json | undefined;
      if (!op) continue;
      let id = typeof op.operationId === 'string' ? op.operationId : operationIdOf(m, path);
      for (let i = 2; used.has(id); i++) id = `${id.replace(/\d+$/, '')}${i}`;
      used.add(id);
      op.operationId = id;
      if (PUBLIC.has(path)) op.security = [];
    }
  }
  return {
    ...doc,
    paths,
    components: {
      ...(doc.components as Json | undefined),
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (POST /tokens), or an OAuth2/OIDC or Keystone access token.' },
        keystoneToken: { type: 'apiKey', in: 'header', name: 'X-Auth-Token', description: 'A Keystone token (authorization_model: keystone).' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session', description: 'The session a login at /auth opened.' },
      },
    },
    security: [{ bearerAuth: [] }, { keystoneToken: [] }, { sessionCookie: [] }],
  };
}

/** `GET /projects/{p}/clusters` → listProjectClusters; `DELETE /tokens/{id}` → deleteToken. */
function operationIdOf(method: string, path: string): string {
  const segs = path.split('/').filter((s) => s !== '');
  const byParam = segs.length > 0 && segs[segs.length - 1]!.startsWith('{');
  const words = segs.filter((s) => !s.startsWith('{')).map((s) => s.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')));
  const singular = (w: string) => (w.endsWith('s') && !w.endsWith('ss') && w !== 'status' ? w.slice(0, -1) : w);
  const nouns = words.map((w, i) => (i < words.length - 1 || byParam ? singular(w) : w)).map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  const verb = method === 'get' ? (byParam || nouns.length === 0 ? 'get' : 'list') : method === 'post' ? 'create' : method === 'put' ? 'update' : method === 'delete' ? 'delete' : method;
  return `${verb}${nouns.join('') || 'Root'}`;
}
