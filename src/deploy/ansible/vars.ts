// Extra-vars of a run: buildExtraVars (the original's names and typing) on the operation's plan,
// plus Michman's own `michman_*` variables (ansible/CONTRACT.md). The plan carries the cluster's
// services with their parameters, which is all the typing rules need; every other catalog type
// gets `deploy_<type>: false` as in the original, from the list of known type names.
import {
  buildExtraVars,
  type ExtraVars,
  type ExtraVarsAction,
  type ExtraVarsServiceType,
  type ExtraVarsSettings,
} from '../../domain/extraVars.js';
import type { OperationPlan } from '../../domain/plan.js';
import type { ProvisionedNode } from '../../domain/nodes.js';
import type { ServiceDeployment } from '../types.js';

export interface RunVarsInput {
  plan: OperationPlan | undefined;
  clusterName: string;
  /** The service of this run, for plans that predate `plan.cluster` (and as `michman_only`). */
  service?: ServiceDeployment;
  only?: string;
  action: ExtraVarsAction;
  knownTypes: readonly string[];
  keyFile: string;
  nodes: readonly ProvisionedNode[];
  aptProxy?: string;
  /** Generated secrets per service type: parameter name → value (used where the user gave none). */
  generated: Record<string, Record<string, string>>;
  settings?: ExtraVarsSettings;
  /** Who Ansible logs in as (ansible_user and the original's hadoop_user); root by default. */
  loginUser?: string;
}

/** The catalog objects buildExtraVars reads, from the plan; the result also serves secretVarNames. */
export function planCatalog(plan: OperationPlan | undefined, service: ServiceDeployment | undefined, knownTypes: readonly string[]): ExtraVarsServiceType[] {
  const planned = plan?.services ?? [];
  const out: ExtraVarsServiceType[] = planned.map((s) => ({
    Type: s.type,
    Class: s.class,
    DefaultVersion: s.version,
    Versions: [{ Version: s.version, Configs: s.params.map((p) => ({ ...p, AnsibleVarName: `${s.type}_${p.ParameterName}` })) }],
  }));
  if (service && !planned.some((s) => s.type === service.type)) {
    out.push({
      Type: service.type,
      DefaultVersion: service.version,
      Versions: [{ Version: service.version, Configs: service.params.map((p) => ({ ...p, AnsibleVarName: `${service.type}_${p.ParameterName}` })) }],
    });
  }
  const have = new Set(out.map((t) => t.Type));
  for (const t of [...knownTypes].sort()) if (!have.has(t)) out.push({ Type: t, Versions: [] });
  return out;
}

export function runVars(i: RunVarsInput): ExtraVars {
  const catalog = planCatalog(i.plan, i.service, i.knownTypes);
  const planned = i.plan?.services ?? [];
  // The run's own service as the engine handed it wins over its entry in the plan.
  const list = planned.map((s) => (i.service && s.type === i.service.type ? i.service : { type: s.type, version: s.version, config: s.config }));
  if (i.service && !planned.some((s) => s.type === i.service!.type)) list.push(i.service);
  const services = list.map((s) => ({
    Type: s.type,
    Version: s.version,
    // Generated secrets only fill what the user left empty or unset.
    Config: { ...(i.generated[s.type] ?? {}), ...Object.fromEntries(Object.entries(s.config).filter(([, v]) => v !== '')) },
  }));
  const c = i.plan?.cluster;
  const vars = buildExtraVars({
    action: i.action,
    cluster: {
      Name: c?.name ?? i.clusterName,
      NSlaves: c?.nSlaves ?? i.nodes.filter((n) => n.role === 'slave').length,
      OwnerID: c?.ownerId ?? '',
      Monitoring: c?.monitoring ?? i.nodes.some((n) => n.role === 'monitoring'),
      Keys: c?.keys ?? [],
      MasterFlavor: c?.masterFlavor ?? '',
      SlavesFlavor: c?.slavesFlavor ?? '',
      StorageFlavor: c?.storageFlavor ?? '',
      MonitoringFlavor: c?.monitoringFlavor ?? '',
      Services: services,
    },
    catalog,
    image: { CloudImageID: i.plan?.imageRef?.cloudImageId || i.plan?.image || '', AnsibleUser: i.loginUser ?? 'root' },
    settings: i.settings ?? {},
    sshPrivateKeyFile: i.keyFile,
  });
  vars.michman_admin_keys = [...(c?.keys ?? [])];
  vars.michman_node_addresses = Object.fromEntries([...i.nodes].sort((a, b) => a.name.localeCompare(b.name)).map((n) => [n.name, n.address]));
  if (i.only !== undefined) vars.michman_only = i.only;
  if (i.aptProxy !== undefined) vars.michman_apt_proxy = i.aptProxy;
  return vars;
}

/** Parameters whose empty value the deployer replaces by a generated secret (password, token, secret). */
export function generatedParams(params: ServiceDeployment['params']): string[] {
  return params.filter((p) => p.Type === 'string' && !p.IsList && /password|passwd|token|secret/i.test(p.ParameterName)).map((p) => p.ParameterName);
}
