import { it, expect } from 'vitest';
import { describeEachStore, image, flavor, project } from '../helpers/api.js';

describeEachStore('smoke', (ctx) => {
  it('creates an image, a flavor and a project and reads the project back', async () => {
    expect((await ctx.api.post('/images', image())).status).toBe(201);
    expect((await ctx.api.post('/flavors', flavor())).status).toBe(201);
    const p = await ctx.api.post('/projects', project('demo'));
    expect(p.status).toBe(201);
    const got = await ctx.api.get('/projects/demo');
    expect(got.status).toBe(200);
    expect(got.data.ID).toBe(p.data.ID);
    expect(got.data.Name).toBe('demo');
  });
});
