// Cross-cutting conventions of the API (reference §0.1, §1, §3.8): the envelope on success and on
// error, Content-Type on the wire, 204s, /version, /api, body decoding and pagination headers.
import { it, expect, beforeAll } from 'vitest';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeEachStore, image, flavor, project, type Api, type Reply } from '../helpers/api.js';
import { ImageSchema } from '../../src/domain/wire.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request over a real socket, with exactly the headers given (no implicit Content-Type). */
function raw(port: number, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const TITLES: Record<number, string> = {
  200: 'Bad request',
  300: 'Bad request',
  500: 'Bad request',
  600: 'Bad request',
  1000: 'Object not found',
  1100: 'Bad request',
};

function expectErrorEnvelope(body: any, status: number, errorClass: number): void {
  expect(Object.keys(body).sort()).toEqual(['Detail', 'Status', 'Title', 'Type']);
  expect(body.Type).toBe(errorClass);
  expect(body.Status).toBe(status);
  if (TITLES[errorClass]) expect(body.Title).toBe(TITLES[errorClass]);
  expect(Object.keys(body.Detail).sort()).toEqual(['Data', 'Message']);
  expect(body.Detail.Data).toBe('No data');
  expect(typeof body.Detail.Message).toBe('string');
  expect(body.Detail.Message.length).toBeGreaterThan(0);
}

function expectError(r: Reply, status: number, errorClass: number): void {
  expect(r.status, r.raw).toBe(status);
  expectErrorEnvelope(r.body, status, errorClass);
}

const isJson = (ct: unknown) => typeof ct === 'string' && /^application\/json(;|$)/.test(ct);

describeEachStore('conventions', (ctx) => {
  let api: Api;
  let port: number;

  beforeAll(async () => {
    api = ctx.api;
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as AddressInfo).port;
    expect((await api.post('/images', image('base'))).status).toBe(201);
    expect((await api.post('/flavors', flavor('base'))).status).toBe(201);
    expect((await api.post('/projects', project('conv', 'base', 'base'))).status).toBe(201);
  });

  // ---- success envelope ------------------------------------------------------------------------
  it('200 envelope: Type 1, Status 200, Title, "Request: GET /images", Data', async () => {
    const r = await api.get('/images');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['Detail', 'Status', 'Title', 'Type']);
    expect(r.body).toMatchObject({ Type: 1, Status: 200, Title: 'Request successful' });
    expect(r.body.Detail.Message).toBe('Request: GET /images');
    expect(Array.isArray(r.data)).toBe(true);
    expect(r.data.map((i: { Name: string }) => i.Name)).toContain('base');
  });

  it('201 envelope: Type 2, Status 201, "Request: POST /images", Data = the created object', async () => {
    const r = await api.post('/images', image('env201'));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ Type: 2, Status: 201, Title: 'Request successful' });
    expect(r.body.Detail.Message).toBe('Request: POST /images');
    expect(r.data).toMatchObject({ Name: 'env201', AnsibleUser: 'ubuntu' });
    expect(typeof r.data.ID).toBe('string');
    const one = await api.get('/images/env201');
    expect(one.body.Detail.Message).toBe('Request: GET /images/env201');
    expect(one.data).toEqual(r.data);
  });

  it('GET /version is a 200 envelope whose Data is a string', async () => {
    const r = await api.get('/version');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ Type: 1, Status: 200, Title: 'Request successful' });
    expect(typeof r.data).toBe('string');
    expect(r.data.length).toBeGreaterThan(0);
    expect(r.message).toMatch(/^Request: .*\/version/);
  });

  // ---- error envelope --------------------------------------------------------------------------
  it('error envelopes carry the class, its status and title, and Data "No data"', async () => {
    expectError(await api.get('/images/nosuch'), 404, 1000);
    expect((await api.get('/images/nosuch')).message).toBe('image with this name or id (nosuch) does not exist');
    const bad = await api.post('/images', '{"Name": 5}');
    expectError(bad, 400, 200);
    expect(bad.message).toMatch(/^incorrect json format/);
    expectError(await api.post('/images', { Name: 'noUser', CloudImageID: 'x' }), 400, 300);
    expectError(await api.post('/images', image('base')), 400, 600);
    expectError(await api.get('/images?limit=abc'), 400, 1100);
    // "base" is the default image of project "conv": in use.
    expectError(await api.put('/images/base', { AnsibleUser: 'root' }), 400, 300);
    expectError(await api.put('/flavors/base', { VCPUs: 4 }), 400, 500);
  });

  it('an unknown route is a 404 envelope of class 1000; so is an unknown method', async () => {
    const r = await api.get('/no/such/route');
    expectError(r, 404, 1000);
    for (const [m, u] of [
      ['PATCH', '/images'],
      ['POST', '/version'],
      ['DELETE', '/images'],
      ['GET', '/projects/conv/clusterz'],
    ]) {
      const x = await api.request(m!, u!);
      expect(x.status, `${m} ${u}`).toBeGreaterThanOrEqual(400);
      expect(x.status).toBeLessThan(500);
      expectErrorEnvelope(x.body, x.status, x.body.Type);
    }
  });

  // ---- on the wire -----------------------------------------------------------------------------
  it('every envelope is sent with Content-Type: application/json over a real socket', async () => {
    const cases: Array<[string, string, string | undefined, number]> = [
      ['GET', '/images', undefined, 200],
      ['GET', '/version', undefined, 200],
      ['POST', '/images', JSON.stringify(image('wire1')), 201],
      ['GET', '/images/wire1', undefined, 200],
      ['PUT', '/images/wire1', '{"AnsibleUser":"root"}', 200],
      ['GET', '/images/nosuch', undefined, 404],
      ['GET', '/nowhere', undefined, 404],
      ['POST', '/images', '{"Name":', 400],
      ['POST', '/images', '{"Name":"x"}', 400],
      ['POST', '/images', JSON.stringify(image('base')), 400],
      ['GET', '/images?limit=0', undefined, 400],
      ['GET', '/images/%ZZ', undefined, 400],
      ['POST', '/flavors', '{"VCPUs":"2"}', 400],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await raw(port, method, path, body, body === undefined ? {} : { 'content-type': 'application/json' });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
      expect(isJson(r.headers['content-type']), `${method} ${path}: ${String(r.headers['content-type'])}`).toBe(true);
      expect(r.json.Status).toBe(status);
      expect(r.text).toBe(JSON.stringify(r.json) + (r.text.endsWith('\n') ? '\n' : ''));
    }
  });

  it('an over-limit body is a 413 JSON envelope', async () => {
    const big = JSON.stringify({ Name: 'x', AnsibleUser: 'y', CloudImageID: 'z', Description: 'd'.repeat(1536 * 1024) });
    const r = await api.post('/images', big);
    expect(r.status).toBe(413);
    expect(isJson(r.headers['content-type'])).toBe(true);
    expectErrorEnvelope(r.body, 413, r.body.Type);
    expect((await api.get('/images/x')).status).toBe(404);
  });

  it('204 has an empty body', async () => {
    expect((await api.post('/images', image('doomed'))).status).toBe(201);
    const r = await raw(port, 'DELETE', '/images/doomed');
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(r.headers['content-length'] ?? '0').toBe('0');
    expect((await api.get('/images/doomed')).status).toBe(404);
  });

  // ---- /api ------------------------------------------------------------------------------------
  it('/api serves the Swagger UI (following redirects)', async () => {
    let url = '/api';
    let r = await api.get(url);
    for (let hops = 0; r.status >= 300 && r.status < 400 && hops < 5; hops++) {
      url = new URL(String(r.headers.location), `http://127.0.0.1${url}`).pathname;
      r = await api.get(url);
    }
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toMatch(/^text\/html/);
    expect(r.raw).toMatch(/swagger/i);
    expect(r.raw).toMatch(/<html/i);
  });

  it('/api/openapi.json is an OpenAPI 3 document generated from the validating schemas', async () => {
    const r = await api.get('/api/openapi.json');
    expect(r.status).toBe(200);
    expect(isJson(r.headers['content-type'])).toBe(true);
    const doc = r.body;
    expect(String(doc.openapi)).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of ['/projects', '/configs/{st}/versions', '/images', '/flavors', '/templates', '/projects/{projectIdOrName}/templates']) {
      expect(paths).toContain(p);
    }
    expect(doc.paths['/images'].post).toBeDefined();
    expect(doc.paths['/images'].get).toBeDefined();
    // The Image schema: a component if registered, else inline in the request body of POST /images.
    const imageSchema =
      doc.components?.schemas?.Image ?? doc.paths['/images'].post.requestBody.content['application/json'].schema;
    const props = Object.keys(imageSchema.properties).sort();
    expect(props).toEqual(['AnsibleUser', 'CloudImageID', 'ID', 'Name']);
    expect(props).toEqual(Object.keys(ImageSchema.properties).sort());
    expect(imageSchema.properties.Name.maxLength).toBe(ImageSchema.properties.Name.maxLength);
  });

  // ---- body decoding ---------------------------------------------------------------------------
  it('keys match case-insensitively', async () => {
    const r = await api.post('/images', { name: 'lower', ansibleuser: 'u1', CLOUDIMAGEID: 'cid' });
    expect(r.status, r.raw).toBe(201);
    expect(r.data).toMatchObject({ Name: 'lower', AnsibleUser: 'u1', CloudImageID: 'cid' });
    const got = await api.get('/images/lower');
    expect(got.data).toMatchObject({ Name: 'lower', AnsibleUser: 'u1', CloudImageID: 'cid' });
    expect(Object.keys(got.data).sort()).toEqual(['AnsibleUser', 'CloudImageID', 'ID', 'Name']);
    const f = await api.post('/flavors', { NAME: 'ciflavor', vcpus: 1, Ram: 512, dISK: 5 });
    expect(f.status, f.raw).toBe(201);
    expect(f.data).toMatchObject({ Name: 'ciflavor', VCPUs: 1, RAM: 512, Disk: 5 });
  });

  it('unknown keys are refused, naming each (the original ignored them: typos went unnoticed)', async () => {
    const r = await api.post('/images', { ...image('extra'), Foo: 1, nested: { a: [1, 2] }, ImageID: 'nope' });
    expect(r.status, r.raw).toBe(400);
    expect(r.message).toContain("unknown field 'Foo'");
    expect(r.message).toContain("unknown field 'nested'");
    expect(r.message).toContain("unknown field 'ImageID'");
    expect((await api.get('/images/extra')).status).toBe(404);
  });

  it('a null field is the same as an absent one', async () => {
    const r = await api.post('/images', { ...image('nulls'), ID: null });
    expect(r.status, r.raw).toBe(201);
    expect(typeof r.data.ID).toBe('string');
    // A required field sent as null is missing (validation, not a JSON error).
    expectError(await api.post('/images', { Name: 'nullUser', AnsibleUser: null, CloudImageID: 'x' }), 400, 300);
    // PUT: null leaves the stored value alone.
    const put = await api.put('/images/nulls', { Name: null, AnsibleUser: 'changed', CloudImageID: null });
    expect(put.status, put.raw).toBe(200);
    expect(put.data).toMatchObject({ Name: 'nulls', AnsibleUser: 'changed', CloudImageID: image().CloudImageID });
  });

  it('wrong JSON types are 400 "incorrect json format" (class 200)', async () => {
    const cases: Array<[string, unknown]> = [
      ['/images', { Name: 5, AnsibleUser: 'u', CloudImageID: 'c' }],
      ['/images', { Name: ['a'], AnsibleUser: 'u', CloudImageID: 'c' }],
      ['/images', { Name: 'a', AnsibleUser: true, CloudImageID: 'c' }],
      ['/images', { Name: 'a', AnsibleUser: 'u', CloudImageID: { x: 1 } }],
      ['/flavors', { Name: 'f', VCPUs: '2', RAM: 1, Disk: 1 }],
      ['/flavors', { Name: 'f', VCPUs: 1.5, RAM: 1, Disk: 1 }],
      ['/flavors', { Name: 'f', VCPUs: 1, RAM: 2147483648, Disk: 1 }],
      ['/flavors', { Name: 'f', VCPUs: 1, RAM: 1, Disk: [1] }],
      ['/projects', { ...project('wrong', 'base', 'base'), GroupID: 7 }],
      ['/configs', { Type: 'x', Versions: { Version: '1' } }],
      ['/templates', { DisplayName: 'tt', NSlaves: '1' }],
    ];
    for (const [url, body] of cases) {
      const r = await api.post(url, body);
      expectError(r, 400, 200);
      expect(r.message).toMatch(/^incorrect json format/);
    }
    for (const body of ['[]', '"a string"', '42', 'true', 'null']) {
      const r = await api.post('/images', body);
      expectError(r, 400, 200);
    }
    expectError(await api.post('/images', ''), 400, 200);
  });

  it('any Content-Type (or none) is parsed as JSON, as the original did', async () => {
    const bodies: Array<[string, Record<string, string>]> = [
      ['ct-plain', { 'content-type': 'text/plain' }],
      ['ct-form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['ct-none', {}],
      ['ct-charset', { 'content-type': 'application/json; charset=utf-8' }],
      ['ct-xml', { 'content-type': 'application/xml' }],
      ['ct-octet', { 'content-type': 'application/octet-stream' }],
    ];
    for (const [name, headers] of bodies) {
      const r = await raw(port, 'POST', '/images', JSON.stringify(image(name)), headers);
      expect(r.status, `${name}: ${r.text}`).toBe(201);
      expect(isJson(r.headers['content-type'])).toBe(true);
      expect(r.json.Detail.Data.Name).toBe(name);
    }
    // Through inject too, for the two most common client mistakes.
    const t = await api.request('POST', '/flavors', JSON.stringify(flavor('ct-inject')), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(t.status, t.raw).toBe(201);
    // Malformed JSON is still malformed whatever the declared type.
    const bad = await raw(port, 'POST', '/images', 'Name=x&AnsibleUser=y', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(bad.status).toBe(400);
    expectErrorEnvelope(bad.json, 400, 200);
  });

  it('trailing garbage after the JSON value is a 400 (stricter than Go), and nothing is stored', async () => {
    for (const body of [
      `${JSON.stringify(image('trail1'))} garbage`,
      `${JSON.stringify(image('trail2'))}{}`,
      `${JSON.stringify(image('trail3'))}\n${JSON.stringify(image('trail4'))}`,
      `${JSON.stringify(image('trail5'))}]`,
    ]) {
      const r = await api.post('/images', body);
      expectError(r, 400, 200);
    }
    for (const n of ['trail1', 'trail2', 'trail3', 'trail4', 'trail5']) expect((await api.get(`/images/${n}`)).status).toBe(404);
    // Whitespace around the value is fine.
    expect((await api.post('/images', `\n  ${JSON.stringify(image('trailws'))}  \n\t`)).status).toBe(201);
  });

  it('NUL characters are refused with a 400 before they reach the database (PostgreSQL cannot store them)', async () => {
    const body = await api.post('/images', { Name: 'nul\u0000name', AnsibleUser: 'u', CloudImageID: 'c' });
    expectError(body, 400, 200);
    expectError(await api.post('/images', '{"Name":"n","AnsibleUser":"u","CloudImageID":"c","x\\u0000":1}'), 400, 200);
    for (const url of ['/images/a%00b', '/projects/%00/templates', '/configs/seedst%00', '/images?limit=%00', '/images?after=%00']) {
      expectError(await api.get(url), 400, 1100);
    }
    expectError(await api.put('/images/base%00', { AnsibleUser: 'x' }), 400, 1100);
    expectError(await api.delete('/images/base%00'), 400, 1100);
    expect((await api.get('/images/base')).status).toBe(200);
  });

  // ---- pagination ------------------------------------------------------------------------------
  it('lists page with ?limit and ?after; the next page is in Link and X-Next-Cursor', async () => {
    for (let i = 0; i < 5; i++) expect((await api.post('/images', image(`page-${i}`))).status).toBe(201);
    const all = (await api.get('/images')).data.map((i: { Name: string }) => i.Name) as string[];
    expect(all.length).toBeGreaterThan(6);
    const full = await api.get('/images');
    expect(full.headers['x-next-cursor']).toBeUndefined();
    expect(full.headers.link).toBeUndefined();

    const seen: string[] = [];
    let url: string | undefined = '/images?limit=3';
    let pages = 0;
    while (url) {
      const r: Reply = await api.get(url);
      expect(r.status, r.raw).toBe(200);
      expect(r.body.Type).toBe(1);
      expect(r.message).toBe(`Request: GET ${url}`);
      expect(r.data.length).toBeLessThanOrEqual(3);
      seen.push(...r.data.map((i: { Name: string }) => i.Name));
      pages++;
      const cursor = r.headers['x-next-cursor'] as string | undefined;
      const link = r.headers.link as string | undefined;
      expect(cursor === undefined).toBe(link === undefined);
      if (link) {
        const m = /^<([^>]+)>; rel="next"$/.exec(link);
        expect(m, link).not.toBeNull();
        const next = new URL(m![1]!, 'http://x');
        expect(next.pathname).toBe('/images');
        expect(next.searchParams.get('limit')).toBe('3');
        expect(next.searchParams.get('after')).toBe(cursor);
        url = `${next.pathname}${next.search}`;
      } else url = undefined;
    }
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 3));

    // A page that reaches the end has no next page, even when it is exactly full.
    const exact = await api.get(`/images?limit=${all.length}`);
    expect(exact.headers['x-next-cursor']).toBeUndefined();
    expect(exact.data.length).toBe(all.length);

    for (const q of ['limit=0', 'limit=-1', 'limit=1.5', 'limit=abc', 'limit=1001', 'limit=', 'after=not-a-cursor', 'after=', 'after=AA']) {
      expectError(await api.get(`/images?${q}`), 400, 1100);
    }
    for (const base of ['/flavors', '/projects', '/configs', '/templates']) {
      expect((await api.get(`${base}?limit=1`)).status).toBe(200);
      expectError(await api.get(`${base}?limit=0`), 400, 1100);
    }
  });
});
