// Keystone v3 tokens: POST /v3/auth/tokens with a password or an application credential, scoped
// to the project (application credentials carry their own scope). The token travels in the
// X-Subject-Token header; the body holds its expiry, the project and the service catalog.
import { send, type HttpOptions } from '../http.js';
import type { AuthConfig } from '../credentials.js';
import type { CatalogEntry } from './catalog.js';

export interface Token {
  value: string;
  expiresAt: number;
  projectId: string;
  catalog: CatalogEntry[];
}

function authBody(a: AuthConfig): unknown {
  if (a.method === 'application_credential') {
    const cred = a.applicationCredentialId
      ? { id: a.applicationCredentialId, secret: a.applicationCredentialSecret }
      : {
          name: a.applicationCredentialName,
          secret: a.applicationCredentialSecret,
          user: a.userId ? { id: a.userId } : { name: a.username, domain: a.userDomainId ? { id: a.userDomainId } : { name: a.userDomainName ?? 'Default' } },
        };
    return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
  }
  const user = a.userId
    ? { id: a.userId, password: a.password }
    : { name: a.username, password: a.password, domain: a.userDomainId ? { id: a.userDomainId } : a.userDomainName ? { name: a.userDomainName } : { id: 'default' } };
  const project = a.projectId
    ? { id: a.projectId }
    : { name: a.projectName, domain: a.projectDomainId ? { id: a.projectDomainId } : a.projectDomainName ? { name: a.projectDomainName } : { id: 'default' } };
  return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
}

export async function issueToken(a: AuthConfig, http: HttpOptions, signal?: AbortSignal): Promise<Token> {
  const r = await send<{ token?: { expires_at?: string; project?: { id?: string }; catalog?: CatalogEntry[] } }>(
    { service: 'identity', method: 'POST', url: `${a.authUrl}/auth/tokens`, body: authBody(a), signal },
    http,
  );
  const value = r.headers.get('x-subject-token');
  const t = r.body.token;
  if (!value || !t) throw new Error('identity: Keystone answered without a token');
  if (!t.project?.id) throw new Error('identity: the token is not scoped to a project (set project_name or project_id)');
  return {
    value,
    expiresAt: t.expires_at ? Date.parse(t.expires_at) : Date.now() + 3600_000,
    projectId: t.project.id,
    catalog: t.catalog ?? [],
  };
}
