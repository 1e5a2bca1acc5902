// Shared set-up of the OpenStack suites: a provider on a fake cloud, a step context that records
// events, a plan of master + slaves + storage.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { OpenStackProvider, type OpenStackOptions } from '../../src/providers/openstack/provider.js';
import { Session } from '../../src/providers/openstack/identity/session.js';
import type { AuthConfig } from '../../src/providers/openstack/credentials.js';
import type { EngineEvent, StepContext } from '../../src/providers/types.js';
import type { OperationPlan } from '../../src/domain/plan.js';
import type { FakeOpenStack } from './fakeOpenstack.js';

export function authOf(fake: FakeOpenStack, kind: 'password' | 'application_credential' = 'password'): AuthConfig {
  const a = fake.auth(kind) as Record<string, string>;
  return kind === 'password'
    ? { authUrl: a.auth_url!, method: 'password', username: a.username, password: a.password, projectName: a.project_name, userDomainName: 'Default', projectDomainName: 'Default', regionName: 'RegionOne', interface: 'public' }
    : { authUrl: a.auth_url!, method: 'application_credential', applicationCredentialId: a.application_credential_id, applicationCredentialSecret: a.application_credential_secret, interface: 'public' };
}

/** Generous call timeout: the suite shares a 2-core machine with heavy neighbours (an OpenStack). */
export function providerOn(fake: FakeOpenStack, o: Partial<OpenStackOptions> = {}, timeoutMs = 10_000): OpenStackProvider {
  const session = new Session(async () => authOf(fake), { timeoutMs, attempts: 3, backoffMs: 20 });
  return new OpenStackProvider({ session, network: 'private', floatingIpPool: 'public', reachability: 'active', pollFirstMs: 10, pollMaxDelayMs: 50, ...o });
}

export function planOf(name: string, nSlaves = 2, storage = true): OperationPlan {
  const nodes: OperationPlan['nodes'] = [
    { role: 'master', name: `${name}-master`, group: `${name}_master`, flavor: 'm1.small', services: [{ Type: 'spark' }] },
    ...Array.from({ length: nSlaves }, (_, i) => ({ role: 'slave' as const, name: `${name}-slave-${i + 1}`, group: `${name}_slaves`, flavor: 'm1.tiny', index: i + 1, services: [{ Type: 'spark' }] })),
    ...(storage ? [{ role: 'storage' as const, name: `${name}-storage`, group: `${name}_storage`, flavor: 'm1.tiny', services: [{ Type: 'postgresql' }] }] : []),
  ];
  return {
    image: 'cirros',
    nodes,
    services: [
      { id: 's1', type: 'spark', version: '3', class: 'master-slave', accessPort: 8080, config: {}, params: [], nodes: nodes.filter((n) => n.role !== 'storage').map((n) => n.name), ports: [7077, 8080] },
      ...(storage ? [{ id: 's2', type: 'postgresql', version: '15', class: 'storage' as const, accessPort: 5432, config: {}, params: [], nodes: [`${name}-storage`], ports: [5432] }] : []),
    ],
    levels: [['spark', ...(storage ? ['postgresql'] : [])]],
  };
}

export interface Ctx extends StepContext {
  events: EngineEvent[];
}

export function ctxOf(plan?: OperationPlan, clusterId = randomUUID(), clusterName = 'c1-proj', signal = AbortSignal.timeout(20_000)): Ctx {
  const events: EngineEvent[] = [];
  // One listener per node being polled, as on the engine's phase signal: not a leak.
  setMaxListeners(0, signal);
  return { clusterId, clusterName, signal, plan, events, emit: (e) => void events.push(e) };
}

export const specsOf = (plan: OperationPlan) => plan.nodes.map((n) => ({ name: n.name, role: n.role, flavor: n.flavor, image: plan.image }));
