// A project's clusters with their status and each service's health at a glance; refreshed while
// any of them is still changing.
import { useEffect } from 'preact/hooks';
import { enc, get, type Cluster, type Project } from '../api.js';
import { href } from '../router.js';
import { useLoad } from '../useLoad.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { Status, settled } from '../components/Status.js';

export function Clusters({ project }: { project: string }) {
  const p = useLoad(() => get<Project>(`/projects/${enc(project)}`), [project]);
  const clusters = useLoad(() => get<Cluster[]>(`/projects/${enc(project)}/clusters`), [project]);
  const busy = clusters.data?.some((c) => !settled(c.EntityStatus));
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(() => void clusters.reload(), 2000);
    return () => clearInterval(t);
  }, [busy, clusters.reload]);

  return (
    <section aria-labelledby="clusters-title">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href.projects()}>Projects</a> / <span aria-current="page">{p.data?.DisplayName ?? project}</span>
      </nav>
      <div class="title-row">
        <h1 id="clusters-title">Clusters of {p.data?.DisplayName ?? project}</h1>
        <a class="button primary" href={href.create(project)}>
          New cluster
        </a>
      </div>
      <ErrorBox error={p.error ?? clusters.error} />
      {clusters.data?.length === 0 ? <p>No clusters in this project yet.</p> : null}
      {clusters.data?.length ? (
        <table class="list">
          <caption class="sr-only">Clusters</caption>
          <thead>
            <tr>
              <th scope="col">Cluster</th>
              <th scope="col">Status</th>
              <th scope="col">Services</th>
              <th scope="col" class="num">
                Slaves
              </th>
            </tr>
          </thead>
          <tbody>
            {clusters.data.map((c) => (
              <tr key={c.ID}>
                <td data-label="Cluster">
                  <div>
                    <a href={href.cluster(project, c.Name)}>{c.DisplayName}</a>
                    <div class="muted small">{c.Name}</div>
                  </div>
                </td>
                <td data-label="Status">
                  <Status value={c.EntityStatus} />
                </td>
                <td data-label="Services">
                  <ul class="chips">
                    {c.Services?.map((s) => (
                      <li key={s.ID ?? s.Type}>
                        {s.Type} {s.Version} <Status value={s.EntityStatus} label={`${s.Type} health`} />
                      </li>
                    ))}
                  </ul>
                </td>
                <td data-label="Slaves" class="num">
                  {c.NSlaves ?? 0}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
