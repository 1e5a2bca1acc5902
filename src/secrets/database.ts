// Database credentials from the secret store, as the original read them from Vault at mysql_key:
// fields address (host:port), user, password, database. Used when database_url is not set.
import { SecretError, type SecretStore } from './types.js';

export async function databaseUrlFromSecrets(storage: 'mysql' | 'postgres', path: string, secrets: SecretStore): Promise<string> {
  const data = await secrets.get(path);
  if (data === undefined) throw new SecretError(`mysql_key: secret '${path}' not found in the ${secrets.kind} secret store`);
  for (const k of ['address', 'user', 'database'] as const) {
    if (!data[k]) throw new SecretError(`mysql_key: secret '${path}' in the ${secrets.kind} secret store has no key '${k}'`);
  }
  if (!/^[A-Za-z0-9.\-_[\]:]+$/.test(data.address!)) throw new SecretError(`mysql_key: key 'address' of secret '${path}' must be host or host:port`);
  const enc = encodeURIComponent;
  const auth = data.password ? `${enc(data.user!)}:${enc(data.password)}` : enc(data.user!);
  return `${storage}://${auth}@${data.address}/${enc(data.database!)}`;
}
