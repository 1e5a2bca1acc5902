// Catalogs: the original's 22 init/*.json files POSTed unchanged (reference Appendix A), the built-in
// catalog loaded on first start, and `importCatalogFiles` (ordering, already-existing types).
import { it, expect } from 'vitest';
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachStore, type Reply } from '../helpers/api.js';
import { checked } from '../helpers/checks.js';
import {
  loadBuiltinCatalogIfEmpty,
  importCatalogFiles,
  builtinCatalogFiles,
  BUILTIN_CATALOG_DIR,
} from '../../src/catalog.js';

// The original's 22 files, unchanged (ISP RAS Michman init/).
const ORIGINAL_DIR = join(import.meta.dirname, '..', 'fixtures', 'original-catalog');


/** The original files in an order where every type comes after the types it depends on. */
function originalFilesInDependencyOrder(): string[] {
  const first = ['spark.json', 'cassandra.json', 'jupyter.json', 'jupyterhub.json', 'kubernetes.json', 'openfaas.json', 'openpai.json', 'mariadb.json', 'nfs-server.json', 'slurm.json'];
  const all = readdirSync(ORIGINAL_DIR).filter((f) => f.endsWith('.json')).sort();
  expect(all).toHaveLength(22);
  for (const f of first) expect(all).toContain(f);
  return [...first, ...all.filter((f) => !first.includes(f))];
}

type Listed = { Type: string; Description?: string; Versions: Array<{ Version: string; Configs: Array<{ ParameterName: string; AnsibleVarName: string }> }> };

describeEachStore('original init/*.json files POSTed unchanged', (ctx) => {
  it('creates every type except cuda (its default driver version is not among the possible values)', async () => {
    const created: string[] = [];
    for (const file of originalFilesInDependencyOrder()) {
      const raw = readFileSync(join(ORIGINAL_DIR, file));
      const r = checked(await ctx.api.post('/configs', raw));
      if (file === 'cuda.json') {
        expect(r.status).toBe(400);
        expect(r.body.Type).toBe(300);
        expect(r.message).toContain('not in possible values');
        expect(r.message).toContain("'418.39'");
        expect(r.message).toContain('gpu_driver_version');
        continue;
      }
      expect({ file, status: r.status, message: r.message }).toMatchObject({ file, status: 201 });
      const doc = JSON.parse(raw.toString('utf8')) as { Type: string; Versions: unknown[] };
      expect(r.data.Type).toBe(doc.Type);
      expect(r.data.Versions).toHaveLength(doc.Versions.length);
      created.push(doc.Type);
    }
    expect(created).toHaveLength(21);
    const list = checked(await ctx.api.get('/configs'));
    expect((list.data as Listed[]).map((t) => t.Type).sort()).toEqual([...created].sort());
    expect(checked(await ctx.api.get('/configs/cuda')).status).toBe(404);
  });

  it('keeps the dependencies: jupyterhub depends on jupyter', async () => {
    const r = checked(await ctx.api.get('/configs/jupyterhub?view=full'));
    expect(r.status).toBe(200);
    const deps = r.data.Versions.flatMap((v: { Dependencies?: unknown[] }) => v.Dependencies ?? []);
    expect(deps).toEqual([expect.objectContaining({ ServiceType: 'jupyter', DefaultServiceVersion: 'jupyter-notebook' })]);
    const dep = checked(await ctx.api.get(`/configs/jupyterhub/versions/${r.data.DefaultVersion}/dependencies/jupyter`));
    expect(dep.data.ServiceVersions).toEqual(expect.arrayContaining(['jupyter-notebook', 'jupyter-lab']));
    // The dependency protects jupyter.
    const del = checked(await ctx.api.delete('/configs/jupyter'));
    expect(del.status).toBe(400);
    expect(del.body.Type).toBe(600);
    expect(del.message).toBe('service type presents in dependencies for another service');
    const slurm = checked(await ctx.api.get('/configs/slurm?view=full'));
    const slurmDeps = new Set(slurm.data.Versions.flatMap((v: { Dependencies?: Array<{ ServiceType: string }> }) => (v.Dependencies ?? []).map((d) => d.ServiceType)));
    expect([...slurmDeps].sort()).toEqual(['mariadb', 'nfs_server']);
  });

  it('generates AnsibleVarName as <type>_<ParameterName>', async () => {
    const redis = checked(await ctx.api.get('/configs/redis?view=full'));
    const names = redis.data.Versions.flatMap((v: Listed['Versions'][number]) => v.Configs.map((c) => c.AnsibleVarName));
    expect(names).toContain('redis_db_password');
    const list = checked(await ctx.api.get('/configs'));
    for (const t of list.data as Listed[]) {
      for (const v of t.Versions) for (const c of v.Configs ?? []) expect(c.AnsibleVarName).toBe(`${t.Type}_${c.ParameterName}`);
    }
    const param = checked(await ctx.api.get(`/configs/redis/versions/${redis.data.DefaultVersion}/configs/db_password`));
    expect(param.data.AnsibleVarName).toBe('redis_db_password');
  });

  it('the first of a dependent pair cannot be skipped: cassandra needs spark', async () => {
    // Posting a file again is "already exists"; a dependency on a missing type is a 404.
    const again = checked(await ctx.api.post('/configs', readFileSync(join(ORIGINAL_DIR, 'spark.json'))));
    expect(again.status).toBe(400);
    expect(again.body.Type).toBe(600);
    expect(again.message).toBe('service type with this name or id (spark) already exists');
    const cassandra = JSON.parse(readFileSync(join(ORIGINAL_DIR, 'cassandra.json'), 'utf8')) as { Type: string; Versions: Array<{ Dependencies: Array<{ ServiceType: string }> }> };
    cassandra.Type = 'cassandra_copy';
    for (const v of cassandra.Versions) for (const d of v.Dependencies) d.ServiceType = 'no_such_type';
    const r = checked(await ctx.api.post('/configs', cassandra));
    expect(r.status).toBe(404);
    expect(r.body.Type).toBe(1000);
    expect(r.message).toBe('service type with this name or id (no_such_type) does not exist');
  });
});

