// `michman cluster ...`: create, list, show, watch, scale, delete, credentials — each one request
// (or a stream) to the cluster routes; the server decides, the client shows.
import type { Command } from 'commander';
import { act, common, enc, group, intFlag, type Ctx } from '../context.js';
import { UsageError } from '../errors.js';
import { readDocument, parseService, collect } from '../input.js';
import { fields, paint, print, status, str, table } from '../output.js';
import { watch, listOperations } from '../watch.js';

interface Cluster {
  ID?: string;
  Name?: string;
  DisplayName?: string;
  EntityStatus?: string;
  NSlaves?: number;
  MasterIP?: string;
  HostURL?: string;
  OwnerID?: string;
  Description?: string;
  Image?: string;
  Services?: Array<{ Type?: string; Version?: string; EntityStatus?: string; URL?: string; Config?: Record<string, string> }>;
}

interface Credential {
  Service?: string;
  Type?: string;
  User?: string;
  Password?: string;
  Host?: string;
  Port?: number | string;
  URL?: string;
  ConnectionString?: string;
}

const path = (p: string, c?: string) => `/projects/${enc(p)}/clusters${c === undefined ? '' : `/${enc(c)}`}`;
const services = (c: Cluster) => (c.Services ?? []).map((s) => (s.Version ? `${s.Type}:${s.Version}` : str(s.Type))).join(',');
const PROJECT = ['-p, --project <project>', 'project ID or name'] as const;

export function showCluster(ctx: Ctx, c: Cluster): string {
  const o = ctx.out;
  let text = fields([
    ['Name', c.Name],
    ['ID', c.ID],
    ['Status', c.EntityStatus ? status(o, c.EntityStatus) : undefined],
    ['Slaves', str(c.NSlaves)],
    ['Master IP', c.MasterIP],
    ['Endpoints', c.HostURL],
    ['Image', c.Image],
    ['Owner', c.OwnerID],
    ['Description', c.Description],
  ]);
  const svc = c.Services ?? [];
  if (svc.length > 0) text += `\n${table(['service', 'version', 'status', 'url'], svc.map((s) => [str(s.Type), str(s.Version), s.EntityStatus ? status(o, s.EntityStatus) : '', str(s.URL)]))}`;
  return text;
}

function planText(ctx: Ctx, data: { Cluster?: Cluster; Plan?: { nodes?: Array<{ name: string; role: string; flavor?: string }>; services?: Array<{ type: string; version: string; nodes: string[] }> } | null; Quota?: unknown; Operation?: string | null }): string {
  const c = data.Cluster ?? {};
  let text = `dry run: nothing was stored\n${fields([['Name', c.Name], ['Status', c.EntityStatus], ['Slaves', str(c.NSlaves)], ['Services', services(c)], ['Operation', data.Operation ?? undefined]])}`;
  const p = data.Plan;
  if (p?.nodes?.length) text += `\n${table(['node', 'role', 'flavor'], p.nodes.map((n) => [n.name, n.role, str(n.flavor)]))}`;
  if (p?.services?.length) text += `\n${table(['service', 'version', 'nodes'], p.services.map((s) => [s.type, s.version, s.nodes.join(',')]))}`;
  if (data.Quota !== undefined) text += `\nquota: ${JSON.stringify(data.Quota)}\n`;
  void ctx;
  return text;
}

/** Follows the operation the request just queued. */
async function waitFor(ctx: Ctx, project: string, c: Cluster): Promise<number> {
  const id = c.ID ?? c.Name!;
  const ops = await listOperations(ctx, project, id);
  const last = ops[ops.length - 1];
  return watch(ctx, project, id, { operationId: last?.ID, label: c.Name ?? id });
}

