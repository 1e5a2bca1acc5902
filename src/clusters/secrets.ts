// Passwords a user gives in a cluster's service configs: kept in the secret store, never in the
// database (which, like every answer, holds the mask of domain/credentials.ts).
import type { Service } from '../domain/wire.js';
import { sealSecrets, serviceSecretPath } from '../domain/credentials.js';
import type { SecretStore } from '../secrets/types.js';
import type { Store } from '../store/store.js';

/**
 * Masks the given secrets of `services` and, unless `dryRun`, writes them to the store under the
 * cluster before its rows are written (a worker never meets a mask without its value). A write that
 * outlives a failed transaction leaves a secret of a cluster that does not exist: harmless.
 */
export async function sealServices<S extends Service>(secrets: SecretStore | undefined, clusterId: string, services: readonly S[], dryRun: boolean): Promise<S[]> {
  const { services: sealed, given } = sealSecrets(services);
  if (dryRun || given.size === 0) return sealed;
  if (!secrets) throw new Error('no secret store to keep the services’ passwords in');
  for (const [type, values] of given) {
    const path = serviceSecretPath(clusterId, type);
    await secrets.put(path, { ...((await secrets.get(path)) ?? {}), ...values });
  }
  return sealed;
}

/**
 * Moves passwords that older versions stored in plain text (service configs of clusters, and the
 * plans of their operations) to the secret store, leaving the mask. Idempotent; run at start-up by
 * `serve` and `worker` (a schema migration cannot reach the secret store). Returns how many
 * services were sealed.
 */
export async function sealStoredPasswords(store: Store, secrets: SecretStore): Promise<number> {
  const rows = await store.db.selectFrom('cluster_services').select(['id', 'owner_id', 'type', 'config']).execute();
  let n = 0;
  for (const r of rows) {
    const config = JSON.parse(r.config) as Record<string, string>;
    const { services, given } = sealSecrets([{ Type: r.type, Config: config }]);
    const values = given.get(r.type);
    if (!values) continue;
    const path = serviceSecretPath(r.owner_id, r.type);
    await secrets.put(path, { ...((await secrets.get(path)) ?? {}), ...values });
    await store.db.updateTable('cluster_services').set({ config: JSON.stringify(services[0]!.Config) }).where('id', '=', r.id).where('owner_id', '=', r.owner_id).execute();
    n++;
  }
  // Plans carry the configs too; every secret there is also in a service row (sealed above) or of a
  // cluster that is gone, so the plans only need the mask.
  const ops = await store.db.selectFrom('operations').select(['id', 'plan']).execute();
  for (const op of ops) {
    if (!/password|passwd|token|secret/i.test(op.plan)) continue;
    const plan = JSON.parse(op.plan) as { services?: Array<{ type: string; config: Record<string, string> }> } | null;
    if (!plan?.services) continue;
    let changed = false;
    for (const s of plan.services) {
      const sealed = sealSecrets([{ Type: s.type, Config: s.config }]);
      if (sealed.given.size === 0) continue;
      s.config = sealed.services[0]!.Config!;
      changed = true;
    }
    if (changed) await store.db.updateTable('operations').set({ plan: JSON.stringify(plan) }).where('id', '=', op.id).execute();
  }
  return n;
}