describeEachStore('built-in catalog', (ctx) => {
  it('loads every catalog/*.json without error on an empty store', async () => {
    const files = builtinCatalogFiles();
    const index = JSON.parse(readFileSync(join(BUILTIN_CATALOG_DIR, 'index.json'), 'utf8')) as { order: string[] };
    expect(files.length).toBe(index.order.length);
    const results = await loadBuiltinCatalogIfEmpty(ctx.api.store);
    expect(results).toBeDefined();
    expect(results).toHaveLength(files.length);
    for (const r of results!) expect(r).not.toHaveProperty('error');
    expect(results!.map((r) => r.type).sort()).toEqual([...index.order].sort());
    const list = checked(await ctx.api.get('/configs'));
    const types = (list.data as Listed[]).map((t) => t.Type);
    expect(types).toEqual(expect.arrayContaining(['spark', 'slurm', 'postgresql', 'redis', 'jupyter', 'jupyterhub', 'kubernetes', 'nats', 'prometheus', 'nfs_server', 'cuda']));
    expect(types).toHaveLength(index.order.length);
    for (const t of list.data as Listed[]) {
      for (const v of t.Versions) for (const c of v.Configs ?? []) expect(c.AnsibleVarName).toBe(`${t.Type}_${c.ParameterName}`);
    }
  });

  it('does not reload a store that has service types', async () => {
    expect(await loadBuiltinCatalogIfEmpty(ctx.api.store)).toBeUndefined();
    const list = checked(await ctx.api.get('/configs'));
    expect(list.data).toHaveLength(builtinCatalogFiles().length);
  });

  it('importCatalogFiles reports an already-existing type as an error and leaves it unchanged', async () => {
    const before = checked(await ctx.api.get('/configs/redis?view=full'));
    const dir = mkdtempSync(join(tmpdir(), 'michman-catalog-'));
    try {
      const doc = JSON.parse(readFileSync(join(BUILTIN_CATALOG_DIR, 'redis.json'), 'utf8')) as { Description: string };
      doc.Description = 'changed by a second import';
      const file = join(dir, 'redis.json');
      writeFileSync(file, JSON.stringify(doc));
      const results = await importCatalogFiles(ctx.api.store, [file]);
      expect(results).toEqual([{ source: file, type: 'redis', error: 'service type with this name or id (redis) already exists' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const after = checked(await ctx.api.get('/configs/redis?view=full'));
    expect(after.data).toEqual(before.data);
  });
});

describeEachStore('importCatalogFiles ordering', (ctx) => {
  it('imports the original files in dependency order even when given in reverse', async () => {
    const files = readdirSync(ORIGINAL_DIR).filter((f) => f.endsWith('.json')).sort().reverse().map((f) => join(ORIGINAL_DIR, f));
    const results = await importCatalogFiles(ctx.api.store, files);
    expect(results).toHaveLength(22);
    const order = results.map((r) => r.type);
    for (const [dep, dependent] of [
      ['spark', 'cassandra'],
      ['jupyter', 'jupyterhub'],
      ['kubernetes', 'openfaas'],
      ['kubernetes', 'openpai'],
      ['mariadb', 'slurm'],
      ['nfs_server', 'slurm'],
    ] as const) {
      expect(order.indexOf(dep)).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(dep)).toBeLessThan(order.indexOf(dependent));
    }
    const failed = results.filter((r) => r.error !== undefined);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.type).toBe('cuda');
    expect(failed[0]!.error).toContain("'418.39'");
    const list = checked(await ctx.api.get('/configs'));
    expect(list.data).toHaveLength(21);
  });

  it('reports an unparsable file without stopping the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'michman-catalog-'));
    try {
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{"Type": ');
      const good = join(dir, 'solo.json');
      writeFileSync(good, JSON.stringify({ Type: 'solo', Class: 'storage', DefaultVersion: '1', Versions: [{ Version: '1' }] }));
      // Two files of one Type, and two without a Type: each gets a result (none is silently skipped).
      const twin = join(dir, 'solo-again.json');
      writeFileSync(twin, JSON.stringify({ Type: 'solo', Class: 'storage', DefaultVersion: '2', Versions: [{ Version: '2' }] }));
      const untyped1 = join(dir, 'untyped1.json');
      const untyped2 = join(dir, 'untyped2.json');
      writeFileSync(untyped1, JSON.stringify({ Class: 'storage', DefaultVersion: '1', Versions: [{ Version: '1' }] }));
      writeFileSync(untyped2, JSON.stringify({ Class: 'storage', DefaultVersion: '1', Versions: [{ Version: '1' }] }));
      const results = await importCatalogFiles(ctx.api.store, [bad, good, twin, untyped1, untyped2]);
      expect(results).toHaveLength(5);
      expect(results.find((r) => r.source === bad)?.error).toContain('incorrect json format');
      expect(results.find((r) => r.source === good)).toEqual({ source: good, type: 'solo' });
      expect(results.find((r) => r.source === twin)).toEqual({ source: twin, type: 'solo', error: 'service type with this name or id (solo) already exists' });
      for (const f of [untyped1, untyped2]) expect(results.find((r) => r.source === f)?.error).toBe("service type field 'Type' must be set");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(checked(await ctx.api.get('/configs/solo')).status).toBe(200);
  });
});
