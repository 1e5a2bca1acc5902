// The JSON lines of ansible/callback_plugins/michman_events.py, parsed, and what the deployer makes
// of them: one operation event per task result and host, and for a failure the error that names
// host, role and task. Pure, so the mapping is tested without Ansible.
import type { EngineEvent } from '../../domain/nodes.js';

export type ResultStatus = 'ok' | 'changed' | 'failed' | 'unreachable' | 'skipped';

export interface TaskResult {
  event: 'result';
  host: string;
  play: string;
  role: string;
  task: string;
  action?: string;
  status: ResultStatus;
  ignored: boolean;
  msg: string;
}

export interface HostStats {
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued?: number;
  ignored?: number;
}

/** A task or handler starts (on every host of the play at once). */
export interface TaskStart {
  event: 'task';
  play: string;
  role: string;
  task: string;
  handler: boolean;
}

export type CallbackLine =
  | TaskResult
  | TaskStart
  | { event: 'play'; play: string }
  | { event: 'no_hosts'; play: string }
  | { event: 'stats'; hosts: Record<string, HostStats> };

const STATUSES: readonly string[] = ['ok', 'changed', 'failed', 'unreachable', 'skipped'];

/** One stdout line, or undefined when it is not one of ours (then it is kept as raw output). */
export function parseLine(line: string): CallbackLine | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
  switch (o.event) {
    case 'result':
      if (!STATUSES.includes(str('status'))) return undefined;
      return {
        event: 'result',
        host: str('host'),
        play: str('play'),
        role: str('role'),
        task: str('task'),
        action: str('action'),
        status: str('status') as ResultStatus,
        ignored: o.ignored === true,
        msg: str('msg'),
      };
    case 'task':
      return { event: 'task', play: str('play'), role: str('role'), task: str('task'), handler: o.handler === true };
    case 'play':
    case 'no_hosts':
      return { event: o.event, play: str('play') };
    case 'stats':
      return typeof o.hosts === 'object' && o.hosts !== null ? { event: 'stats', hosts: o.hosts as Record<string, HostStats> } : undefined;
    default:
      return undefined;
  }
}

/** A failed or unreachable result the play did not choose to ignore: it fails the step. */
export function isFatal(r: TaskResult): boolean {
  return (r.status === 'failed' || r.status === 'unreachable') && !r.ignored;
}

function firstLine(text: string, max = 300): string {
  const l = (text.split('\n').find((x) => x.trim() !== '') ?? '').trim();
  return l.length > max ? l.slice(0, max) + '...' : l;
}

export function resultEvent(r: TaskResult, service: string | undefined, redact: (s: string) => string): EngineEvent {
  const where = r.role ? `[${r.role}] ${r.task}` : r.task;
  const level: EngineEvent['level'] = isFatal(r) ? 'error' : r.status === 'failed' || r.status === 'unreachable' ? 'warn' : r.status === 'skipped' ? 'debug' : 'info';
  const detail = r.status === 'failed' || r.status === 'unreachable' ? (r.msg ? `: ${redact(firstLine(r.msg))}` : '') : '';
  const ignored = r.ignored ? ' (ignored)' : '';
  return {
    level,
    phase: '',
    node: r.host,
    ...(service ? { service } : {}),
    message: `${where}: ${r.status}${ignored}${detail}`,
  };
}

/** A debug event when a task starts, so a task that runs long (or hangs) is named while it runs. */
export function taskStartEvent(t: TaskStart, service: string | undefined, redact: (s: string) => string): EngineEvent {
  // Task names are templated and could carry a value; they go through the redactor like results.
  const where = redact(t.role ? `[${t.role}] ${t.task}` : t.task);
  return { level: 'debug', phase: '', ...(service ? { service } : {}), message: `${where}: ${t.handler ? 'handler ' : ''}started` };
}

/** The step's error for a fatal result: names host, role and task; the excerpt goes to `output`. */
export function failureMessage(playbook: string, r: TaskResult, redact: (s: string) => string): string {
  const role = r.role ? `role ${r.role}, ` : '';
  const what = r.status === 'unreachable' ? 'unreachable' : 'failed';
  const msg = r.msg ? `: ${redact(firstLine(r.msg))}` : '';
  return `ansible ${playbook}: host ${r.host}: ${role}task '${r.task}' ${what}${msg}`;
}

/** Replaces every secret value (3+ characters) in text by ********. */
export function redactor(secrets: Iterable<string>): (text: string) => string {
  const list = [...new Set([...secrets].filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
  return (text) => {
    let t = text;
    for (const s of list) t = t.split(s).join('********');
    return t;
  };
}
