// A deterministic barrage of malformed requests over every route family: oversized and deeply nested
// bodies, wrong JSON types for every schema field, invalid UTF-8, NUL characters, huge strings,
// truncated JSON, degenerate bodies, odd path parameters, bad query parameters, unknown routes and
// methods. Every answer must be a 4xx JSON envelope, and afterwards nothing may have changed.
import { it, expect, beforeAll, afterAll } from 'vitest';
import type { TSchema } from '@sinclair/typebox';
import { buildServer } from '../../src/api/server.js';
import { Api, describeEachStore, image, flavor, project, type Reply } from '../helpers/api.js';
import {
  ImageSchema,
  FlavorSchema,
  ProjectSchema,
  TemplateSchema,
  ServiceTypeSchema,
  ServiceVersionSchema,
  ServiceConfigSchema,
  ServiceDependencySchema,
} from '../../src/domain/wire.js';

// ---- deterministic randomness ---------------------------------------------------------------------
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the seeded world -----------------------------------------------------------------------------
const SEED_TYPE_DEP = {
  Type: 'seeddep',
  Class: 'stand-alone',
  DefaultVersion: '1',
  Versions: [{ Version: '1', Configs: [{ ParameterName: 'size', Type: 'int', DefaultValue: '1' }] }],
};
const SEED_TYPE = {
  Type: 'seedst',
  Class: 'storage',
  DefaultVersion: '1',
  Versions: [
    {
      Version: '1',
      Configs: [{ ParameterName: 'port', Type: 'int', DefaultValue: '6379' }],
      Dependencies: [{ ServiceType: 'seeddep', ServiceVersions: ['1'], DefaultServiceVersion: '1' }],
    },
  ],
};
const seedTemplate = { DisplayName: 'seedtpl', NSlaves: 1, Services: [{ Type: 'seedst', Config: { port: '1' } }] };

// Well-formed bodies for each body schema: the barrage breaks them one way at a time.
const serviceBody = { Name: 's', Type: 'seedst', Version: '1', Config: { port: '1' }, DisplayName: 'x', Description: 'd', URL: 'u', EntityStatus: 'e', ClusterRef: 'c', ID: '' };
const configBody = { ParameterName: 'newp', Type: 'int', DefaultValue: '1', PossibleValues: ['1', '2'], Required: true, IsList: false, Description: 'd', AnsibleVarName: 'v', ID: '' };
const dependencyBody = { ServiceType: 'seeddep', ServiceVersions: ['1'], DefaultServiceVersion: '1', Description: 'd' };
const versionBody = { ID: '', Version: '2', Description: 'd', DownloadURL: 'u', Configs: [configBody], Dependencies: [dependencyBody] };
const typeBody = {
  ID: '',
  Type: 'malst',
  Description: 'd',
  Class: 'storage',
  DefaultVersion: '2',
  AccessPort: 80,
  Ports: [{ Port: 80, Description: 'p' }],
  HealthCheck: [{ ID: '', CheckType: 'TCP', Configs: [{ ParameterName: 'a', Type: 'int', DefaultValue: '1', Required: true, IsList: false, Description: 'd', AnsibleVarName: 'v' }] }],
  Versions: [versionBody],
};
const templateBody = { ID: '', ProjectID: '', Name: '', DisplayName: 'maltpl', NSlaves: 1, Description: 'd', Services: [serviceBody] };

interface Family {
  name: string;
  collection: string; // POST target
  item: string; // PUT/DELETE target (exists)
  itemPrefix: string; // item path without its last segment
  schema: TSchema;
  body: Record<string, unknown>;
  /** Parent paths with the parent segment replaced by `{}` (for odd parent parameters). */
  parents: string[];
}

