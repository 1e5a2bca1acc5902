// The create form, generated from the catalog (GET /configs): each service type with its versions,
// its typed parameters (defaults, possible values, required ones) and its dependencies. The first
// submit asks the server for the plan (?dryRun=true) and shows it; the second creates the cluster.
import { useMemo, useState } from 'preact/hooks';
import { call, enc, get, type Cluster, type ConfigParam, type DryRun, type ServiceType } from '../api.js';
import { href, go } from '../router.js';
import { useLoad } from '../useLoad.js';
import { ErrorBox } from '../components/ErrorBox.js';

interface Choice {
  version: string;
  config: Record<string, string>;
}

/** Parameters whose values the page never echoes back (in the plan it shows). */
const secretish = (name: string) => /pass|secret|token|key/i.test(name);

export function CreateCluster({ project }: { project: string }) {
  const types = useLoad(() => get<ServiceType[]>('/configs'), []);
  const [name, setName] = useState('');
  const [slaves, setSlaves] = useState('0');
  const [description, setDescription] = useState('');
  const [chosen, setChosen] = useState<Record<string, Choice>>({});
  const [plan, setPlan] = useState<DryRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const sorted = useMemo(() => [...(types.data ?? [])].sort((a, b) => a.Type.localeCompare(b.Type)), [types.data]);
  const byType = useMemo(() => new Map(sorted.map((t) => [t.Type, t])), [sorted]);

  // Any change makes the plan on screen stale: it has to be asked for again before the create.
  const edit = <T,>(f: (v: T) => void) => (v: T) => {
    f(v);
    setPlan(null);
  };

  const toggle = edit((t: ServiceType) => {
    const next = { ...chosen };
    if (next[t.Type]) delete next[t.Type];
    else next[t.Type] = { version: t.DefaultVersion ?? t.Versions?.[0]?.Version ?? '', config: {} };
    setChosen(next);
  });
  const setVersion = edit(([type, version]: [string, string]) => setChosen({ ...chosen, [type]: { version, config: {} } }));
  const setParam = edit(([type, param, value]: [string, string, string]) => {
    const c = chosen[type]!;
    const config = { ...c.config, [param]: value };
    if (value === '') delete config[param];
    setChosen({ ...chosen, [type]: { ...c, config } });
  });

  const body = (): Partial<Cluster> & Record<string, unknown> => ({
    DisplayName: name,
    NSlaves: Number(slaves),
    ...(description ? { Description: description } : {}),
    Services: Object.entries(chosen).map(([Type, c]) => ({ Type, Version: c.version, ...(Object.keys(c.config).length ? { Config: c.config } : {}) })),
  });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (!plan) {
        setPlan(await call<DryRun>('POST', `/projects/${enc(project)}/clusters?dryRun=true`, body()));
        // The plan is what the user must read next: bring it into view, and announce it.
        requestAnimationFrame(() => document.getElementById('plan')?.focus());
      } else {
        const c = await call<Cluster>('POST', `/projects/${enc(project)}/clusters`, body(), { 'Idempotency-Key': crypto.randomUUID() });
        go(href.cluster(project, c.Name));
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="create-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.projects()}>Projects</a> / <a href={href.clusters(project)}>{project}</a> / <span aria-current="page">New cluster</span>
      </nav>
      <h1 id="create-title">New cluster</h1>
      <ErrorBox error={types.error} />
      <form class="form create" onSubmit={submit} aria-describedby="create-help">
        <p id="create-help" class="hint">
          The first submit shows the plan (nothing is created); the second creates the cluster.
        </p>
        <div class="grid2">
          <div class="field">
            <label for="c-name">Name</label>
            <input id="c-name" required pattern="[A-Za-z][A-Za-z0-9\-]*" value={name} onInput={(e) => edit(setName)(e.currentTarget.value)} aria-describedby="c-name-hint" />
            <p class="hint" id="c-name-hint">
              Letters, digits and “-”, starting with a letter.
            </p>
          </div>
          <div class="field">
            <label for="c-slaves">Slave nodes</label>
            <input id="c-slaves" type="number" min="0" max="1000" required value={slaves} onInput={(e) => edit(setSlaves)(e.currentTarget.value)} />
          </div>
        </div>
        <div class="field">
          <label for="c-desc">Description</label>
          <input id="c-desc" value={description} onInput={(e) => edit(setDescription)(e.currentTarget.value)} />
        </div>

        <fieldset class="services">
          <legend>Services</legend>
          {types.data === undefined && !types.error ? <p aria-busy="true">Loading the catalog…</p> : null}
          <ul class="service-list">
            {sorted.map((t) => {
              const c = chosen[t.Type];
              const v = t.Versions?.find((x) => x.Version === c?.version);
              const id = `svc-${t.Type}`;
              return (
                <li key={t.Type} class={c ? 'service on' : 'service'}>
                  <div class="check">
                    <input type="checkbox" id={id} checked={!!c} onChange={() => toggle(t)} aria-describedby={`${id}-desc`} />
                    <label for={id}>{t.Type}</label>
                    {t.Class ? <span class="muted small"> {t.Class}</span> : null}
                  </div>
                  <p class="hint" id={`${id}-desc`}>
                    {t.Description}
                  </p>
                  {c ? (
                    <div class="service-config">
                      <div class="field">
                        <label for={`${id}-version`}>{t.Type} version</label>
                        <select id={`${id}-version`} value={c.version} onChange={(e) => setVersion([t.Type, e.currentTarget.value])}>
                          {t.Versions?.map((x) => (
                            <option key={x.Version} value={x.Version}>
                              {x.Version}
                              {x.Version === t.DefaultVersion ? ' (default)' : ''}
                            </option>
                          ))}
                        </select>
                        {v?.Description ? <p class="hint">{v.Description}</p> : null}
                      </div>
                      {v?.Dependencies?.length ? (
                        <div class="deps">
                          <strong>Needs:</strong>
                          <ul>
                            {v.Dependencies.map((d) => (
                              <li key={d.ServiceType}>
                                {d.ServiceType} {d.ServiceVersions?.length ? `(${d.ServiceVersions.join(', ')})` : ''}
                                {chosen[d.ServiceType] ? ' — chosen' : byType.has(d.ServiceType) ? ` — added as ${d.DefaultServiceVersion || 'its default version'} if you do not pick it` : ''}
                                {d.Description ? <span class="muted"> · {d.Description}</span> : null}
                              </li>
                            ))}
                          </ul>
                        </div>
                      ) : null}
                      {v?.Configs?.map((p) => (
                        <Param key={p.ParameterName} type={t.Type} p={p} value={c.config[p.ParameterName] ?? ''} onChange={(val) => setParam([t.Type, p.ParameterName, val])} />
                      ))}
                    </div>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </fieldset>

        <ErrorBox error={error} />
        {plan ? <Plan plan={plan} /> : null}
        <div class="actions">
          <a class="button" href={href.clusters(project)}>
            Cancel
          </a>
          <button type="submit" class="primary" disabled={busy || Object.keys(chosen).length === 0} id="c-submit">
            {plan ? 'Create cluster' : 'Preview plan'}
          </button>
        </div>
      </form>
    </section>
  );
}

function Param({ type, p, value, onChange }: { type: string; p: ConfigParam; value: string; onChange: (v: string) => void }) {
  const id = `cfg-${type}-${p.ParameterName}`;
  const hintId = `${id}-hint`;
  const def = p.DefaultValue ? `default ${p.DefaultValue}` : 'no default';
  const hint = [p.Description, p.IsList ? `a JSON array of ${p.Type}` : p.Type, def, p.Required ? 'always passed to the deployment' : ''].filter(Boolean).join(' · ');
  const common = { id, 'aria-describedby': hintId, value };
  let input;
  if (p.PossibleValues?.length) {
    input = (
      <select {...common} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{p.DefaultValue ? `(default: ${p.DefaultValue})` : '(not set)'}</option>
        {p.PossibleValues.map((x) => (
          <option key={x}>{x}</option>
        ))}
      </select>
    );
  } else if (p.Type === 'bool' && !p.IsList) {
    input = (
      <select {...common} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{p.DefaultValue ? `(default: ${p.DefaultValue})` : '(not set)'}</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else {
    const kind = secretish(p.ParameterName) ? 'password' : (p.Type === 'int' || p.Type === 'float') && !p.IsList ? 'number' : 'text';
    input = (
      <input
        {...common}
        type={kind}
        step={p.Type === 'float' ? 'any' : undefined}
        placeholder={p.DefaultValue || undefined}
        autocomplete={kind === 'password' ? 'new-password' : 'off'}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class="field">
      <label for={id}>
        {p.ParameterName}
        {p.Required ? <span class="req"> (required)</span> : null}
      </label>
      {input}
      <p class="hint" id={hintId}>
        {hint}
      </p>
    </div>
  );
}

function Plan({ plan }: { plan: DryRun }) {
  const p = plan.Plan;
  return (
    <section class="plan card" aria-labelledby="plan-title" id="plan" tabIndex={-1}>
      <h2 id="plan-title">Plan (nothing created yet)</h2>
      <p>
        Image <strong>{p.image}</strong>; {p.nodes.length} node{p.nodes.length === 1 ? '' : 's'}.
      </p>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Role</th>
            <th scope="col">Flavor</th>
            <th scope="col">Services</th>
          </tr>
        </thead>
        <tbody>
          {p.nodes.map((n) => (
            <tr key={n.name}>
              <td data-label="Node">{n.name}</td>
              <td data-label="Role">{n.role}</td>
              <td data-label="Flavor">{n.flavor}</td>
              <td data-label="Services">{n.services.map((s) => `${s.Type}${s.Version ? ' ' + s.Version : ''}`).join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Services, in deployment order</h3>
      <ol>
        {p.levels.map((level, i) => (
          <li key={i}>
            {level
              .map((id) => {
                const s = p.services.find((x) => x.type === id);
                const cfg = Object.entries(s?.config ?? {})
                  .map(([k, v]) => `${k}=${secretish(k) ? '••••' : v}`)
                  .join(', ');
                return s ? `${s.type} ${s.version}${cfg ? ` (${cfg})` : ''}` : id;
              })
              .join(' + ')}
          </li>
        ))}
      </ol>
      {plan.Quota ? (
        <details>
          <summary>Quota check</summary>
          <pre>{JSON.stringify(plan.Quota, null, 2)}</pre>
        </details>
      ) : null}
    </section>
  );
}
