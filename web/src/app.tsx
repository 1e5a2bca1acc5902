// The console's shell: who is logged in (GET /auth/session), the login page when the configured
// auth wants one, the header, and the page of the current route.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { apiToken, call, get, setOnUnauthorized, type Session } from './api.js';
import { useRoute, href } from './router.js';
import { Login } from './pages/Login.js';
import { Projects } from './pages/Projects.js';
import { Clusters } from './pages/Clusters.js';
import { CreateCluster } from './pages/CreateCluster.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { ErrorBox } from './components/ErrorBox.js';

const needsLogin = (s: Session) => (s.Auth === 'oauth2' || s.Auth === 'keystone') && s.User === null;

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<unknown>(null);

  const refresh = useCallback(async () => {
    try {
      setSession(await get<Session>('/auth/session'));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, []);

  useEffect(() => {
    setOnUnauthorized(() => setSession((s) => (s ? { ...s, User: null } : s)));
    void refresh();
  }, [refresh]);

  useEffect(() => {
    const title = { projects: 'Projects', login: 'Log in', clusters: 'Clusters', create: 'New cluster', cluster: 'Cluster' }[route.page];
    document.title = `${title} · Michman`;
  }, [route.page]);

  const logout = async () => {
    apiToken.clear();
    try {
      await call('POST', '/logout');
    } catch {
      // No session to end (an API token, or already expired): the token is forgotten either way.
    }
    await refresh();
  };

  let main;
  if (error) main = <ErrorBox error={error} />;
  else if (!session) main = <p aria-busy="true">Loading…</p>;
  else if (needsLogin(session)) main = <Login session={session} onLoggedIn={refresh} />;
  else if (route.page === 'clusters') main = <Clusters project={route.project} />;
  else if (route.page === 'create') main = <CreateCluster project={route.project} />;
  else if (route.page === 'cluster') main = <ClusterPage project={route.project} cluster={route.cluster} />;
  else main = <Projects session={session} />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.projects()}>
          Michman
        </a>
        <nav aria-label="Main">
          <a href={href.projects()}>Projects</a>
          <a href="/api" target="_blank" rel="noopener">
            API
          </a>
        </nav>
        {session?.User ? (
          <div class="who">
            <span title={session.Groups.length ? `groups: ${session.Groups.join(', ')}` : 'no groups'}>{session.User}</span>
            <button type="button" onClick={logout}>
              Log out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {main}
      </main>
    </>
  );
}