const FAMILIES: Family[] = [
  { name: 'images', collection: '/images', item: '/images/seedimg', itemPrefix: '/images', schema: ImageSchema, body: { ...image('malimg'), ID: '' }, parents: [] },
  { name: 'flavors', collection: '/flavors', item: '/flavors/seedflv', itemPrefix: '/flavors', schema: FlavorSchema, body: { ...flavor('malflv'), ID: '' }, parents: [] },
  {
    name: 'projects',
    collection: '/projects',
    item: '/projects/seedproj',
    itemPrefix: '/projects',
    schema: ProjectSchema,
    body: { ...project('malproj', 'seedimg', 'seedflv'), ID: '', Name: '' },
    parents: [],
  },
  {
    name: 'project templates',
    collection: '/projects/seedproj/templates',
    item: '/projects/seedproj/templates/seedtpl-seedproj',
    itemPrefix: '/projects/seedproj/templates',
    schema: TemplateSchema,
    body: templateBody,
    parents: ['/projects/{}/templates'],
  },
  { name: 'common templates', collection: '/templates', item: '/templates/seedtpl-common', itemPrefix: '/templates', schema: TemplateSchema, body: templateBody, parents: [] },
  { name: 'service types', collection: '/configs', item: '/configs/seedst', itemPrefix: '/configs', schema: ServiceTypeSchema, body: typeBody, parents: [] },
  {
    name: 'versions',
    collection: '/configs/seedst/versions',
    item: '/configs/seedst/versions/1',
    itemPrefix: '/configs/seedst/versions',
    schema: ServiceVersionSchema,
    body: versionBody,
    parents: ['/configs/{}/versions'],
  },
  {
    name: 'version configs',
    collection: '/configs/seedst/versions/1/configs',
    item: '/configs/seedst/versions/1/configs/port',
    itemPrefix: '/configs/seedst/versions/1/configs',
    schema: ServiceConfigSchema,
    body: configBody,
    parents: ['/configs/{}/versions/1/configs', '/configs/seedst/versions/{}/configs'],
  },
  {
    name: 'version dependencies',
    collection: '/configs/seedst/versions/1/dependencies',
    item: '/configs/seedst/versions/1/dependencies/seeddep',
    itemPrefix: '/configs/seedst/versions/1/dependencies',
    schema: ServiceDependencySchema,
    body: dependencyBody,
    parents: ['/configs/{}/versions/1/dependencies', '/configs/seedst/versions/{}/dependencies'],
  },
];

// ---- generators -------------------------------------------------------------------------------------
type Path = Array<string | number>;
type S = TSchema & { type?: string; properties?: Record<string, S>; items?: S; patternProperties?: Record<string, S> };

function wrongValuesFor(s: S): unknown[] {
  switch (s.type) {
    case 'string':
      return [7, 1.5, true, {}, ['x']];
    case 'integer':
      return ['7', 1.5, false, [], { n: 1 }, 2147483648, -2147483649, 1e300];
    case 'number':
      return ['7', true, [], {}];
    case 'boolean':
      return ['true', 1, 0, [], {}];
    case 'array':
      return [{}, 'x', 3, true, { 0: 'x' }];
    case 'object':
      return [[], 'x', 4, false, [{}]];
    default:
      throw new Error(`no wrong values for schema type ${String(s.type)}`);
  }
}

/** Every (path, wrong value) pair: each property of each object reachable from `base`. */
function typeMutations(schema: S, base: unknown, path: Path = []): Array<[Path, unknown]> {
  const out: Array<[Path, unknown]> = [];
  if (schema.type === 'object' && schema.properties && base && typeof base === 'object' && !Array.isArray(base)) {
    for (const [k, sub] of Object.entries(schema.properties)) {
      for (const w of wrongValuesFor(sub)) out.push([[...path, k], w]);
      const child = (base as Record<string, unknown>)[k];
      if (child !== undefined) out.push(...typeMutations(sub, child, [...path, k]));
    }
  } else if (schema.type === 'object' && schema.patternProperties && base && typeof base === 'object') {
    const valueSchema = Object.values(schema.patternProperties)[0]!;
    const key = Object.keys(base)[0] ?? 'k';
    for (const w of wrongValuesFor(valueSchema)) out.push([[...path, key], w]);
  } else if (schema.type === 'array' && schema.items && Array.isArray(base) && base.length > 0) {
    for (const w of schema.items.type === 'object' ? ['x', 1, [], true] : wrongValuesFor(schema.items)) out.push([[...path, 0], w]);
    out.push(...typeMutations(schema.items, base[0], [...path, 0]));
  }
  return out;
}

