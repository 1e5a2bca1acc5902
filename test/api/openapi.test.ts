// The OpenAPI document is usable by Swagger UI's "Try it out" and by client generators: named
// component schemas, one operationId per operation, security schemes, examples, and generated
// fields marked readOnly (so a request body example leaves out ID, EntityStatus, ...).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { openApi, type Api } from '../helpers/api.js';
import { backends } from '../helpers/stores.js';

const sqlite = backends().find((b) => b.name === 'sqlite')!;
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

describe('OpenAPI document', () => {
  let api: Api;
  let close: () => Promise<void>;
  let doc: any;
  beforeAll(async () => {
    ({ api, close } = await openApi(sqlite));
    doc = (await api.get('/api/openapi.json')).body;
  });
  afterAll(async () => close?.());

  it('names the component schemas and refers to them', () => {
    for (const name of ['Cluster', 'Project', 'Image', 'Flavor', 'ServiceType', 'Template', 'Service', 'Error']) expect(doc.components.schemas[name], name).toBeDefined();
    const create = doc.paths['/projects/{projectIdOrName}/clusters'].post;
    expect(create.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Cluster' });
    const get = doc.paths['/projects/{projectIdOrName}/clusters/{clusterIdOrName}'].get;
    expect(get.responses['200'].content['application/json'].schema.properties.Detail.properties.Data).toEqual({ $ref: '#/components/schemas/Cluster' });
    expect(get.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    // Nested objects are references too.
    expect(doc.components.schemas.Cluster.properties.Services.items).toEqual({ $ref: '#/components/schemas/Service' });
  });

  it('marks generated fields readOnly, so Try it out does not pre-fill them', () => {
    const c = doc.components.schemas.Cluster.properties;
    for (const f of ['ID', 'Name', 'EntityStatus', 'HostURL', 'ClusterType', 'MasterIP', 'ProjectID', 'OwnerID']) expect(c[f].readOnly, f).toBe(true);
    for (const f of ['DisplayName', 'NSlaves', 'Services', 'Image']) expect(c[f].readOnly, f).toBeUndefined();
    expect(doc.components.schemas.Project.properties.ID.readOnly).toBe(true);
    expect(doc.components.schemas.Service.properties.EntityStatus.readOnly).toBe(true);
    expect(doc.components.schemas.Service.properties.URL.readOnly).toBe(true);
  });

  it('gives every operation a unique operationId', () => {
    const ids: string[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        expect(item[m].operationId, `${m} ${path}`).toMatch(/^[a-z][A-Za-z0-9]+$/);
        ids.push(item[m].operationId);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/projects/{projectIdOrName}/clusters'].post.operationId).toBe('createCluster');
  });

  it('declares the security schemes; public routes need none', () => {
    const s = doc.components.securitySchemes;
    expect(s.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(s.keystoneToken).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Auth-Token' });
    expect(s.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'session' });
    expect(doc.security).toEqual([{ bearerAuth: [] }, { keystoneToken: [] }, { sessionCookie: [] }]);
    expect(doc.paths['/version'].get.security).toEqual([]);
  });

  it('has examples for the main objects', () => {
    expect(doc.components.schemas.Cluster.example).toMatchObject({ DisplayName: expect.any(String) });
    expect(doc.components.schemas.Cluster.example.ID).toBeUndefined();
    expect(doc.components.schemas.Project.example).toBeDefined();
  });
});
