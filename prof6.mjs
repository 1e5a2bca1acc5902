import { Store } from './dist/src/store/store.js';
import { buildServer } from './dist/src/api/server.js';
import { newId } from './dist/src/store/ids.js';
import { loadBuiltinCatalogIfEmpty } from './dist/src/catalog.js';
import Fastify from 'fastify';
const store = await Store.open({ storage: 'sqlite', url: '/tmp/prof6.sqlite' + Date.now() });
await store.migrate();
await loadBuiltinCatalogIfEmpty(store);
await store.images.insert({ ID: newId(), Name: 'img', AnsibleUser: 'u', CloudImageID: 'x' });
await store.flavors.insert({ ID: newId(), Name: 'fl', VCPUs: 1, RAM: 1, Disk: 1 });
await store.projects.insert({ ID: newId(), Name: 'p500', DisplayName: 'p500', GroupID: '', Description: '', DefaultImage: 'img', DefaultMasterFlavor: 'fl', DefaultSlavesFlavor: 'fl', DefaultStorageFlavor: 'fl', DefaultMonitoringFlavor: 'fl' });
const app = await buildServer({ store, logger: false });
const h = Fastify(); h.get('/', async () => ({ hello: 'world' })); await h.ready();
async function tput(label, a, url, n = 30000, c = 10) {
  let i = 0; const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: c }, async () => { while (i++ < n) await a.inject({ method: 'GET', url }); }));
  const us = Number(process.hrtime.bigint() - t) / 1000 / n; console.log(label.padEnd(30), us.toFixed(1), 'µs/req');
}
for (let r = 0; r < 2; r++) {
  await tput('hello', h, '/');
  await tput('/version', app, '/version');
  await tput('/projects/p500', app, '/projects/p500');
  await tput('/configs/spark?view=full', app, '/configs/spark?view=full');
}
