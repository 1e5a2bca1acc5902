// `michman cluster watch`: follows a cluster's operation through the server's event stream until it
// ends, showing one line per step (phase and node or service) with its state — redrawn in place on a
// terminal, appended as plain lines otherwise — and ends with the operation's outcome as the exit
// code. The operation's journal (GET /operations/{id}) is the truth about steps; events say what
// happens in them and wake the display.
import { stringify as toYaml } from 'yaml';
import type { Ctx } from './context.js';
import { enc } from './context.js';
import { EXIT, ClientError } from './errors.js';
import { paint, status, type Out } from './output.js';
import type { EventView, OperationView } from '../wire/types.js';

const FINAL = ['succeeded', 'failed', 'cancelled'];

/** Exit code of a finished operation. */
export const exitOf = (op: OperationView) => (op.Status === 'succeeded' ? EXIT.ok : EXIT.operationFailed);

export async function listOperations(ctx: Ctx, project: string, cluster: string): Promise<OperationView[]> {
  return ctx.api.get<OperationView[]>(`/projects/${enc(project)}/clusters/${enc(cluster)}/operations`);
}

export interface WatchOptions {
  /** Follow this operation; default: the cluster's latest. */
  operationId?: string;
  /** Name to show (the cluster may be addressed by ID). */
  label?: string;
}

export async function watch(ctx: Ctx, project: string, cluster: string, o: WatchOptions = {}): Promise<number> {
  const ops = await listOperations(ctx, project, cluster);
  const target = o.operationId ? ops.find((x) => x.ID === o.operationId) : ops[ops.length - 1];
  if (!target) {
    if (o.operationId) throw new ClientError(`operation ${o.operationId} is not one of cluster ${cluster}'s`, EXIT.api);
    ctx.out.write(`cluster ${o.label ?? cluster} has no operations to watch\n`);
    return EXIT.ok;
  }
  const label = o.label ?? (await nameOf(ctx, project, target.ClusterID)) ?? cluster;
  const view = makeView(ctx.out, label);
  let op = target;
  const messages = new Map<string, string>();

  // One fetch of the operation at a time; events arriving meanwhile ask for one more.
  let fetching: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (fetching) {
      again = true;
      return fetching;
    }
    fetching = (async () => {
      do {
        again = false;
        op = await ctx.api.get<OperationView>(`/operations/${enc(op.ID)}`);
        view.update(op, messages);
      } while (again);
    })().finally(() => (fetching = undefined));
    return fetching;
  };

  view.update(op, messages);
  const ticker = ctx.out.tty && ctx.out.format === 'table' ? setInterval(() => view.update(op, messages), 1000) : undefined;
  try {
    let last: string | undefined;
    // Also for a finished operation: the stream replays its events, then ends at once. The server
    // ends a stream after an hour, or when the cluster has no active operation while ours is still
    // finishing its last write: follow again from the last event until the operation is final.
    for (let round = 0; ; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 1000));
      last = await ctx.api.stream(`/projects/${enc(project)}/clusters/${enc(op.ClusterID)}/events`, async (e) => {
        let ev: EventView;
        try {
          ev = JSON.parse(e.data) as EventView;
        } catch {
          return;
        }
        if (ev.OperationID !== op.ID) return;
        messages.set(stepKey(ev), ev.Message);
        view.event(ev);
        await refresh();
      }, { lastEventId: last });
      await refresh();
      if (FINAL.includes(op.Status)) break;
    }
  } finally {
    if (ticker) clearInterval(ticker);
  }
  view.done(op);
  return exitOf(op);
}

/** The cluster's name while it exists (a deleted one is known by its ID only). */
async function nameOf(ctx: Ctx, project: string, clusterId: string): Promise<string | undefined> {
  try {
    return (await ctx.api.get<{ Name?: string }>(`/projects/${enc(project)}/clusters/${enc(clusterId)}`)).Name;
  } catch {
    return undefined;
  }
}

/** The step an event belongs to: `<phase>:<node or service>`, as the runner names steps. */
const stepKey = (e: EventView) => `${e.Phase}:${e.Node || e.Service}`;

const SYMBOL: Record<string, string> = { done: '✓', running: '›', failed: '✗', pending: '·' };
const colourOf: Record<string, 'green' | 'yellow' | 'red' | 'grey'> = { done: 'green', running: 'yellow', failed: 'red', pending: 'grey' };

