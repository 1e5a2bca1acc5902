// `michman project|image|flavor ...`: the basics (list, show, create, delete) of the resources a
// cluster is built from. One declaration per resource: its path, its table columns, its flags.
import type { Command } from 'commander';
import { act, common, enc, group, intFlag } from '../context.js';
import { UsageError } from '../errors.js';
import { readDocument } from '../input.js';
import { fields, print, str, table } from '../output.js';

type Row = Record<string, unknown>;

interface Flag {
  flag: string;
  help: string;
  field: string;
  int?: boolean;
}

interface Resource {
  name: string;
  plural: string;
  path: string;
  description: string;
  columns: Array<[header: string, field: string]>;
  flags: Flag[];
  /** The flag a create cannot do without (unless -f gives the field). */
  required: string;
}

const RESOURCES: Resource[] = [
  {
    name: 'project',
    plural: 'projects',
    path: '/projects',
    description: 'projects: who may use which clusters, and their default image and flavors',
    columns: [['name', 'Name'], ['group', 'GroupID'], ['image', 'DefaultImage'], ['master flavor', 'DefaultMasterFlavor'], ['slaves flavor', 'DefaultSlavesFlavor'], ['id', 'ID']],
    flags: [
      { flag: '--name <name>', help: 'DisplayName', field: 'DisplayName' },
      { flag: '--group <group>', help: 'GroupID: members of this user group are project members', field: 'GroupID' },
      { flag: '--description <text>', help: 'free text', field: 'Description' },
      { flag: '--image <idOrName>', help: 'DefaultImage', field: 'DefaultImage' },
      { flag: '--master-flavor <f>', help: 'DefaultMasterFlavor', field: 'DefaultMasterFlavor' },
      { flag: '--slaves-flavor <f>', help: 'DefaultSlavesFlavor', field: 'DefaultSlavesFlavor' },
      { flag: '--storage-flavor <f>', help: 'DefaultStorageFlavor', field: 'DefaultStorageFlavor' },
      { flag: '--monitoring-flavor <f>', help: 'DefaultMonitoringFlavor', field: 'DefaultMonitoringFlavor' },
    ],
    required: 'DisplayName',
  },
  {
    name: 'image',
    plural: 'images',
    path: '/images',
    description: 'images cluster nodes boot from',
    columns: [['name', 'Name'], ['ansible user', 'AnsibleUser'], ['cloud image id', 'CloudImageID'], ['id', 'ID']],
    flags: [
      { flag: '--name <name>', help: 'Name', field: 'Name' },
      { flag: '--ansible-user <user>', help: 'AnsibleUser: the SSH user Ansible logs in as', field: 'AnsibleUser' },
      { flag: '--cloud-image-id <id>', help: 'CloudImageID: the image in the cloud', field: 'CloudImageID' },
    ],
    required: 'Name',
  },
  {
    name: 'flavor',
    plural: 'flavors',
    path: '/flavors',
    description: 'flavors (machine sizes) of cluster nodes',
    columns: [['name', 'Name'], ['vcpus', 'VCPUs'], ['ram (MB)', 'RAM'], ['disk (GB)', 'Disk'], ['id', 'ID']],
    flags: [
      { flag: '--name <name>', help: 'Name (the cloud flavor name)', field: 'Name' },
      { flag: '--vcpus <n>', help: 'VCPUs', field: 'VCPUs', int: true },
      { flag: '--ram <MB>', help: 'RAM in MB', field: 'RAM', int: true },
      { flag: '--disk <GB>', help: 'Disk in GB', field: 'Disk', int: true },
    ],
    required: 'Name',
  },
];

const optName = (flag: string) => flag.split(' ')[0]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function resourceCommands(program: Command): void {
  for (const r of RESOURCES) {
    const g = group(program, r.name, r.description);
    const row = (x: Row) => r.columns.map(([, f]) => str(x[f]));

    common(g.command('list').description(`list ${r.plural}`)).action(
      act(async (ctx) => {
        const list = await ctx.api.get<Row[]>(r.path);
        print(ctx.out, list, () => (list.length === 0 ? `no ${r.plural}\n` : table(r.columns.map(([h]) => h), list.map(row))));
      }),
    );

    common(g.command('show').description(`one ${r.name}`).argument('<idOrName>', `${r.name} ID or name`)).action(
      act(async (ctx, [id]) => {
        const x = await ctx.api.get<Row>(`${r.path}/${enc(id!)}`);
        print(ctx.out, x, () => fields(Object.entries(x).map(([k, v]) => [k, str(v)])));
      }),
    );

    const create = g.command('create').description(`create a ${r.name} from flags or a file (-f)`).option('-f, --file <file>', `the ${r.name} as JSON or YAML (- = stdin); flags override its fields`);
    for (const f of r.flags) create.option(f.flag, f.help);
    common(create).action(
      act(async (ctx, _a, o: Record<string, string | undefined>) => {
        const body: Row = o.file ? readDocument(o.file) : {};
        for (const f of r.flags) {
          const v = o[optName(f.flag)];
          if (v !== undefined) body[f.field] = f.int ? intFlag(f.flag.split(' ')[0]!, v) : v;
        }
        if (body[r.required] === undefined) throw new UsageError(`give the ${r.name} a --name (or a file with -f)`);
        const x = await ctx.api.post<Row>(r.path, body);
        print(ctx.out, x, () => `${r.name} ${str(x.Name)} created (${str(x.ID)})\n`);
      }),
    );

    common(g.command('delete').description(`delete a ${r.name}`).argument('<idOrName>', `${r.name} ID or name`), { output: false }).action(
      act(async (ctx, [id]) => {
        await ctx.api.delete(`${r.path}/${enc(id!)}`);
        ctx.out.write(`${r.name} ${id} deleted\n`);
      }),
    );
  }
}
