// Logging in through what the server is configured with: the identity provider's own page
// (oauth2: a redirect through /auth, which comes back here with a session cookie), a Keystone
// token (exchanged at /auth for a session), or an API token (kept for this tab, sent as a bearer).
import { useState } from 'preact/hooks';
import { apiToken, call, get, type Session } from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';

export function Login({ session, onLoggedIn }: { session: Session; onLoggedIn: () => Promise<void> }) {
  const [keystone, setKeystone] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const withKeystone = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call('GET', '/auth', undefined, { 'X-Auth-Token': keystone.trim() });
      setKeystone('');
      await onLoggedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const withToken = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    apiToken.set(token.trim());
    try {
      const s = await get<Session>('/auth/session');
      if (!s.User) throw new Error('the server did not accept this API token (unknown, revoked or expired)');
      setToken('');
      await onLoggedIn();
    } catch (err) {
      apiToken.clear();
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="login card" aria-labelledby="login-title">
      <h1 id="login-title">Log in to Michman</h1>
      <ErrorBox error={error} />
      {session.Auth === 'oauth2' ? (
        <div class="login-way">
          <p>Use your organisation's account.</p>
          <a class="button primary" href="/auth" id="login-oidc">
            Log in with your identity provider
          </a>
        </div>
      ) : null}
      {session.Auth === 'keystone' ? (
        <form class="login-way" onSubmit={withKeystone}>
          <label for="keystone-token">Keystone token</label>
          <input id="keystone-token" type="password" autocomplete="off" required value={keystone} onInput={(e) => setKeystone(e.currentTarget.value)} />
          <p class="hint">
            From <code>openstack token issue -f value -c id</code>.
          </p>
          <button type="submit" class="primary" disabled={busy}>
            Log in with Keystone
          </button>
        </form>
      ) : null}
      <form class="login-way" onSubmit={withToken}>
        <label for="api-token">API token</label>
        <input id="api-token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="hint">Created with POST /tokens; kept in this tab only.</p>
        <button type="submit" disabled={busy}>
          Log in with an API token
        </button>
      </form>
    </section>
  );
}
