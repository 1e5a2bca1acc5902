import { it } from 'vitest';
import { describeEachStore, image, flavor, project } from '../helpers/api.js';

describeEachStore('probe', (ctx) => {
  it('probe', async () => {
    const a = ctx.api;
    const show = async (m: string, u: string, b?: unknown, h?: Record<string,string>) => {
      const r = await a.request(m, u, b, h);
      console.log(ctx.backend.name, m, u.slice(0, 60), r.status, r.headers['content-type'], r.raw.slice(0, 160));
    };
    await show('POST', '/images', image());
    await show('POST', '/flavors', flavor());
    await show('POST', '/projects', project('demo'));
    await show('POST', '/images', { Name: 'a\u0000b', AnsibleUser: 'x', CloudImageID: 'y' });
    await show('GET', '/images/%00');
    await show('GET', '/images/a%00b');
    await show('GET', '/images/%ZZ');
    await show('GET', '/images?after=AA');
    await show('GET', '/images?limit=abc');
    await show('GET', '/images/' + 'x'.repeat(2000));
    await show('GET', '/images/' + 'x'.repeat(300));
    await show('GET', '/images/..');
    await show('GET', '/images/../flavors');
    await show('GET', '/projects/demo/templates/%00');
    await show('GET', '/configs/%00/versions');
    await show('PATCH', '/images');
    await show('GET', '/nothing');
    await show('POST', '/images', '{"Name":"x"} garbage');
    await show('POST', '/images', '[' .repeat(10000));
    await show('POST', '/images', '['.repeat(10000) + ']'.repeat(10000));
    await show('POST', '/images', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000));
    await show('POST', '/images', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]));
    await show('POST', '/images', 'null');
    await show('POST', '/images', '');
    await show('POST', '/images', undefined);
    await show('DELETE', '/images/ubuntu', '{');
    await show('GET', '/images', '{');
    await show('POST', '/images', '{"name":"n2","ansibleuser":"u","CLOUDIMAGEID":"c"}', { 'content-type': 'text/plain' });
    await show('POST', '/images', '{"name":"n3","ansibleuser":"u","CLOUDIMAGEID":"c"}', { 'content-type': 'application/x-www-form-urlencoded' });
    await show('POST', '/images', '{"name":"n4","ansibleuser":"u","CLOUDIMAGEID":"c", "foo": 1, "ID": null}', {});
    await show('POST', '/templates', { DisplayName: 'a', Services: [{ Type: 'x\u0000' }] });
    await show('POST', '/templates', { DisplayName: 'ab', Services: {} });
    await show('GET', '/version');
    await show('GET', '/api');
    await show('GET', '/api/');
    await show('OPTIONS', '/images');
    await show('GET', '/images?limit=1');
  });
});
