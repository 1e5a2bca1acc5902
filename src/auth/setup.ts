// Authentication settings built from the configuration and the secret store at start-up.
import type { MichmanConfig } from '../config/schema.js';
import type { SecretStore } from '../secrets/types.js';
import { Policy } from './policy.js';
import { OidcClient } from './oidc.js';
import { KeystoneClient } from './keystone.js';

export type AuthModel = 'none' | 'oauth2' | 'keystone';

export interface AuthSetup {
  model: AuthModel;
  adminGroup: string;
  policy: Policy;
  sessionIdleMs: number;
  sessionLifetimeMs: number;
  oidc?: OidcClient;
  /** Where the provider sends the browser back; default: <this server>/auth. */
  redirectUri?: string;
  keystone?: KeystoneClient;
  /** Clock for tests; Date.now otherwise. */
  now?: () => number;
}

type AuthConfig = Pick<
  MichmanConfig,
  | 'use_auth'
  | 'authorization_model'
  | 'admin_group'
  | 'session_idle_timeout'
  | 'session_lifetime'
  | 'hydra_admin'
  | 'hydra_client'
  | 'hydra_key'
  | 'keystone_addr'
  | 'auth_config_path'
  | 'policy_path'
  | 'oidc_issuer'
  | 'oidc_client_id'
  | 'oidc_redirect_uri'
  | 'oidc_audience'
  | 'oidc_scopes'
  | 'oidc_groups_claim'
  | 'oidc_user_claim'
  | 'token_check'
  | 'token_cache_seconds'
>;

/** Default secret path of the OAuth2 client (client_id, client_secret, redirect_uri) when hydra_key is unset. */
export const DEFAULT_OAUTH2_SECRET_PATH = 'oauth2';

/**
 * Hydra's admin introspection: `<hydra_admin>/oauth2/introspect` as the original (Hydra 1.x), or the
 * URL as given when it already names the endpoint (Hydra 2.x: …/admin/oauth2/introspect).
 */
export function introspectionUrl(hydraAdmin: string | undefined): string | undefined {
  if (!hydraAdmin) return undefined;
  const base = hydraAdmin.replace(/\/+$/, '');
  return base.endsWith('/introspect') ? base : `${base}/oauth2/introspect`;
}

/** undefined when use_auth is false: no /auth, no checks (the original's behaviour). */
export async function createAuth(config: AuthConfig, secrets: SecretStore): Promise<AuthSetup | undefined> {
  if (!config.use_auth) return undefined;
  const policy = await Policy.load({ modelPath: config.auth_config_path, policyPath: config.policy_path });
  const base: AuthSetup = {
    model: config.authorization_model,
    adminGroup: config.admin_group?.trim() || 'admin',
    policy,
    sessionIdleMs: config.session_idle_timeout * 60_000,
    sessionLifetimeMs: config.session_lifetime * 60_000,
  };
  const cacheMs = config.token_cache_seconds * 1000;
  if (config.authorization_model === 'oauth2') {
    const issuer = config.oidc_issuer ?? config.hydra_client;
    if (!issuer) throw new Error("oidc_issuer: required when use_auth is true and authorization_model is oauth2");
    // The original kept the client's credentials in Vault at hydra_key; any secret store now.
    const path = config.hydra_key ?? DEFAULT_OAUTH2_SECRET_PATH;
    const client = await secrets.get(path);
    if (client === undefined && config.hydra_key !== undefined) {
      throw new Error(`hydra_key: secret '${path}' not found in the ${secrets.kind} secret store`);
    }
    const clientId = config.oidc_client_id ?? client?.client_id;
    const redirectUri = config.oidc_redirect_uri ?? client?.redirect_uri;
    base.oidc = new OidcClient({
      issuer,
      clientId,
      clientSecret: client?.client_secret,
      redirectUri,
      tokenCheck: config.token_check,
      introspectionUrl: introspectionUrl(config.hydra_admin),
      audience: config.oidc_audience,
      scopes: config.oidc_scopes,
      groupsClaim: config.oidc_groups_claim,
      userClaim: config.oidc_user_claim,
      cacheMs,
    });
    base.redirectUri = redirectUri;
  }
  if (config.authorization_model === 'keystone') {
    if (!config.keystone_addr) throw new Error('keystone_addr: required when use_auth is true and authorization_model is keystone');
    base.keystone = new KeystoneClient({ addr: config.keystone_addr, cacheMs });
  }
  return base;
}
