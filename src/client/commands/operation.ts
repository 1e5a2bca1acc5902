// `michman operation ...`: a cluster's operations, and retry or cancel one.
import type { Command } from 'commander';
import { act, common, enc, group } from '../context.js';
import { UsageError } from '../errors.js';
import { fields, print, status, str, table } from '../output.js';
import { listOperations, watch } from '../watch.js';
import type { OperationView } from '../../wire/types.js';

const steps = (op: OperationView) => {
  const done = op.Steps.filter((s) => s.status === 'done').length;
  return op.Steps.length === 0 ? '' : `${done}/${op.Steps.length}`;
};
const errorText = (op: OperationView) => (op.Error ? `${[op.Error.phase, op.Error.node, op.Error.service].filter(Boolean).join(' ')}: ${op.Error.message}` : '');

function showOperation(op: OperationView, o: Parameters<typeof status>[0]): string {
  let text = fields([
    ['ID', op.ID],
    ['Cluster', op.ClusterID],
    ['Kind', op.Kind],
    ['Status', status(o, op.Status)],
    ['Attempt', str(op.Attempt)],
    ['Created', op.CreatedAt],
    ['Started', op.StartedAt],
    ['Finished', op.FinishedAt],
    ['Cancel asked', op.CancelRequested ? 'yes' : undefined],
    ['Error', errorText(op) || undefined],
  ]);
  if (op.Steps.length > 0) text += `\n${table(['step', 'status'], op.Steps.map((s) => [s.name, status(o, s.status)]))}`;
  return text;
}

export function operationCommands(program: Command): void {
  const g = group(program, 'operation', "a cluster's operations (create, update, scale, delete): list, show, retry, cancel");

  common(g.command('list').description("a cluster's operations, oldest first").argument('<cluster>', 'cluster ID or name (the ID of a deleted cluster too)').requiredOption('-p, --project <project>', 'project ID or name')).action(
    act(async (ctx, [cluster], o: { project: string }) => {
      const ops = await listOperations(ctx, o.project, cluster!);
      print(ctx.out, ops, () =>
        ops.length === 0 ? 'no operations\n' : table(['id', 'kind', 'status', 'attempt', 'steps', 'created', 'error'], ops.map((op) => [op.ID, op.Kind, status(ctx.out, op.Status), str(op.Attempt), steps(op), op.CreatedAt, errorText(op)])),
      );
    }),
  );

  common(g.command('show').description('an operation and its steps').argument('<id>', 'operation ID')).action(
    act(async (ctx, [id]) => {
      const op = await ctx.api.get<OperationView>(`/operations/${enc(id!)}`);
      print(ctx.out, op, () => showOperation(op, ctx.out));
    }),
  );

  for (const verb of ['retry', 'cancel'] as const) {
    const cmd = g
      .command(verb)
      .description(verb === 'retry' ? 'run a failed or cancelled operation again from the step that failed' : 'cancel a queued or running operation (a running step stops at its next check)')
      .argument('<id>', 'operation ID')
      .option('--wait', 'follow the operation until it ends and exit with its outcome')
      .option('-p, --project <project>', 'project ID or name (needed by --wait)');
    common(cmd).action(
      act(async (ctx, [id], o: { wait?: boolean; project?: string }) => {
        if (o.wait && !o.project) throw new UsageError('--wait needs --project');
        const op = await ctx.api.post<OperationView>(`/operations/${enc(id!)}/${verb}`);
        if (o.wait) return watch(ctx, o.project!, op.ClusterID, { operationId: op.ID });
        print(ctx.out, op, () => `operation ${op.ID} (${op.Kind}): ${status(ctx.out, op.Status)}${op.CancelRequested && (op.Status === 'running' || op.Status === 'queued') ? ', cancel requested' : ''}\n`);
      }),
    );
  }
}
