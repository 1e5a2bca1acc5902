// The Ansible deployer (DESIGN.md "Providers and deployers"): the same playbooks and roles on any
// provider that gives SSH-reachable nodes (nspawn now, OpenStack later). Per run: an inventory with
// the original's groups and extra-vars with the original's names (ansible/CONTRACT.md), Debian's
// ansible-playbook with our JSON-lines callback, one event per task result and host, and a failure
// that names host, role and task. Runs of one cluster are serialized: the engine deploys a level's
// services in parallel, and two playbooks on one node would fight over the dpkg lock.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { secretVarNames, serializeExtraVars, type ExtraVars, type ExtraVarsAction, type ExtraVarsSettings } from '../../domain/extraVars.js';
import type { ProvisionedNode, StepContext } from '../../domain/nodes.js';
import type { SecretStore } from '../../secrets/types.js';
import { PACKAGE_ROOT } from '../../paths.js';
import { asRoot, sshOptions } from '../../host/ssh.js';
import type { HostKeyPins } from '../../domain/hostKeys.js';
import { verifiedKnownHosts, writeKnownHosts } from './hostKeys.js';
import { Mutex } from '../../host/mutex.js';
import { sleep } from '../../host/sleep.js';
import { run } from '../../host/run.js';
import type { Deployer, HealthResult, ServiceDeployment } from '../types.js';
import { redactor, resultEvent, taskStartEvent } from './events.js';
import { checkHealth } from './health.js';
import { roleVersionProblem } from './serviceArtifacts.js';
import { buildInventory } from './inventory.js';
import { ANSIBLE_PLAYBOOK, runPlaybook, stopStaleRun, type PlaybookOutcome } from './playbook.js';
import { ServiceSecrets } from './secrets.js';
import { generatedParams, planCatalog, runVars } from './vars.js';
import { roleServes, typesOfRoles } from '../capabilities.js';

export interface ClusterKeySource {
  ensure(clusterId: string): Promise<{ privateKeyFile: string }>;
}

export interface AnsibleDeployerOptions {
  /** Playbooks, roles and ansible.cfg (the run's working directory): <package>/ansible. */
  ansibleDir: string;
  /** Directory of michman_events.py (default: this package's ansible/callback_plugins). */
  callbackDir?: string;
  /** The cluster's SSH key (the provider's). */
  keys: ClusterKeySource;
  /** Records of running playbooks, one per cluster (default <secretsDir>/ansible-runs). */
  runDir?: string;
  /** Generated service secrets: the secret store, or files under this directory. */
  secretsDir: string;
  secretStore?: SecretStore;
  /** Every nodes of the cluster as the provider knows them (delete and scale-in have no provision steps). */
  listNodes?(ctx: StepContext): Promise<ProvisionedNode[]>;
  /** `michman_apt_proxy`, when the provider runs an apt cache. */
  aptProxy?(): string | undefined;
  /**
   * Runs before a service's deploy.yml, e.g. to fill the provider's artifact cache with the files
   * the role will fetch (nspawn: spark's jars).
   */
  beforeDeploy?(ctx: StepContext, d: ServiceDeployment): Promise<void>;
  /** Variables added to every run (artifact_mirror, the provider's PyPI/Maven mirrors). */
  extraVars?(): Record<string, string>;
  /** Provider problems to refuse at POST (root, packages). */
  preflight?(): Promise<string[]>;
  /** Why this provider's install route cannot deploy a service version (nspawn: nothing pinned for it). */
  versionProblem?(type: string, version: string): string | undefined;
  /** Service type names of the catalog (each gets deploy_<type>). Default: the built-in catalog/. */
  knownTypes?: readonly string[];
  settings?: ExtraVarsSettings;
  program?: string;
  /** Longest time one Ansible task may run (config ansible_task_timeout_seconds; 0: no limit). */
  taskTimeoutSeconds?: number;
  /** How long health keeps retrying an unhealthy service (default 90 s). */
  healthWaitMs?: number;
  playbooks?: { prepare?: string; deploy?: string; remove?: string };
  /**
   * Who Ansible logs in as: root (machines we build: local containers), or the Michman image's
   * AnsibleUser (cloud images: ubuntu, debian, centos…; root where the image names none), with
   * privilege escalation when that is not root.
   */
  loginAs?: 'root' | 'image-user';
  /**
   * Where cloud nodes' SSH host keys are pinned (the store). Given, every run first checks each
   * node's keys against its pin (pinning it at first contact) and ssh insists on the pinned keys;
   * a changed key fails the run naming the node. Absent (nspawn: Michman builds the machines and
   * reuses addresses), host keys are not checked.
   */
  hostKeys?: HostKeyPins;
}

