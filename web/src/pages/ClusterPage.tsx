// One cluster: its status and services, the progress of its operation and its events as they
// happen (server-sent events), its credentials on request, scale and delete behind a
// confirmation, and its operations with retry and cancel.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, enc, get, streamEvents, type Cluster, type ClusterEvent, type Credential, type Operation } from '../api.js';
import { href } from '../router.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { Status } from '../components/Status.js';
import { Dialog } from '../components/Dialog.js';

const ACTIVE_OPS = ['queued', 'running'];
const MAX_EVENTS = 300;

export function ClusterPage({ project, cluster }: { project: string; cluster: string }) {
  const base = `/projects/${enc(project)}/clusters/${enc(cluster)}`;
  const [c, setC] = useState<Cluster | null>(null);
  const [gone, setGone] = useState(false);
  const [ops, setOps] = useState<Operation[]>([]);
  const [events, setEvents] = useState<ClusterEvent[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [streamGen, setStreamGen] = useState(0);
  const lastId = useRef(0);
  // Once a delete is accepted the cluster is about to vanish: it is looked for in the project's
  // list, and its operation by ID, so its disappearance is an answer rather than a 404.
  const deleting = useRef(false);
  const lastOp = useRef('');

  const reload = useCallback(async () => {
    try {
      if (deleting.current) {
        const all = await get<Cluster[]>(`/projects/${enc(project)}/clusters`);
        const found = all.find((x) => x.Name === cluster || x.ID === cluster);
        if (!found) return setGone(true);
        setC(found);
        if (lastOp.current) {
          const op = await get<Operation>(`/operations/${enc(lastOp.current)}`);
          setOps((list) => [op, ...list.filter((o) => o.ID !== op.ID)]);
        }
        return;
      }
      const [cl, list] = await Promise.all([get<Cluster>(base), get<Operation[]>(`${base}/operations`)]);
      setC(cl);
      // The API lists them oldest first; the page shows the latest first.
      setOps([...list].reverse());
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setGone(true);
      else setError(e);
    }
  }, [base, project, cluster]);

  useEffect(() => {
    lastId.current = 0;
    deleting.current = false;
    setEvents([]);
    setGone(false);
    void reload();
  }, [reload]);

  // Live events: the stream replays what happened after the last event seen, then follows; the
  // server ends it when no operation is left running. Each event refreshes the cluster (throttled).
  useEffect(() => {
    const ac = new AbortController();
    let pending: ReturnType<typeof setTimeout> | undefined;
    const soon = () => {
      pending ??= setTimeout(() => {
        pending = undefined;
        void reload();
      }, 400);
    };
    setLive(true);
    streamEvents(
      `${base}/events`,
      lastId.current,
      (e) => {
        lastId.current = Math.max(lastId.current, e.ID);
        if (e.OperationID) lastOp.current = e.OperationID;
        setEvents((list) => [...list, e].slice(-MAX_EVENTS));
        soon();
      },
      ac.signal,
    )
      .catch((e: unknown) => {
        if (!ac.signal.aborted && !(e instanceof ApiError && e.status === 404)) setError(e);
      })
      .finally(() => {
        if (!ac.signal.aborted) {
          setLive(false);
          void reload();
        }
      });
    return () => {
      ac.abort();
      if (pending) clearTimeout(pending);
    };
  }, [base, streamGen, reload]);

  // The newest event stays in view while they arrive, unless the reader scrolled up to read.
  const eventList = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const ol = eventList.current;
    if (ol && ol.scrollHeight - ol.scrollTop - ol.clientHeight < 80) ol.scrollTop = ol.scrollHeight;
  }, [events]);

  // After a change is accepted: refresh, and follow the new operation's events.
  const changed = async (kind?: 'delete') => {
    if (kind === 'delete') deleting.current = true;
    await reload();
    setStreamGen((g) => g + 1);
  };

  if (gone) {
    return (
      <section aria-labelledby="gone-title">
        <h1 id="gone-title">{cluster}</h1>
        <p role="status" id="cluster-gone">
          This cluster does not exist (any more).
        </p>
        <p>
          <a href={href.clusters(project)}>Back to the clusters of {project}</a>
        </p>
      </section>
    );
  }

  const current = ops[0];
  const running = ops.some((o) => ACTIVE_OPS.includes(o.Status));
  return (
    <section aria-labelledby="cluster-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.projects()}>Projects</a> / <a href={href.clusters(project)}>{project}</a> / <span aria-current="page">{c?.DisplayName ?? cluster}</span>
      </nav>
      <div class="title-row">
        <h1 id="cluster-title">
          {c?.DisplayName ?? cluster} <Status value={c?.EntityStatus} label="Cluster status" />
        </h1>
        {c ? <Actions base={base} cluster={c} busy={running} onChanged={changed} /> : null}
      </div>
      <ErrorBox error={error} />
      {c ? (
        <dl class="facts">
          <div>
            <dt>Name</dt>
            <dd>{c.Name}</dd>
          </div>
          <div>
            <dt>Slave nodes</dt>
            <dd>{c.NSlaves ?? 0}</dd>
          </div>
          {c.MasterIP ? (
            <div>
              <dt>Master</dt>
              <dd>{c.MasterIP}</dd>
            </div>
          ) : null}
          {c.OwnerID ? (
            <div>
              <dt>Owner</dt>
              <dd>{c.OwnerID}</dd>
            </div>
          ) : null}
          {c.HostURL ? (
            <div>
              <dt>Endpoints</dt>
              <dd>
                <code>{c.HostURL}</code>
              </dd>
            </div>
          ) : null}
        </dl>
      ) : null}

      {current ? <Progress op={current} live={live} /> : null}

      <div class="columns">
        <section aria-labelledby="services-title" class="card">
          <h2 id="services-title">Services</h2>
          <table class="list" id="services">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Health</th>
                <th scope="col">URL</th>
              </tr>
            </thead>
            <tbody>
              {c?.Services?.map((s) => (
                <tr key={s.ID ?? s.Type}>
                  <td data-label="Service">
                    {s.Type} {s.Version}
                  </td>
                  <td data-label="Health">
                    <Status value={s.EntityStatus} label={`${s.Type} health`} />
                  </td>
                  <td data-label="URL" class="url">
                    {s.URL ? /^https?:\/\//.test(s.URL) ? <a href={s.URL} target="_blank" rel="noopener noreferrer">{s.URL}</a> : <code>{s.URL}</code> : <span class="muted">not yet</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Credentials base={base} />
        </section>

        <section aria-labelledby="events-title" class="card">
          <h2 id="events-title">
            Events {live ? <span class="live">live</span> : null}
          </h2>
          {events.length === 0 ? <p class="muted">No events yet.</p> : null}
          <ol class="events" id="events" aria-label="Cluster events, oldest first" ref={eventList} tabIndex={0}>
            {events.map((e) => (
              <li key={e.ID} class={`ev ${e.Level}`}>
                <time dateTime={e.Time}>{new Date(e.Time).toLocaleTimeString()}</time> <span class="phase">{e.Phase}</span>
                {e.Node || e.Service ? <span class="muted"> {[e.Node, e.Service].filter(Boolean).join(' ')}</span> : null} {e.Message}
              </li>
            ))}
          </ol>
        </section>
      </div>

      <Operations ops={ops} onChanged={changed} />
    </section>
  );
}

function Progress({ op, live }: { op: Operation; live: boolean }) {
  const total = op.Steps.length;
  const done = op.Steps.filter((s) => s.status === 'done').length;
  const now = op.Steps.find((s) => s.status === 'running') ?? op.Steps.find((s) => s.status === 'failed');
  return (
    <section class="card progress" aria-labelledby="progress-title">
      <h2 id="progress-title">
        {op.Kind} <Status value={op.Status} label="Operation status" />
      </h2>
      <label for="op-progress" class="sr-only">
        Steps done
      </label>
      <progress id="op-progress" max={Math.max(total, 1)} value={done}>
        {done}/{total}
      </progress>
      <p role="status" aria-live="polite" id="progress-text">
        {done} of {total} steps done{now ? ` · ${now.status === 'failed' ? 'failed at' : 'now'}: ${now.name}` : ''}
        {live ? '' : op.FinishedAt ? ` · finished ${new Date(op.FinishedAt).toLocaleTimeString()}` : ''}
      </p>
      {op.Error?.message ? <p class="error">{op.Error.message}</p> : null}
      <details>
        <summary>Steps</summary>
        <ol class="steps">
          {op.Steps.map((s) => (
            <li key={s.name}>
              <Status value={s.status} /> {s.name}
            </li>
          ))}
        </ol>
      </details>
    </section>
  );
}

function Credentials({ base }: { base: string }) {
  const [creds, setCreds] = useState<Credential[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Asked for only when the user presses the button (each reveal is audited), never before.
  const reveal = async () => {
    setBusy(true);
    try {
      setCreds(await get<Credential[]>(`${base}/credentials`));
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="creds">
      <h3>Credentials</h3>
      <ErrorBox error={error} />
      {creds === null ? (
        <button type="button" onClick={reveal} disabled={busy} id="reveal">
          Reveal credentials
        </button>
      ) : (
        <>
          <button type="button" onClick={() => setCreds(null)} id="hide">
            Hide credentials
          </button>
          {creds.length === 0 ? <p class="muted">No service of this cluster has credentials.</p> : null}
          <dl class="cred-list" id="credentials">
            {creds.map((k) => (
              <div key={k.Service + k.Type} class="cred">
                <dt>{k.Type}</dt>
                <dd>
                  {k.User ? (
                    <div>
                      User: <code>{k.User}</code>
                    </div>
                  ) : null}
                  {k.Password ? (
                    <div>
                      Password: <code class="secret">{k.Password}</code>
                    </div>
                  ) : null}
                  {k.Host ? (
                    <div>
                      Address: <code>{k.Host}{k.Port ? `:${k.Port}` : ''}</code>
                    </div>
                  ) : null}
                  {k.ConnectionString ? (
                    <div>
                      Connect: <code class="wrap">{k.ConnectionString}</code>
                    </div>
                  ) : null}
                </dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </div>
  );
}

function Actions({ base, cluster, busy, onChanged }: { base: string; cluster: Cluster; busy: boolean; onChanged: (kind?: 'delete') => Promise<void> }) {
  const [dialog, setDialog] = useState<'scale' | 'delete' | null>(null);
  const [slaves, setSlaves] = useState(String(cluster.NSlaves ?? 0));
  const [error, setError] = useState<unknown>(null);
  const [working, setWorking] = useState(false);
  const close = () => {
    setDialog(null);
    setError(null);
  };
  const run = async (f: () => Promise<unknown>, kind?: 'delete') => {
    setWorking(true);
    try {
      await f();
      setDialog(null);
      setError(null);
      await onChanged(kind);
    } catch (e) {
      setError(e);
    } finally {
      setWorking(false);
    }
  };
  const key = () => ({ 'Idempotency-Key': crypto.randomUUID() });
  return (
    <div class="actions">
      <button type="button" onClick={() => (setSlaves(String(cluster.NSlaves ?? 0)), setDialog('scale'))} disabled={busy} id="scale">
        Scale…
      </button>
      <button type="button" class="danger" onClick={() => setDialog('delete')} id="delete">
        Delete…
      </button>
      <Dialog open={dialog === 'scale'} title={`Scale ${cluster.DisplayName}`} confirmLabel="Scale" onClose={close} busy={working} onConfirm={() => run(() => call('PUT', base, { NSlaves: Number(slaves) }, key()))}>
        <div class="field">
          <label for="scale-slaves">Slave nodes</label>
          <input id="scale-slaves" type="number" min="0" max="1000" required value={slaves} onInput={(e) => setSlaves(e.currentTarget.value)} />
        </div>
        <p>
          From {cluster.NSlaves ?? 0} to {slaves} slave nodes.
        </p>
        <ErrorBox error={error} />
      </Dialog>
      <Dialog open={dialog === 'delete'} title={`Delete ${cluster.DisplayName}?`} confirmLabel="Delete cluster" danger onClose={close} busy={working} onConfirm={() => run(() => call('DELETE', base, undefined, key()), 'delete')}>
        <p>Its machines, services and data are removed. This cannot be undone.</p>
        <ErrorBox error={error} />
      </Dialog>
    </div>
  );
}

function Operations({ ops, onChanged }: { ops: Operation[]; onChanged: () => Promise<void> }) {
  const [error, setError] = useState<unknown>(null);
  const act = async (op: Operation, what: 'retry' | 'cancel') => {
    try {
      await call('POST', `/operations/${enc(op.ID)}/${what}`);
      setError(null);
      await onChanged();
    } catch (e) {
      setError(e);
    }
  };
  if (ops.length === 0) return null;
  return (
    <section class="card" aria-labelledby="ops-title">
      <h2 id="ops-title">Operations</h2>
      <ErrorBox error={error} />
      <table class="list" id="operations">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Error</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {ops.map((o) => (
            <tr key={o.ID}>
              <td data-label="Kind">
                <span>
                  {o.Kind}
                  {o.Attempt > 1 ? <span class="muted small"> (attempt {o.Attempt})</span> : null}
                </span>
              </td>
              <td data-label="Status">
                <span>
                  <Status value={o.Status} />
                  {o.CancelRequested && ACTIVE_OPS.includes(o.Status) ? <span class="muted small"> cancelling</span> : null}
                </span>
              </td>
              <td data-label="Started">
                <time dateTime={o.CreatedAt}>{new Date(o.CreatedAt).toLocaleString()}</time>
              </td>
              <td data-label="Error">{o.Error?.message ?? ''}</td>
              <td data-label="Actions">
                {['failed', 'cancelled'].includes(o.Status) ? (
                  <button type="button" onClick={() => act(o, 'retry')}>
                    Retry
                  </button>
                ) : null}
                {ACTIVE_OPS.includes(o.Status) && !o.CancelRequested ? (
                  <button type="button" onClick={() => act(o, 'cancel')}>
                    Cancel
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
