// `michman template ...`: cluster templates, a project's (/projects/{p}/templates, with --project)
// or the common ones (/templates).
import type { Command } from 'commander';
import { act, common, enc, group, intFlag } from '../context.js';
import { UsageError } from '../errors.js';
import { readDocument, parseService, collect } from '../input.js';
import { fields, print, str, table } from '../output.js';

interface Template {
  ID?: string;
  Name?: string;
  DisplayName?: string;
  ProjectID?: string;
  NSlaves?: number;
  Description?: string;
  Services?: Array<{ Type?: string; Version?: string }>;
}

const base = (project?: string) => (project ? `/projects/${enc(project)}/templates` : '/templates');
const services = (t: Template) => (t.Services ?? []).map((s) => (s.Version ? `${s.Type}:${s.Version}` : str(s.Type))).join(',');
const PROJECT = ['-p, --project <project>', "the project's templates (default: the common templates)"] as const;

export function templateCommands(program: Command): void {
  const g = group(program, 'template', 'cluster templates: services and slaves to create clusters from');

  common(g.command('list').description('list templates').option(...PROJECT)).action(
    act(async (ctx, _a, o: { project?: string }) => {
      const list = await ctx.api.get<Template[]>(base(o.project));
      print(ctx.out, list, () => (list.length === 0 ? 'no templates\n' : table(['name', 'slaves', 'services', 'id'], list.map((t) => [str(t.Name), str(t.NSlaves), services(t), str(t.ID)]))));
    }),
  );

  common(g.command('show').description('one template').argument('<id>', 'template ID').option(...PROJECT)).action(
    act(async (ctx, [id], o: { project?: string }) => {
      const t = await ctx.api.get<Template>(`${base(o.project)}/${enc(id!)}`);
      print(ctx.out, t, () => {
        let text = fields([['Name', t.Name], ['ID', t.ID], ['Project', t.ProjectID], ['Slaves', str(t.NSlaves)], ['Description', t.Description]]);
        if (t.Services?.length) text += `\n${table(['service', 'version'], t.Services.map((s) => [str(s.Type), str(s.Version)]))}`;
        return text;
      });
    }),
  );

  common(
    g
      .command('create')
      .description('create a template from flags or a file (-f)')
      .option(...PROJECT)
      .option('--name <name>', 'DisplayName')
      .option('--slaves <n>', 'NSlaves')
      .option('--service <spec>', 'type[:version][,key=value...], repeatable', collect)
      .option('--description <text>', 'free text')
      .option('-f, --file <file>', 'the template as JSON or YAML (- = stdin); flags override its fields'),
  ).action(
    act(async (ctx, _a, o: { project?: string; name?: string; slaves?: string; service?: string[]; description?: string; file?: string }) => {
      const body: Record<string, unknown> = o.file ? readDocument(o.file) : {};
      if (o.name !== undefined) body.DisplayName = o.name;
      const n = intFlag('--slaves', o.slaves);
      if (n !== undefined) body.NSlaves = n;
      if (o.service?.length) body.Services = o.service.map(parseService);
      if (o.description !== undefined) body.Description = o.description;
      if (body.DisplayName === undefined) throw new UsageError('give the template a --name (or a file with -f)');
      const t = await ctx.api.post<Template>(base(o.project), body);
      print(ctx.out, t, () => `template ${t.Name} created (${t.ID})\n`);
    }),
  );

  common(g.command('delete').description('delete a template').argument('<id>', 'template ID').option(...PROJECT), { output: false }).action(
    act(async (ctx, [id], o: { project?: string }) => {
      await ctx.api.delete(`${base(o.project)}/${enc(id!)}`);
      ctx.out.write(`template ${id} deleted\n`);
    }),
  );
}