/** Type names of the catalog files in `dir` (the built-in catalog). */
export function catalogTypes(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const t = (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Type?: unknown }).Type;
      if (typeof t === 'string') out.push(t);
    } catch {
      /* not a service type file */
    }
  }
  return out.sort();
}

export class AnsibleDeployer implements Deployer {
  readonly name = 'ansible';
  private readonly o: AnsibleDeployerOptions;
  private readonly secrets: ServiceSecrets;
  private readonly locks = new Map<string, Mutex>();
  private readonly playbooks: { prepare: string; deploy: string; remove: string };

  constructor(o: AnsibleDeployerOptions) {
    this.o = o;
    this.secrets = new ServiceSecrets(o.secretsDir, o.secretStore);
    this.playbooks = { prepare: 'prepare.yml', deploy: 'deploy.yml', remove: 'remove.yml', ...o.playbooks };
  }

  /** The image's login user when told to use it and the plan recorded one; else root. */
  private loginUser(ctx: StepContext): string {
    return (this.o.loginAs === 'image-user' && ctx.plan?.imageRef?.ansibleUser) || 'root';
  }

  /**
   * With pinning: the known_hosts file of the cluster's pinned keys after checking every node in
   * `nodes` against its pin (or pinning it). Undefined without pinning.
   */
  private async knownHosts(ctx: StepContext, nodes: readonly ProvisionedNode[], clusterNodes: readonly ProvisionedNode[] = nodes): Promise<string | undefined> {
    if (!this.o.hostKeys) return undefined;
    const text = await verifiedKnownHosts({ pins: this.o.hostKeys, clusterId: ctx.clusterId, nodes, clusterNodes, signal: ctx.signal, emit: (e) => ctx.emit(e) });
    const file = join(this.o.runDir ?? join(this.o.secretsDir, 'ansible-runs'), `${ctx.clusterId}.known_hosts`);
    await writeKnownHosts(file, text);
    return file;
  }