/** Paths of every string value in `base` (including map values). */
function stringPaths(base: unknown, path: Path = []): Path[] {
  if (typeof base === 'string') return [path];
  if (Array.isArray(base)) return base.flatMap((v, i) => stringPaths(v, [...path, i]));
  if (base && typeof base === 'object') return Object.entries(base).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  return [];
}

function setAt(base: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let cur = copy as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  cur[path[path.length - 1]!] = value;
  return copy;
}

interface Case {
  label: string;
  method: string;
  url: string;
  payload?: string | Buffer;
  contentType?: string;
  /** Expected error class, when the case pins it. */
  errorClass?: number;
  status?: number;
}

const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-8'];

function buildCases(seed: number): Case[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ct = () => pick(CONTENT_TYPES);
  const cases: Case[] = [];
  const add = (c: Case) => cases.push({ contentType: c.payload === undefined ? undefined : ct(), ...c });

  const oversize = JSON.stringify({ Name: 'big', Description: 'x'.repeat(1536 * 1024) });
  const deep = [
    '['.repeat(10_000) + ']'.repeat(10_000),
    '['.repeat(10_000),
    '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
    '{"a":'.repeat(10_000),
    '{"Name":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}',
    '{"Services":[{"Config":' + '{"a":'.repeat(5_000) + '"x"' + '}'.repeat(5_000) + '}]}',
  ];
  const badUtf8 = [[0xc3, 0x28], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];

  for (const f of FAMILIES) {
    const valid = JSON.stringify(f.body);
    // Targets that parse and validate bodies: POST on the collection, PUT on an existing item.
    const bodyTargets: Array<[string, string]> = [
      ['POST', f.collection],
      ['PUT', f.item],
    ];
    // An oversized body is refused before any handler runs, whatever the method. Bodies that do not
    // parse are refused where the handler reads a body (a DELETE ignores its body, as Go's did).
    for (const [method, url] of [...bodyTargets, ['DELETE', f.item]] as Array<[string, string]>) {
      add({ label: `${f.name}: oversized body`, method, url, payload: oversize, status: 413 });
    }
    for (const [method, url] of bodyTargets) {
      for (const [i, d] of deep.entries()) add({ label: `${f.name}: deep nesting #${i}`, method, url, payload: d, errorClass: 200 });
      for (const bytes of badUtf8) {
        const inString = Buffer.concat([Buffer.from(valid.slice(0, -1) + ',"Description":"a'), Buffer.from(bytes), Buffer.from('b"}')]);
        add({ label: `${f.name}: invalid UTF-8 ${bytes.map((b) => b.toString(16)).join(' ')}`, method, url, payload: inString, errorClass: 200 });
      }
      add({ label: `${f.name}: bare 0xFF`, method, url, payload: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), errorClass: 200 });
      // Truncations of a well-formed body at deterministic pseudo-random points.
      for (let i = 0; i < 4; i++) {
        const cut = 1 + Math.floor(rnd() * (valid.length - 2));
        add({ label: `${f.name}: truncated at ${cut}`, method, url, payload: valid.slice(0, cut), errorClass: 200 });
      }
      add({ label: `${f.name}: trailing garbage`, method, url, payload: `${valid} x`, errorClass: 200 });
      add({ label: `${f.name}: two values`, method, url, payload: `${valid}${valid}`, errorClass: 200 });
      add({ label: `${f.name}: single quotes`, method, url, payload: valid.replaceAll('"', "'"), errorClass: 200 });
      add({ label: `${f.name}: NaN`, method, url, payload: valid.slice(0, -1) + ',"NSlaves":NaN}', errorClass: 200 });
      // A NUL character inside some string of the body (PostgreSQL cannot store it).
      const sp = stringPaths(f.body);
      for (let i = 0; i < 2; i++) {
        const p = pick(sp);
        add({ label: `${f.name}: NUL in ${p.join('.')}`, method, url, payload: JSON.stringify(setAt(f.body, p, 'a\u0000b')), errorClass: 200 });
      }
      add({ label: `${f.name}: NUL in a key`, method, url, payload: valid.slice(0, -1) + ',"a\\u0000b":"c"}', errorClass: 200 });
    }

    for (const [method, url] of bodyTargets) {
      // Degenerate bodies.
      for (const payload of ['', 'null', '[]', '[{}]', `[${valid}]`, '"string"', '42', '-1.5', 'true', 'false', '{', '}', ' ', '\n']) {
        add({ label: `${f.name}: body ${JSON.stringify(payload)}`, method, url, payload, errorClass: 200 });
      }
      add({ label: `${f.name}: no body`, method, url, errorClass: 200 });
      // Wrong JSON types, field by field, through the nested objects.
      for (const [path, wrong] of typeMutations(f.schema as S, f.body)) {
        add({ label: `${f.name}: ${path.join('.')} = ${JSON.stringify(wrong)}`, method, url, payload: JSON.stringify(setAt(f.body, path, wrong)), errorClass: 200 });
      }
      // Huge strings in every string field.
      for (const path of stringPaths(f.body)) {
        add({ label: `${f.name}: 100k chars in ${path.join('.')}`, method, url, payload: JSON.stringify(setAt(f.body, path, 'x'.repeat(100_000))), errorClass: 200 });
      }
      // Case-insensitive keys must not open a way around the types.
      const k = pick(Object.keys(f.body));
      add({ label: `${f.name}: ${k.toUpperCase()} wrong type`, method, url, payload: JSON.stringify({ ...f.body, [k]: undefined, [k.toUpperCase()]: { x: [1] } }), errorClass: 200 });
    }

    // Odd path parameters: on the item (GET, PUT with a valid body, DELETE) and on each parent.
    const odd = [
      '%00',
      'a%00b',
      '%ZZ',
      '%',
      '%E0%A4%A',
      '%C3%28',
      '%FF',
      'x'.repeat(2000),
      'y'.repeat(300),
      '00000000-0000-0000-0000-00000000000g',
      '{12345678-1234-1234-1234-1234567890ab',
      'urn:uuid:zzzzzzzz-1234-1234-1234-1234567890ab',
      '12345678-1234-1234-1234-1234567890abc',
      '1234567812341234123412345678',
      '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      '%7B7c9e6679-7425-40de-944b-e07fc1f90ae7%7D',
      '%20',
      '%F0%9F%92%A9',
      "'%3B%20DROP%20TABLE%20images%3B%20--",
      '%22%3E%3Cscript%3E',
    ];
    for (const o of odd) {
      const itemUrl = `${f.itemPrefix}/${o}`;
      add({ label: `${f.name}: GET odd ${o.slice(0, 40)}`, method: 'GET', url: itemUrl });
      add({ label: `${f.name}: PUT odd ${o.slice(0, 40)}`, method: 'PUT', url: itemUrl, payload: valid });
      add({ label: `${f.name}: DELETE odd ${o.slice(0, 40)}`, method: 'DELETE', url: itemUrl });
      for (const parent of f.parents) {
        const p = parent.replace('{}', o);
        add({ label: `${f.name}: GET list under odd parent ${o.slice(0, 40)}`, method: 'GET', url: p });
        add({ label: `${f.name}: POST under odd parent ${o.slice(0, 40)}`, method: 'POST', url: p, payload: valid });
        add({ label: `${f.name}: PUT under odd parent ${o.slice(0, 40)}`, method: 'PUT', url: `${p}/x`, payload: valid });
        add({ label: `${f.name}: DELETE under odd parent ${o.slice(0, 40)}`, method: 'DELETE', url: `${p}/x` });
      }
    }
    // Dot segments that resolve to missing routes or objects.
    // (A bare trailing '..' is not sent: it names the parent, a valid resource.)
    for (const dots of ['../nosuch', '../../nosuch', '%2e%2e/nosuch', '../../../../../etc/passwd', './../nosuch', '..%2Fnosuch']) {
      add({ label: `${f.name}: GET ${dots}`, method: 'GET', url: `${f.itemPrefix}/${dots}` });
      add({ label: `${f.name}: PUT ${dots}`, method: 'PUT', url: `${f.itemPrefix}/${dots}`, payload: valid });
      add({ label: `${f.name}: DELETE ${dots}`, method: 'DELETE', url: `${f.itemPrefix}/${dots}` });
    }
    // Unknown sub-routes and methods.
    add({ label: `${f.name}: PATCH item`, method: 'PATCH', url: f.item, payload: valid, errorClass: 1000 });
    add({ label: `${f.name}: PATCH collection`, method: 'PATCH', url: f.collection, payload: valid, errorClass: 1000 });
    add({ label: `${f.name}: PUT collection`, method: 'PUT', url: f.collection, payload: valid, errorClass: 1000 });
    add({ label: `${f.name}: DELETE collection`, method: 'DELETE', url: f.collection, errorClass: 1000 });
    add({ label: `${f.name}: POST item`, method: 'POST', url: f.item, payload: valid, errorClass: 1000 });
    add({ label: `${f.name}: OPTIONS item`, method: 'OPTIONS', url: f.item });
    add({ label: `${f.name}: GET below item`, method: 'GET', url: `${f.item}/nosuch/deeper`, errorClass: 1000 });
    add({ label: `${f.name}: DELETE below item`, method: 'DELETE', url: `${f.item}/nosuch/deeper`, errorClass: 1000 });
  }

  // Bad query parameters on every list (and view on service types).
  const lists = ['/images', '/flavors', '/projects', '/configs', '/templates', '/projects/seedproj/templates'];
  const badQueries = ['limit=abc', 'limit=0', 'limit=-5', 'limit=1.5', 'limit=99999999', 'limit=1e3', 'limit=', 'limit=%00', 'limit=1&limit=2', 'after=AA', 'after=%00', 'after=!!!', 'after=', 'after=Zm9v%3D'];
  for (const l of lists) for (const q of badQueries) add({ label: `GET ${l}?${q}`, method: 'GET', url: `${l}?${q}`, errorClass: 1100 });
  for (const q of ['view=bogus', 'view=FULL', 'view=%00', 'view=full&view=summary']) {
    add({ label: `GET /configs/seedst?${q}`, method: 'GET', url: `/configs/seedst?${q}` });
    add({ label: `GET /configs?${q}`, method: 'GET', url: `/configs?${q}` });
  }
  // Unknown routes.
  for (const u of ['/', '/imagez', '/image', '/project', '/api/nosuch.json', '/configs/seedst/versions/1/nosuch', '/projects/seedproj/templatez', '/%ZZ', '/%00', '/' + 'z'.repeat(2000)]) {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      if (u === '/' && m === 'GET') continue; // the web console's page (test/api/web.test.ts)
      add({ label: `${m} ${u.slice(0, 40)}`, method: m, url: u, payload: m === 'GET' || m === 'DELETE' ? undefined : '{}' });
    }
  }
  for (const m of ['POST', 'PUT', 'DELETE']) add({ label: `${m} /version`, method: m, url: '/version', payload: m === 'DELETE' ? undefined : '{}', errorClass: 1000 });
  return cases;
}

