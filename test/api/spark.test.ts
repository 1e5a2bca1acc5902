// The spark service type as catalog/spark.json defines it, through the API: a cluster asking for a
// version or a hadoop_version the catalog does not offer, or for no slaves, is refused with a 400
// naming the field; the catalog file itself loads through POST /configs as the original's did.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it, expect, beforeAll } from 'vitest';
import { describeEachStore, image, flavor, project } from '../helpers/api.js';
import { readSparkPins, sparkArtifacts } from '../../src/deploy/ansible/sparkArtifacts.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const SPARK = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'catalog', 'spark.json'), 'utf8'));

describeEachStore('spark service type', (ctx) => {
  beforeAll(async () => {
    expect((await ctx.api.post('/images', image())).status).toBe(201);
    expect((await ctx.api.post('/flavors', flavor())).status).toBe(201);
    expect((await ctx.api.post('/projects', project('sp'))).status).toBe(201);
    const r = await ctx.api.post('/configs', SPARK);
    expect(r.status, r.raw).toBe(201);
  });

  it('offers 3.5.7 (default), 4.0.1 and 4.1.0 with hadoop_version 3.3 or 3.4', async () => {
    const t = (await ctx.api.get('/configs/spark')).data;
    expect(t.DefaultVersion).toBe('3.5.7');
    const versions = (await ctx.api.get('/configs/spark/versions')).data;
    expect(versions.map((v: { Version: string }) => v.Version).sort()).toEqual(['3.5.7', '4.0.1', '4.1.0']);
    for (const v of versions) {
      const hv = v.Configs.find((c: { ParameterName: string }) => c.ParameterName === 'hadoop_version');
      expect(hv.PossibleValues).toEqual(['3.3', '3.4']);
    }
  });

  it('refuses an unknown version, naming it', async () => {
    const r = await ctx.api.post('/projects/sp/clusters', { DisplayName: 'v1', NSlaves: 2, Services: [{ Type: 'spark', Version: '3.4.0' }] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/3\.4\.0/);
    expect(r.message).toMatch(/version/i);
  });

  it('refuses a hadoop_version that is not offered, naming the field', async () => {
    const r = await ctx.api.post('/projects/sp/clusters', { DisplayName: 'h1', NSlaves: 2, Services: [{ Type: 'spark', Config: { hadoop_version: '2.7' } }] });
    expect(r.status).toBe(400);
    expect(r.message).toContain('hadoop_version');
  });

  it('refuses NSlaves 0 (Spark is master-slave), naming NSlaves', async () => {
    const r = await ctx.api.post('/projects/sp/clusters', { DisplayName: 'n0', NSlaves: 0, Services: [{ Type: 'spark' }] });
    expect(r.status).toBe(400);
    expect(r.message).toContain('NSlaves');
  });
});

it('has registry pins for every catalog version and Hadoop line (what the nspawn cache fetches)', () => {
  const pins = readSparkPins(join(PACKAGE_ROOT, 'ansible'));
  for (const v of SPARK.Versions as Array<{ Version: string; Configs: Array<{ ParameterName: string; PossibleValues?: string[] }> }>) {
    for (const line of v.Configs.find((c) => c.ParameterName === 'hadoop_version')!.PossibleValues!) {
      const items = sparkArtifacts(pins, v.Version, line);
      expect(items[0]!.path).toMatch(new RegExp(`^pypi/.+/pyspark-${v.Version.replace(/\./g, '\\.')}\\.tar\\.gz$`));
      expect(items[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
      const jars = items.slice(1);
      expect(jars.length).toBeGreaterThan(50);
      for (const j of jars) expect(j.sha1).toMatch(/^[0-9a-f]{40}$/);
      expect(jars.some((j) => j.path.includes('/hadoop-hdfs/'))).toBe(true);
    }
  }
  expect(() => sparkArtifacts(pins, '9.9.9', '3.3')).toThrow(/no pinned pyspark sdist/);
});