  /** Service types with a role in ansible/roles (a directory `<type>` or `<type>_<part>`). */
  async roles(): Promise<string[]> {
    const entries = await readdir(join(this.o.ansibleDir, 'roles'), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  }

  async check(services: Array<{ type: string; version: string }>): Promise<string[]> {
    const problems = [...((await this.o.preflight?.()) ?? [])];
    if (!existsSync(this.o.program ?? ANSIBLE_PLAYBOOK)) problems.push('the ansible deployer needs the Debian package ansible: apt-get install ansible');
    const roles = await this.roles();
    const has = (t: string) => roles.some((r) => roleServes(r, t));
    const deployable = typesOfRoles(roles);
    for (const s of services) {
      if (!has(s.type)) {
        problems.push(`service '${s.type}' has no Ansible role (ansible/roles/${s.type}); this Michman can deploy: ${deployable.join(', ') || 'nothing yet'}`);
        continue;
      }
      const why = roleVersionProblem(this.o.ansibleDir, s.type, s.version) ?? this.o.versionProblem?.(s.type, s.version);
      if (why) problems.push(why);
    }
    return problems;
  }

  private lock(clusterId: string): Mutex {
    let m = this.locks.get(clusterId);
    if (!m) this.locks.set(clusterId, (m = new Mutex()));
    return m;
  }

  private async clusterNodes(ctx: StepContext, extra: readonly ProvisionedNode[] = []): Promise<ProvisionedNode[]> {
    const byName = new Map<string, ProvisionedNode>();
    for (const n of (await this.o.listNodes?.(ctx)) ?? []) byName.set(n.name, n);
    for (const n of ctx.nodes?.() ?? []) byName.set(n.name, n);
    for (const n of extra) byName.set(n.name, n);
    return [...byName.values()];
  }

  /** Generated secrets of every service of the plan (so every run passes the same values). */
  private async generated(ctx: StepContext, d?: ServiceDeployment): Promise<Record<string, Record<string, string>>> {
    const services = ctx.plan?.services.map((s) => ({ type: s.type, params: s.params })) ?? [];
    if (d && !services.some((s) => s.type === d.type)) services.push({ type: d.type, params: d.params });
    const out: Record<string, Record<string, string>> = {};
    for (const s of services) {
      const names = generatedParams(s.params);
      if (names.length > 0) out[s.type] = await this.secrets.ensure(ctx.clusterId, s.type, names);
    }
    return out;
  }

  private async play(
    ctx: StepContext,
    o: { playbook: string; phase: string; action: ExtraVarsAction; service?: ServiceDeployment; only?: string; limit?: string[]; nodes: ProvisionedNode[] },
  ): Promise<PlaybookOutcome | undefined> {
    if (!existsSync(join(this.o.ansibleDir, o.playbook))) {
      ctx.emit({ level: 'warn', phase: o.phase, ...(o.only ? { service: o.only } : {}), message: `no ${o.playbook} in ${this.o.ansibleDir}; nothing to run` });
      return undefined;
    }
    const key = await this.o.keys.ensure(ctx.clusterId);
    const generated = await this.generated(ctx, o.service);
    const loginUser = this.loginUser(ctx);
    const vars: ExtraVars = runVars({
      plan: ctx.plan,
      clusterName: ctx.plan?.cluster?.name || ctx.clusterName,
      ...(o.service ? { service: o.service } : {}),
      ...(o.only !== undefined ? { only: o.only } : {}),
      action: o.action,
      knownTypes: this.o.knownTypes ?? [],
      keyFile: key.privateKeyFile,
      nodes: o.nodes,
      ...(this.o.aptProxy?.() ? { aptProxy: this.o.aptProxy()! } : {}),
      generated,
      ...(this.o.settings ? { settings: this.o.settings } : {}),
      loginUser,
    });
    for (const [k, v] of Object.entries(this.o.extraVars?.() ?? {})) vars[k] = v;
    const catalog = planCatalog(ctx.plan, o.service, []);
    const secretValues = secretVarNames(vars, catalog)
      .map((n) => vars[n])
      .filter((v): v is string => typeof v === 'string');
    for (const g of Object.values(generated)) secretValues.push(...Object.values(g));
    const redact = redactor(secretValues);
    const clusterName = String(vars.cluster_name);
    return this.lock(ctx.clusterId).run(async () => {
      const knownHostsFile = await this.knownHosts(ctx, o.nodes);
      const inventory = buildInventory(clusterName, o.nodes, key.privateKeyFile, loginUser, knownHostsFile);
      const pidFile = join(this.o.runDir ?? join(this.o.secretsDir, 'ansible-runs'), `${ctx.clusterId}.pid`);
      const stale = await stopStaleRun(pidFile);
      if (stale !== undefined) ctx.emit({ level: 'warn', phase: o.phase, message: `stopped ansible-playbook (pid ${stale}) left running by an earlier Michman process` });
      ctx.emit({ level: 'info', phase: o.phase, ...(o.only ? { service: o.only } : {}), message: `ansible-playbook ${o.playbook}${o.only ? ` (michman_only=${o.only})` : ''}${o.limit ? ` --limit ${o.limit.join(',')}` : ''} on ${o.nodes.length} node(s)` });
      const out = await runPlaybook({
        ansibleDir: this.o.ansibleDir,
        playbook: o.playbook,
        inventory,
        extraVars: serializeExtraVars(vars),
        ...(o.limit ? { limit: o.limit } : {}),
        callbackDir: this.o.callbackDir ?? join(PACKAGE_ROOT, 'ansible', 'callback_plugins'),
        ...(this.o.program ? { program: this.o.program } : {}),
        ...(this.o.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: this.o.taskTimeoutSeconds } : {}),
        signal: ctx.signal,
        pidFile,
        hostKeyChecking: knownHostsFile !== undefined,
        redact,
        onResult: (r) => ctx.emit({ ...resultEvent(r, o.only, redact), phase: o.phase }),
        onTaskStart: (t) => ctx.emit({ ...taskStartEvent(t, o.only, redact), phase: o.phase }),
      });
      const changed = Object.values(out.stats).reduce((a, s) => a + s.changed, 0);
      const ok = Object.values(out.stats).reduce((a, s) => a + s.ok, 0);
      ctx.emit({ level: 'info', phase: o.phase, ...(o.only ? { service: o.only } : {}), message: `${o.playbook}: ok=${ok} changed=${changed} in ${out.seconds.toFixed(1)} s` });
      return out;
    });
  }