// ---- the suite ------------------------------------------------------------------------------------
describeEachStore('malformed requests', (ctx) => {
  let api: Api;
  const snapshotUrls = [
    '/images',
    '/flavors',
    '/projects',
    '/configs',
    '/configs?view=summary',
    '/templates',
    '/projects/seedproj/templates',
    '/images/seedimg',
    '/flavors/seedflv',
    '/projects/seedproj',
    '/configs/seedst?view=full',
    '/configs/seeddep?view=full',
    '/templates/seedtpl-common',
    '/projects/seedproj/templates/seedtpl-seedproj',
  ];
  const snapshot = async () => Promise.all(snapshotUrls.map(async (u) => [u, (await api.get(u)).body] as const));

  beforeAll(async () => {
    const app = await buildServer({ store: ctx.api.store, logger: false, bodyLimit: 1024 * 1024 });
    api = new Api(app, ctx.api.store);
    const seed: Array<[string, unknown]> = [
      ['/images', image('seedimg')],
      ['/flavors', flavor('seedflv')],
      ['/projects', project('seedproj', 'seedimg', 'seedflv')],
      ['/configs', SEED_TYPE_DEP],
      ['/configs', SEED_TYPE],
      ['/templates', seedTemplate],
      ['/projects/seedproj/templates', seedTemplate],
    ];
    for (const [url, body] of seed) {
      const r = await api.post(url, body);
      expect(r.status, `${url}: ${r.raw}`).toBe(201);
    }
  });

  afterAll(async () => {
    await api?.app.close();
  });

  it('generates the same barrage for the same seed', () => {
    const a = buildCases(20240601).map((c) => `${c.method} ${c.url} ${c.contentType ?? ''} ${String(c.payload).slice(0, 200)}`);
    const b = buildCases(20240601).map((c) => `${c.method} ${c.url} ${c.contentType ?? ''} ${String(c.payload).slice(0, 200)}`);
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThanOrEqual(500);
  });

  it('answers every malformed request with a 4xx JSON envelope and changes nothing', { timeout: 180_000 }, async () => {
    const before = await snapshot();
    for (const [u, body] of before) expect(body?.Status, u).toBe(200);

    const cases = buildCases(20240601);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const c of cases) {
      const headers: Record<string, string> = c.contentType ? { 'content-type': c.contentType } : {};
      let r: Reply;
      try {
        r = await api.request(c.method, c.url, c.payload, headers);
      } catch (err) {
        failures.push(`${c.label}: inject threw ${(err as Error).message}`);
        continue;
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const problems: string[] = [];
      if (r.status < 400 || r.status > 499) problems.push(`status ${r.status}`);
      if (c.status !== undefined && r.status !== c.status) problems.push(`status ${r.status}, expected ${c.status}`);
      if (!/^application\/json/.test(String(r.headers['content-type']))) problems.push(`content-type ${String(r.headers['content-type'])}`);
      const b = r.body;
      if (!b || typeof b !== 'object') problems.push('body is not a JSON object');
      else {
        if (typeof b.Type !== 'number') problems.push('Type is not a number');
        if (b.Status !== r.status) problems.push(`Status ${String(b.Status)} != ${r.status}`);
        if (typeof b.Title !== 'string' || b.Title === '') problems.push('no Title');
        if (typeof b.Detail?.Message !== 'string' || b.Detail.Message === '') problems.push('no Detail.Message');
        if (b.Detail?.Data !== 'No data') problems.push('Data is not "No data"');
        if (c.errorClass !== undefined && b.Type !== c.errorClass) problems.push(`class ${String(b.Type)}, expected ${c.errorClass}`);
      }
      if (problems.length) failures.push(`${c.label} [${c.method} ${c.url.slice(0, 80)}]: ${problems.join('; ')} :: ${r.raw.slice(0, 200)}`);
    }
    expect(failures.slice(0, 40), `${failures.length} of ${cases.length} failed`).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(500);
    // The barrage exercised more than one kind of refusal.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 404, 413]));

    expect(await snapshot()).toEqual(before);
    const v = await api.get('/version');
    expect(v.status).toBe(200);
    expect(typeof v.data).toBe('string');
  });

  it('still serves valid requests after the barrage', async () => {
    const r = await api.post('/images', image('after-barrage'));
    expect(r.status).toBe(201);
    expect((await api.delete('/images/after-barrage')).status).toBe(204);
  });
});
