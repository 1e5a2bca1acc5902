// `michman catalog list|show`: the service types the server can deploy, and a type's versions.
// (`michman catalog import` beside them is a server-side tool that writes the database.)
import type { Command } from 'commander';
import { act, common, enc, usageExit } from '../context.js';
import { fields, print, str, table } from '../output.js';

interface ServiceType {
  Type?: string;
  Description?: string;
  Class?: string;
  DefaultVersion?: string;
  AccessPort?: number;
  Versions?: Array<{ Version?: string; Description?: string; Configs?: Array<{ ParameterName?: string; Type?: string; DefaultValue?: string; Description?: string }>; Dependencies?: Array<{ ServiceType?: string; ServiceVersions?: string[] }> } & Record<string, unknown>>;
}

export function catalogCommands(program: Command): void {
  // `catalog` exists already (import); the client's subcommands join it.
  const g = program.commands.find((c) => c.name() === 'catalog') ?? program.command('catalog').description('the service catalog');
  usageExit(g);

  common(g.command('list').description('service types the server offers, with their versions (GET /configs)')).action(
    act(async (ctx) => {
      const list = await ctx.api.get<ServiceType[]>('/configs');
      print(ctx.out, list, () =>
        table(['type', 'class', 'default', 'versions', 'description'], list.map((t) => [str(t.Type), str(t.Class), str(t.DefaultVersion), (t.Versions ?? []).map((v) => v.Version).join(','), str(t.Description).split('\n')[0]!.slice(0, 60)])),
      );
    }),
  );

  common(
    g
      .command('show')
      .description("a service type and its versions; with a version, that version's parameters and dependencies")
      .argument('<type>', 'service type, e.g. redis')
      .argument('[version]', 'one version, e.g. 7.0'),
  ).action(
    act(async (ctx, [type, version]) => {
      const o = { version };
      const t = await ctx.api.get<ServiceType>(`/configs/${enc(type!)}`, { view: 'full' });
      if (o.version !== undefined) {
        const v = await ctx.api.get(`/configs/${enc(type!)}/versions/${enc(o.version)}`);
        print(ctx.out, v, () => {
          let text = fields([['Type', t.Type], ['Version', str(v.Version)], ['Description', str(v.Description)]]);
          const cfg = (v.Configs ?? []) as NonNullable<NonNullable<ServiceType['Versions']>[number]['Configs']>;
          if (cfg.length > 0) text += `\n${table(['parameter', 'type', 'default', 'description'], cfg.map((c) => [str(c.ParameterName), str(c.Type), str(c.DefaultValue), str(c.Description).split('\n')[0]!.slice(0, 60)]))}`;
          const deps = (v.Dependencies ?? []) as Array<{ ServiceType?: string; ServiceVersions?: string[] }>;
          if (deps.length > 0) text += `\n${table(['depends on', 'versions'], deps.map((d) => [str(d.ServiceType), (d.ServiceVersions ?? []).join(',')]))}`;
          return text;
        });
        return;
      }
      print(ctx.out, t, () => {
        let text = fields([['Type', t.Type], ['Class', t.Class], ['Default version', t.DefaultVersion], ['Access port', str(t.AccessPort)], ['Description', t.Description]]);
        const vs = t.Versions ?? [];
        if (vs.length > 0) text += `\n${table(['version', 'parameters', 'depends on', 'description'], vs.map((v) => [str(v.Version), str((v.Configs ?? []).length), (v.Dependencies ?? []).map((d) => d.ServiceType).join(','), str(v.Description).split('\n')[0]!.slice(0, 60)]))}`;
        return text;
      });
    }),
  );
}
