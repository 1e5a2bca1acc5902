// The in-memory catalog cache must never serve a catalog that another replica changed: two Store
// instances on one database play two API replicas.
import { describe, it, expect, afterAll } from 'vitest';
import { Store } from '../../src/store/store.js';
import { buildServer } from '../../src/api/server.js';
import { Api } from '../helpers/api.js';
import { backends, type OpenedStore } from '../helpers/stores.js';

const TYPE = {
  Type: 'cachedsvc',
  Class: 'storage',
  DefaultVersion: '1',
  Description: 'first',
  Versions: [{ Version: '1', Configs: [{ ParameterName: 'port', Type: 'int', DefaultValue: '1' }] }],
};

for (const backend of backends()) {
  describe(`catalog cache across replicas [${backend.name}]`, () => {
    let opened: OpenedStore;
    let second: Store;
    const closers: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const c of closers.reverse()) await c();
    });

    it('a replica sees catalog changes made through another one', async () => {
      opened = await backend.open();
      closers.push(() => opened.cleanup());
      second = await Store.open({ storage: backend.name, url: opened.url });
      closers.push(() => second.close());
      const a = new Api(await buildServer({ store: opened.store, logger: false }), opened.store);
      const b = new Api(await buildServer({ store: second, logger: false }), second);
      closers.push(() => a.app.close(), () => b.app.close());

      expect((await a.post('/configs', TYPE)).status).toBe(201);
      // Both replicas read (and cache) the type.
      expect((await a.get('/configs/cachedsvc?view=full')).data.Description).toBe('first');
      expect((await b.get('/configs/cachedsvc?view=full')).data.Description).toBe('first');

      // B changes the type and adds a version; A must see both at once.
      expect((await b.put('/configs/cachedsvc', { Description: 'second' })).status).toBe(200);
      expect((await b.post('/configs/cachedsvc/versions', { Version: '2' })).status).toBe(201);
      const seen = (await a.get('/configs/cachedsvc?view=full')).data;
      expect(seen.Description).toBe('second');
      expect(seen.Versions.map((v: { Version: string }) => v.Version)).toEqual(['1', '2']);

      // A deletes a parameter; B must not serve it any more.
      expect((await a.delete('/configs/cachedsvc/versions/1/configs/port')).status).toBe(204);
      expect((await b.get('/configs/cachedsvc/versions/1')).data.Configs).toEqual([]);
      expect((await b.get('/configs/cachedsvc/versions/1/configs/port')).status).toBe(404);
    });
  });
}
