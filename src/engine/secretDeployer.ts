// The deployer as the engine hands it services: configs whose masked passwords (the database keeps
// a mask, domain/credentials.ts) are replaced by the values in the secret store, and whose secret
// parameters left empty get a generated value, stored there first. So the secret store alone knows
// every service password, given or generated, and GET .../credentials reads them from it.
import type { StepContext } from '../domain/nodes.js';
import type { Deployer, HealthResult, ServiceDeployment } from '../deploy/types.js';
import type { SecretStore } from '../secrets/types.js';
import { MASK, generatedSecretParams, serviceSecretPath, unseal } from '../domain/credentials.js';
import { randomBytes } from 'node:crypto';

/** A deployer that can say which secrets a service already runs with (clusters made before the store kept them). */
interface KnowsSecrets {
  secretsInUse?(d: Pick<ServiceDeployment, 'type' | 'nodes'>): Promise<Record<string, string>>;
}

const generate = () => randomBytes(18).toString('base64url');

export class SecretResolvingDeployer implements Deployer {
  readonly name: string;

  constructor(
    private readonly inner: Deployer & KnowsSecrets,
    private readonly secrets: SecretStore | undefined,
  ) {
    this.name = inner.name;
    if (inner.prepare) this.prepare = (ctx) => inner.prepare!(ctx);
  }

  prepare?: (ctx: StepContext) => Promise<void>;

  check(services: Array<{ type: string; version: string }>): Promise<string[]> {
    return this.inner.check(services);
  }

  async deploy(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    return this.inner.deploy(ctx, await this.resolve(ctx, d, true));
  }

  async health(ctx: StepContext, d: ServiceDeployment): Promise<HealthResult> {
    return this.inner.health(ctx, await this.resolve(ctx, d, false));
  }

  async remove(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    // Removing needs no password; a store that does not answer must not keep a cluster alive.
    const resolved = await this.resolve(ctx, d, false).catch(() => ({ ...d, config: Object.fromEntries(Object.entries(d.config).filter(([, v]) => v !== MASK)) }));
    return this.inner.remove(ctx, resolved);
  }

  private async resolve(ctx: StepContext, d: ServiceDeployment, generateMissing: boolean): Promise<ServiceDeployment> {
    const masked = Object.entries(d.config).filter(([, v]) => v === MASK).map(([k]) => k);
    if (!this.secrets) {
      if (masked.length > 0) throw new Error(`service '${d.type}': its ${masked.join(', ')} is kept in a secret store, and this worker has none`);
      return d;
    }
    const path = serviceSecretPath(ctx.clusterId, d.type);
    let stored = (await this.secrets.get(path)) ?? {};
    const lost = masked.filter((k) => !stored[k]);
    if (lost.length > 0) throw new Error(`service '${d.type}': ${lost.join(', ')} not found in the ${this.secrets.kind} secret store (${path})`);
    const empty = generatedSecretParams(d.params).filter((k) => !d.config[k] && !stored[k]);
    if (generateMissing && empty.length > 0) {
      const inUse: Record<string, string> = (await this.inner.secretsInUse?.(d).catch(() => ({}))) ?? {};
      stored = { ...stored, ...Object.fromEntries(empty.map((k) => [k, inUse[k] || generate()])) };
      await this.secrets.put(path, stored);
    }
    const config = unseal(d.config, stored);
    for (const k of generatedSecretParams(d.params)) if (!config[k] && stored[k]) config[k] = stored[k]!;
    return { ...d, config };
  }
}
