// How the client prints: aligned tables for people, JSON or YAML (the API's Data, unchanged) for
// scripts. Colour only when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
import { stringify as toYaml } from 'yaml';
import { UsageError } from './errors.js';

export type Format = 'table' | 'json' | 'yaml';
export const FORMATS: readonly Format[] = ['table', 'json', 'yaml'];

export function parseFormat(v: string | undefined): Format {
  const f = (v ?? 'table').toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`-o/--output must be one of ${FORMATS.join(', ')}, not '${v}'`);
  return f as Format;
}

export interface Out {
  format: Format;
  color: boolean;
  /** stdout is a terminal (progress redrawn in place). */
  tty: boolean;
  write(text: string): void;
}

export function stdoutOut(format: Format, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Out {
  const tty = stream.isTTY === true;
  const color = tty && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
  return { format, color, tty, write: (t) => void stream.write(t) };
}

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, grey: 90, bold: 1 } as const;
export type Colour = keyof typeof ANSI;
export const paint = (out: Pick<Out, 'color'>, colour: Colour, text: string) => (out.color ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text);

/** Cluster, operation, step and service states by what they mean to a person. */
export function statusColour(status: string): Colour | undefined {
  const s = status.toUpperCase();
  if (['ACTIVE', 'SUCCEEDED', 'DONE', 'OK', 'HEALTHY', 'RUNNING_OK'].includes(s)) return 'green';
  if (['FAILED', 'MISSING', 'ERROR', 'UNHEALTHY', 'DEGRADED'].includes(s)) return 'red';
  if (['CANCELLED', 'DELETED', 'PENDING', 'QUEUED', 'INITED'].includes(s)) return 'grey';
  if (s.endsWith('ING')) return 'yellow';
  return undefined;
}
export const status = (out: Pick<Out, 'color'>, s: string) => {
  const c = statusColour(s);
  return c ? paint(out, c, s) : s;
};

/** Visible width: ANSI sequences take no room. */
const width = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Columns padded to their widest cell; headers in capitals. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c))))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n') + '\n';
}

/** `Key: value` lines for one object, keys aligned. */
export function fields(pairs: Array<[string, string | undefined | null]>): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const w = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v}`).join('\n') + '\n';
}

/** JSON/YAML of the API's Data for scripts; otherwise the people's rendering. */
export function print(out: Out, data: unknown, human: () => string): void {
  if (out.format === 'json') out.write(`${JSON.stringify(data ?? null, null, 2)}\n`);
  else if (out.format === 'yaml') out.write(toYaml(data ?? null));
  else out.write(human());
}

export const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