function elapsed(fromIso: string | null | number | undefined, to?: string | null | number): string {
  if (fromIso === null || fromIso === undefined) return '';
  const a = typeof fromIso === 'number' ? fromIso : Date.parse(fromIso);
  const b = to === null || to === undefined ? Date.now() : typeof to === 'number' ? to : Date.parse(to);
  const s = Math.max(0, Math.round((b - a) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

interface View {
  update(op: OperationView, messages: Map<string, string>): void;
  event(e: EventView): void;
  done(op: OperationView): void;
}

function makeView(out: Out, label: string): View {
  if (out.format === 'json') {
    return {
      update() {},
      event: (e) => out.write(`${JSON.stringify(e)}\n`),
      done: (op) => out.write(`${JSON.stringify(op)}\n`),
    };
  }
  if (out.format === 'yaml') {
    return {
      update() {},
      event: (e) => out.write(`---\n${toYaml(e)}`),
      done: (op) => out.write(`---\n${toYaml(op)}`),
    };
  }
  return out.tty ? liveView(out, label) : lineView(out, label);
}

function header(out: Out, label: string, op: OperationView): string {
  const extra = op.Attempt > 1 ? ` (attempt ${op.Attempt})` : '';
  return `cluster ${label}: ${op.Kind} ${status(out, op.Status.toUpperCase())}${extra}  ${elapsed(op.StartedAt ?? op.CreatedAt, op.FinishedAt)}`;
}

/** A terminal: the block of step lines is redrawn in place (cursor up, clear to the end). */
function liveView(out: Out, label: string): View {
  let drawn = 0;
  const cols = () => (process.stdout.columns || 120) - 1;
  const fit = (s: string) => {
    // Cut long messages so one step stays one line (redraws count lines).
    const plain = s.replace(/\x1b\[[0-9;]*m/g, '');
    return plain.length <= cols() ? s : plain.slice(0, cols() - 1) + '…';
  };
  const render = (op: OperationView, messages: Map<string, string>) => {
    const lines = [header(out, label, op)];
    // A redraw can only move up within the screen: on a short terminal the finished steps fold
    // into one count and the rest is cut to fit.
    const room = Math.max(3, (process.stdout.rows || 40) - 2);
    let steps = op.Steps;
    if (steps.length + 1 > room) {
      const done = steps.filter((s) => s.status === 'done').length;
      steps = steps.filter((s) => s.status !== 'done').slice(0, room - 2);
      lines.push(`  ${paint(out, 'green', `✓ ${done} step(s) done`)}, ${op.Steps.length - done} to go`);
    }
    const nameW = Math.max(0, ...steps.map((s) => s.name.length));
    for (const s of steps) {
      const sym = paint(out, colourOf[s.status] ?? 'grey', `${SYMBOL[s.status] ?? '?'} ${s.status.padEnd(7)}`);
      const t = s.startedAt ? elapsed(s.startedAt, s.finishedAt).padStart(6) : '      ';
      const msg = messages.get(s.name);
      lines.push(fit(`  ${sym} ${s.name.padEnd(nameW)} ${t}${msg ? `  ${paint(out, 'grey', msg)}` : ''}`));
    }
    if (op.Steps.length === 0) lines.push(`  ${paint(out, 'grey', op.Status === 'queued' ? 'waiting for a worker…' : 'starting…')}`);
    out.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  let last: { op: OperationView; messages: Map<string, string> } | undefined;
  return {
    update(op, messages) {
      last = { op, messages };
      render(op, messages);
    },
    event() {},
    done(op) {
      if (last) render(op, last.messages);
      finalLines(out, label, op);
    },
  };
}

/**
 * Not a terminal (a log, a pipe, CI): each event of the operation once, appended as it comes, then
 * every step with its outcome. Nothing is redrawn, so a log reads top to bottom.
 */
function lineView(out: Out, label: string): View {
  let headerShown = '';
  return {
    update(op) {
      const h = `${op.Kind} ${op.Status}`;
      if (h === headerShown || FINAL.includes(op.Status)) return;
      out.write(`cluster ${label}: ${op.Kind} ${op.Status.toUpperCase()}${op.Attempt > 1 ? ` (attempt ${op.Attempt})` : ''}\n`);
      headerShown = h;
    },
    event(e) {
      const where = [e.Node, e.Service].filter(Boolean).join(' ');
      out.write(`  ${e.Time.slice(11, 19)} ${e.Level.toUpperCase()} [${e.Phase}${where ? ` ${where}` : ''}] ${e.Message}\n`);
    },
    done(op) {
      const nameW = Math.max(0, ...op.Steps.map((s) => s.name.length));
      out.write(`cluster ${label}: ${op.Kind} ${op.Status.toUpperCase()}\n`);
      for (const s of op.Steps) out.write(`  ${s.name.padEnd(nameW)}  ${s.status.padEnd(7)}  ${s.startedAt ? elapsed(s.startedAt, s.finishedAt) : ''}`.trimEnd() + '\n');
      finalLines(out, label, op);
    },
  };
}

function finalLines(out: Out, label: string, op: OperationView): void {
  const took = elapsed(op.StartedAt ?? op.CreatedAt, op.FinishedAt);
  if (op.Status === 'succeeded') {
    out.write(`${paint(out, 'green', `${op.Kind} of ${label} succeeded`)} in ${took}\n`);
    return;
  }
  out.write(`${paint(out, 'red', `${op.Kind} of ${label} ${op.Status}`)} after ${took}\n`);
  if (op.Error) {
    const where = [op.Error.phase, op.Error.node, op.Error.service].filter(Boolean).join(' ');
    process.stderr.write(`michman: ${op.Kind} ${op.Status} in ${where}: ${op.Error.message}\n`);
    if (op.Error.output) process.stderr.write(`${op.Error.output.trimEnd()}\n`);
  }
  process.stderr.write(`michman: retry it with: michman operation retry ${op.ID}\n`);
}
