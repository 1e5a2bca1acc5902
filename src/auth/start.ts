// Start-up of authentication for `michman serve`: the secret store, the provider clients and the
// policy, with warnings for set-ups that leave the API open.
import type { Logger } from 'pino';
import type { MichmanConfig } from '../config/schema.js';
import { parseListen } from '../config/load.js';
import { openSecretStore } from '../secrets/index.js';
import type { SecretStore } from '../secrets/types.js';
import { createAuth, type AuthSetup } from './setup.js';

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

export async function startAuth(config: MichmanConfig, log: Logger, secrets: SecretStore = openSecretStore(config)): Promise<AuthSetup | undefined> {
  const setup = await createAuth(config, secrets);
  const { host } = parseListen(config.listen);
  if (!isLoopback(host) && (setup === undefined || setup.model === 'none')) {
    log.warn(
      { listen: config.listen, use_auth: config.use_auth, authorization_model: config.authorization_model },
      'the API listens beyond this host without authentication: anyone who reaches it may do everything (set use_auth: true with authorization_model oauth2 or keystone)',
    );
  }
  if (setup) log.info({ authorization_model: setup.model, admin_group: setup.adminGroup }, 'authentication on');
  return setup;
}