export function clusterCommands(program: Command): void {
  const g = group(program, 'cluster', 'clusters of a project (a client of the server at --url)');

  common(
    g
      .command('create')
      .description('create a cluster from flags or a file (-f); passwords belong in the file, not in --service, which other users can see in the process list')
      .requiredOption(...PROJECT)
      .option('--name <name>', 'DisplayName: letters, digits and "-", starting with a letter')
      .option('--slaves <n>', 'NSlaves: number of slave nodes')
      .option('--service <spec>', 'type[:version][,key=value...], repeatable, e.g. --service redis:7.0 --service spark,spark_worker_cores=2', collect)
      .option('--template <idOrName>', 'start from a stored template (the server fills what the flags leave out)')
      .option('--description <text>', 'free text')
      .option('--image <idOrName>', 'image (default: the project default)')
      .option('-f, --file <file>', 'the cluster as JSON or YAML (- = stdin); flags override its fields')
      .option('--dry-run', "validate and print the server's plan; store nothing")
      .option('--wait', 'follow the creation (as watch does) and exit with its outcome'),
  ).action(
    act(async (ctx, _a, o: { project: string; name?: string; slaves?: string; service?: string[]; template?: string; description?: string; image?: string; file?: string; dryRun?: boolean; wait?: boolean; url?: string }) => {
      const body: Record<string, unknown> = o.file ? readDocument(o.file) : {};
      if (o.name !== undefined) body.DisplayName = o.name;
      const n = intFlag('--slaves', o.slaves);
      if (n !== undefined) body.NSlaves = n;
      if (o.service?.length) body.Services = o.service.map(parseService);
      if (o.template !== undefined) body.Template = o.template;
      if (o.description !== undefined) body.Description = o.description;
      if (o.image !== undefined) body.Image = o.image;
      if (!o.file && body.DisplayName === undefined) throw new UsageError('give the cluster a --name (or a file with -f)');
      if (o.dryRun && o.wait) throw new UsageError('--dry-run and --wait do not go together');
      const data = await ctx.api.post(path(o.project), body, o.dryRun ? { dryRun: 'true' } : undefined);
      if (o.dryRun) {
        print(ctx.out, data, () => planText(ctx, data));
        return;
      }
      const c = data as Cluster;
      if (o.wait) {
        if (ctx.out.format === 'table') ctx.out.write(`cluster ${c.Name} accepted (${c.ID})\n`);
        return waitFor(ctx, o.project, c);
      }
      print(ctx.out, c, () => `cluster ${c.Name} accepted (${c.ID}): ${status(ctx.out, str(c.EntityStatus))}\nfollow it with: michman cluster watch -p ${o.project} ${c.Name}\n`);
    }),
  );

  common(g.command('list').description("a project's clusters").requiredOption(...PROJECT)).action(
    act(async (ctx, _a, o: { project: string }) => {
      const list = await ctx.api.get<Cluster[]>(path(o.project));
      print(ctx.out, list, () =>
        list.length === 0 ? `no clusters in project ${o.project}\n` : table(['name', 'status', 'slaves', 'services', 'master ip', 'id'], list.map((c) => [str(c.Name), status(ctx.out, str(c.EntityStatus)), str(c.NSlaves), services(c), str(c.MasterIP), str(c.ID)])),
      );
    }),
  );

  common(g.command('show').description('a cluster: status, services, URLs').argument('<cluster>', 'cluster ID or name').requiredOption(...PROJECT)).action(
    act(async (ctx, [cluster], o: { project: string }) => {
      const c = await ctx.api.get<Cluster>(path(o.project, cluster!));
      print(ctx.out, c, () => showCluster(ctx, c));
    }),
  );

  common(
    g
      .command('watch')
      .description("follow the cluster's current (or last) operation live until it ends; exit 0 when it succeeded, 4 when it failed or was cancelled")
      .argument('<cluster>', 'cluster ID or name')
      .requiredOption(...PROJECT)
      .option('--operation <id>', 'follow this operation instead of the latest'),
  ).action(act(async (ctx, [cluster], o: { project: string; operation?: string }) => watch(ctx, o.project, cluster!, { operationId: o.operation })));

  common(
    g
      .command('scale')
      .description('change the number of slave nodes (scale out or in)')
      .argument('<cluster>', 'cluster ID or name')
      .requiredOption(...PROJECT)
      .requiredOption('--slaves <n>', 'the new NSlaves')
      .option('--dry-run', "print the server's plan; change nothing")
      .option('--wait', 'follow the scaling and exit with its outcome'),
  ).action(
    act(async (ctx, [cluster], o: { project: string; slaves: string; dryRun?: boolean; wait?: boolean }) => {
      const n = intFlag('--slaves', o.slaves)!;
      if (o.dryRun && o.wait) throw new UsageError('--dry-run and --wait do not go together');
      const data = await ctx.api.put(path(o.project, cluster!), { NSlaves: n }, o.dryRun ? { dryRun: 'true' } : undefined);
      if (o.dryRun) {
        print(ctx.out, data, () => planText(ctx, data));
        return;
      }
      const c = data as Cluster;
      if (o.wait) return waitFor(ctx, o.project, c);
      print(ctx.out, c, () => `cluster ${c.Name}: ${status(ctx.out, str(c.EntityStatus))}, ${c.NSlaves} slave(s) wanted\n`);
    }),
  );

  common(
    g
      .command('delete')
      .description('delete a cluster and its machines')
      .argument('<cluster>', 'cluster ID or name')
      .requiredOption(...PROJECT)
      .option('--force', 'from any state, cancelling what runs')
      .option('--dry-run', "print what would be removed; change nothing")
      .option('--wait', 'follow the deletion and exit with its outcome'),
  ).action(
    act(async (ctx, [cluster], o: { project: string; force?: boolean; dryRun?: boolean; wait?: boolean }) => {
      if (o.dryRun && o.wait) throw new UsageError('--dry-run and --wait do not go together');
      const q: Record<string, string | undefined> = { force: o.force ? 'true' : undefined, dryRun: o.dryRun ? 'true' : undefined };
      const data = await ctx.api.delete(path(o.project, cluster!), q);
      if (o.dryRun) {
        print(ctx.out, data, () => planText(ctx, data));
        return;
      }
      const c = data as Cluster;
      if (o.wait) return waitFor(ctx, o.project, c);
      print(ctx.out, c, () => `cluster ${c.Name}: ${status(ctx.out, str(c.EntityStatus))}\n`);
    }),
  );

  common(
    g
      .command('credentials')
      .description("users, passwords, URLs and connection strings of the cluster's services (project members only; the server audits the request)")
      .argument('<cluster>', 'cluster ID or name')
      .requiredOption(...PROJECT)
      .option('--show-passwords', 'print passwords (masked otherwise, also in json/yaml)'),
  ).action(
    act(async (ctx, [cluster], o: { project: string; showPasswords?: boolean }) => {
      const list = await ctx.api.get<Credential[]>(`${path(o.project, cluster!)}/credentials`);
      const mask = (v: string | undefined) => (v === undefined || v === '' ? v : o.showPasswords ? v : '********');
      const maskIn = (v: string | undefined, pw: string | undefined) => (v && pw && !o.showPasswords ? v.split(pw).join('********') : v);
      const shown = (Array.isArray(list) ? list : []).map((c) => ({ ...c, Password: mask(c.Password), URL: maskIn(c.URL, c.Password), ConnectionString: maskIn(c.ConnectionString, c.Password) }));
      print(ctx.out, shown, () =>
        shown.length === 0
          ? 'no credentials: the services of this cluster have no users or passwords\n'
          : table(['service', 'type', 'user', 'password', 'host', 'port', 'connection string'], shown.map((c) => [str(c.Service), str(c.Type), str(c.User), str(c.Password), str(c.Host), str(c.Port), str(c.ConnectionString ?? c.URL)])) +
            (o.showPasswords ? '' : paint(ctx.out, 'grey', 'passwords masked; --show-passwords prints them\n')),
      );
    }),
  );
}