  async prepare(ctx: StepContext): Promise<void> {
    await this.prepareWithOutcome(ctx);
  }

  /** Runs prepare.yml on every node; returns the outcome (tests read changed counts). */
  async prepareWithOutcome(ctx: StepContext): Promise<PlaybookOutcome | undefined> {
    const nodes = await this.clusterNodes(ctx);
    if (nodes.length === 0) throw new Error('ansible deployer: no nodes to prepare');
    return this.play(ctx, { playbook: this.playbooks.prepare, phase: 'deploy', action: 'create', nodes });
  }

  /** Runs deploy.yml for one service; returns the outcome (tests read changed counts). */
  async deployWithOutcome(ctx: StepContext, d: ServiceDeployment): Promise<PlaybookOutcome | undefined> {
    await this.o.beforeDeploy?.(ctx, d);
    const nodes = await this.clusterNodes(ctx, d.nodes);
    return this.play(ctx, { playbook: this.playbooks.deploy, phase: 'deploy', action: 'create', service: d, only: d.type, nodes });
  }

  async deploy(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    await this.deployWithOutcome(ctx, d);
  }

  async health(ctx: StepContext, d: ServiceDeployment): Promise<HealthResult> {
    const generated = await this.generated(ctx, d);
    const params: Record<string, string> = {};
    for (const p of d.params) if (p.DefaultValue !== '') params[p.ParameterName] = p.DefaultValue;
    Object.assign(params, generated[d.type] ?? {});
    for (const [k, v] of Object.entries(d.config)) if (v !== '') params[k] = v;
    const key = await this.o.keys.ensure(ctx.clusterId);
    const clusterNodes = await this.clusterNodes(ctx, d.nodes);
    // As the deploys log in: the image's user with sudo on cloud images, against the pinned keys.
    const user = this.loginUser(ctx);
    const ssh = async (node: ProvisionedNode, command: string) => {
      const knownHostsFile = await this.knownHosts(ctx, [node], clusterNodes);
      return run('/usr/bin/ssh', [...sshOptions(key.privateKeyFile, knownHostsFile), `${user}@${node.address}`, asRoot(user, command)], { timeoutMs: 30_000, okCodes: [1, 2, 255], signal: ctx.signal });
    };
    const check = () => checkHealth({ type: d.type, nodes: d.nodes, params, accessPort: d.accessPort, clusterNodes, ssh });
    // A server a handler has just restarted, or slurmd registering with the controller, needs a
    // moment: retry for a bounded time before calling the service unhealthy.
    const until = Date.now() + (this.o.healthWaitMs ?? 90_000);
    for (;;) {
      const h = await check();
      if (h.healthy || Date.now() > until || ctx.signal.aborted) return h;
      await sleep(3000);
    }
  }

  async remove(ctx: StepContext, d: ServiceDeployment): Promise<void> {
    const nodes = await this.clusterNodes(ctx, d.nodes);
    const planned = ctx.plan?.services.find((s) => s.type === d.type)?.nodes ?? [];
    // Scale-in: only some of the service's nodes leave; the rest keep running it.
    const partial = planned.length > 0 && d.nodes.length < planned.length;
    const live = new Set(nodes.map((n) => n.name));
    if (!d.nodes.some((n) => live.has(n.name))) return;
    await this.play(ctx, {
      playbook: this.playbooks.remove,
      phase: 'remove',
      action: 'delete',
      service: d,
      only: d.type,
      nodes,
      ...(partial ? { limit: d.nodes.map((n) => n.name) } : {}),
    });
    if (!partial) await this.secrets.remove(ctx.clusterId, d.type);
  }
}
