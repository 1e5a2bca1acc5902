// Projects the caller can see (the server filters them by group), and a form to add one.
import { useState } from 'preact/hooks';
import { call, get, type Project, type Session } from '../api.js';
import { href, go } from '../router.js';
import { useLoad } from '../useLoad.js';
import { ErrorBox } from '../components/ErrorBox.js';

interface Named {
  Name: string;
}

export function Projects({ session }: { session: Session }) {
  const projects = useLoad(() => get<Project[]>('/projects'), []);
  const [open, setOpen] = useState(false);
  const canCreate = session.Auth === 'off' || session.Auth === 'none' || session.Admin;
  return (
    <section aria-labelledby="projects-title">
      <div class="title-row">
        <h1 id="projects-title">Projects</h1>
        {canCreate ? (
          <button type="button" aria-expanded={open} aria-controls="new-project" onClick={() => setOpen(!open)}>
            {open ? 'Close' : 'New project'}
          </button>
        ) : null}
      </div>
      {open ? <NewProject onCreated={(p) => go(href.clusters(p.Name))} /> : null}
      <ErrorBox error={projects.error} />
      {projects.data?.length === 0 ? <p>No projects yet{canCreate ? ': create one.' : '. Ask an administrator to add one for your group.'}</p> : null}
      <ul class="cards">
        {projects.data?.map((p) => (
          <li key={p.ID} class="card">
            <a href={href.clusters(p.Name)} class="card-title">
              {p.DisplayName}
            </a>
            <p class="muted">{p.Description || 'No description'}</p>
            {p.GroupID ? <p class="muted small">Group: {p.GroupID}</p> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewProject({ onCreated }: { onCreated: (p: Project) => void }) {
  const images = useLoad(() => get<Named[]>('/images'), []);
  const flavors = useLoad(() => get<Named[]>('/flavors'), []);
  const [f, setF] = useState({ DisplayName: '', GroupID: '', Description: '', DefaultImage: '', Flavor: '' });
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const body: Record<string, string> = { DisplayName: f.DisplayName, Description: f.Description };
      if (f.GroupID) body.GroupID = f.GroupID;
      if (f.DefaultImage) body.DefaultImage = f.DefaultImage;
      if (f.Flavor) for (const k of ['DefaultMasterFlavor', 'DefaultSlavesFlavor', 'DefaultStorageFlavor', 'DefaultMonitoringFlavor']) body[k] = f.Flavor;
      onCreated(await call<Project>('POST', '/projects', body));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form id="new-project" class="card form" onSubmit={submit}>
      <h2>New project</h2>
      <ErrorBox error={error} />
      <div class="field">
        <label for="p-name">Name</label>
        <input id="p-name" required pattern="[A-Za-z][A-Za-z0-9\-]*" value={f.DisplayName} onInput={set('DisplayName')} aria-describedby="p-name-hint" />
        <p class="hint" id="p-name-hint">
          Letters, digits and “-”, starting with a letter.
        </p>
      </div>
      <div class="field">
        <label for="p-group">Group</label>
        <input id="p-group" value={f.GroupID} onInput={set('GroupID')} aria-describedby="p-group-hint" />
        <p class="hint" id="p-group-hint">
          Members of this group are the project's members.
        </p>
      </div>
      <div class="field">
        <label for="p-desc">Description</label>
        <input id="p-desc" value={f.Description} onInput={set('Description')} />
      </div>
      <div class="field">
        <label for="p-image">Default image</label>
        <select id="p-image" value={f.DefaultImage} onChange={set('DefaultImage')}>
          <option value="">(none)</option>
          {images.data?.map((i) => (
            <option key={i.Name}>{i.Name}</option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="p-flavor">Default flavor</label>
        <select id="p-flavor" value={f.Flavor} onChange={set('Flavor')}>
          <option value="">(none)</option>
          {flavors.data?.map((i) => (
            <option key={i.Name}>{i.Name}</option>
          ))}
        </select>
      </div>
      <button type="submit" class="primary">
        Create project
      </button>
    </form>
  );
}
