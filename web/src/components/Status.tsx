// Status at a glance: a coloured badge whose text is the status itself (colour is never the only cue).
const TONE: Record<string, string> = {
  ACTIVE: 'ok',
  RUNNING: 'ok',
  succeeded: 'ok',
  done: 'ok',
  DEGRADED: 'warn',
  UNHEALTHY: 'bad',
  FAILED: 'bad',
  failed: 'bad',
  cancelled: 'muted',
  DELETED: 'muted',
  pending: 'muted',
  queued: 'muted',
};

export function Status({ value, label }: { value: string | undefined; label?: string }) {
  const v = value || 'UNKNOWN';
  return (
    <span class={`badge ${TONE[v] ?? 'busy'}`} title={label ? `${label}: ${v}` : v}>
      {label ? <span class="sr-only">{label}: </span> : null}
      {v}
    </span>
  );
}

/** What a busy state looks like: every status not settled one way or the other. */
export const settled = (s: string | undefined) => ['ACTIVE', 'FAILED', 'DEGRADED', 'DELETED', 'STOPPED'].includes(s ?? '');
