// Ansible extra-vars, built by the original launcher's rules (reference launcher-services §1.6,
// `MakeExtraVars`) so that roles written for the original keep working: the same variable names, the
// same presence/absence of each variable, the same JSON typing of parameter values, and the same
// precedence when two rules write one name (later writes win, in the original's order).
//
// Pure: everything the original fetched (catalog, image, OpenStack credentials, registry login,
// connector JARs) comes in through `ExtraVarsInput`; the deployer does the I/O.
import { isValidValue } from './configValues.js';
import { ErrorClass, MichmanError, notFound, validation } from './errors.js';

// ---------------------------------------------------------------------------------------------------
// Input

/** A parameter of a service version or of a health check. Stored catalog objects fit as is. */
export interface ExtraVarsParam {
  ParameterName?: string;
  Type?: string;
  DefaultValue?: string;
  Required?: boolean;
  IsList?: boolean;
  AnsibleVarName?: string;
}

export interface ExtraVarsVersion {
  Version?: string;
  Configs?: readonly ExtraVarsParam[];
}

export interface ExtraVarsHealthCheck {
  CheckType?: string;
  Configs?: readonly ExtraVarsParam[];
}

export interface ExtraVarsServiceType {
  Type?: string;
  DefaultVersion?: string;
  Class?: string;
  Versions?: readonly ExtraVarsVersion[];
  HealthCheck?: readonly ExtraVarsHealthCheck[];
}

export interface ExtraVarsService {
  Type?: string;
  Version?: string;
  Config?: Readonly<Record<string, string>>;
}

/** The cluster fields the original launcher read; the wire `Cluster` fits as is. */
export interface ExtraVarsCluster {
  Name?: string;
  NSlaves?: number;
  OwnerID?: string;
  Monitoring?: boolean;
  Keys?: readonly string[];
  MasterFlavor?: string;
  SlavesFlavor?: string;
  StorageFlavor?: string;
  MonitoringFlavor?: string;
  Services?: readonly ExtraVarsService[];
}

export interface ExtraVarsImage {
  CloudImageID?: string;
  AnsibleUser?: string;
}

/**
 * Pass-through settings, named like the config file keys so the loaded config can be passed as is.
 * Unset keys become "" / false, the zero values the original's config struct carried.
 */
export interface ExtraVarsSettings {
  os_key_name?: string;
  virtual_network?: string;
  floating_ip_pool?: string;
  use_package_mirror?: boolean;
  use_pip_mirror?: boolean;
  apt_mirror_address?: string;
  pip_mirror_address?: string;
  pip_trusted_host?: string;
  yum_mirror_address?: string;
  docker_insecure_registry?: boolean;
  docker_selfsigned_registry?: boolean;
  docker_gitlab_registry?: boolean;
  docker_insecure_registry_ip?: string;
  docker_selfsigned_registry_ip?: string;
  docker_selfsigned_registry_port?: string;
  docker_selfsigned_registry_url?: string;
  docker_cert_path?: string;
}

/** The OpenStack credential map (its `OS_*` names); missing keys read as "", as in the original. */
export interface ExtraVarsOpenStack {
  OS_PROJECT_NAME?: string;
  OS_AUTH_URL?: string;
  OS_SWIFT_USERNAME?: string;
  OS_SWIFT_PASSWORD?: string;
}

export interface RegistryLogin {
  url: string;
  user?: string;
  password?: string;
}

export interface SparkJar {
  name: string;
  path: string;
}

/**
 * create → `act=launch`, `create_cluster=true`; update → `act=launch`, `create_cluster=false`;
 * delete → `act=destroy`. Adding nodes to an existing cluster (a storage service added, a
 * scale-out) needs `create` so the VMs get provisioned, as the original did for storage services.
 */
export type ExtraVarsAction = 'create' | 'update' | 'delete';

export interface ExtraVarsInput {
  action: ExtraVarsAction;
  cluster: ExtraVarsCluster;
  /** The whole catalog: every type gets a `deploy_<type>` flag, deployed or not. */
  catalog: readonly ExtraVarsServiceType[];
  /** The cluster's image (the original read it by `Cluster.Image`). */
  image: ExtraVarsImage;
  settings?: ExtraVarsSettings;
  openstack?: ExtraVarsOpenStack;
  /** Needed exactly when `needsRegistryLogin(settings)`; ignored otherwise. */
  registryLogin?: RegistryLogin;
  /** Path of the private key Ansible connects with (`ansible_ssh_private_key_file`). */
  sshPrivateKeyFile: string;
  /**
   * Connector JARs for Spark (`spark_extra_jars`). The original downloaded them inside extra-vars
   * construction (Cassandra / Elasticsearch connectors, reference §1.6.2), which made delete depend
   * on dead download sites; fetching is the deployer's choice now, and delete needs none.
   */
  sparkExtraJars?: readonly SparkJar[];
}

// ---------------------------------------------------------------------------------------------------
// Output

export type ExtraVarValue =
  | string
  | number
  // int64 list elements beyond 2^53, which a JS number would round (see serializeExtraVars).
  | bigint
  | boolean
  | null
  | ExtraVarValue[]
  | { [key: string]: ExtraVarValue };

export type ExtraVars = { [name: string]: ExtraVarValue };

// ---------------------------------------------------------------------------------------------------
// Value typing (the original's ConvertParamValue)

const GO_TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

function roundHexFloat(mantissa: bigint, exp2: number): number {
  if (mantissa === 0n) return 0;
  const bits = mantissa.toString(2).length;
  const top = bits - 1 + exp2;
  // 53 significant bits for normal numbers, fewer below 2^-1022 where the last bit weighs 2^-1074.
  const keep = Math.min(53, top + 1075);
  const shift = bits - keep;
  let q = mantissa;
  let e = exp2;
  if (shift > 0) {
    const s = BigInt(shift);
    q = mantissa >> s;
    const rem = mantissa & ((1n << s) - 1n);
    const half = 1n << (s - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    e += shift;
  }
  // q * 2^e is exactly representable now; two half-steps keep the intermediate out of the subnormal
  // range (and out of overflow), so neither multiplication rounds.
  const h = Math.trunc(e / 2);
  return Number(q) * 2 ** h * 2 ** (e - h);
}

/** strconv.ParseFloat for a string `isValidValue('float', …)` accepted. */
function parseGoFloat(v: string): number {
  const special = /^([+-]?)(?:inf|infinity|nan)$/i.exec(v);
  if (special !== null) {
    if (/nan$/i.test(v)) return NaN;
    return special[1] === '-' ? -Infinity : Infinity;
  }
  const negative = v.startsWith('-');
  const body = (v.startsWith('-') || v.startsWith('+') ? v.slice(1) : v).replace(/_/g, '');
  if (!/^0x/i.test(body)) return Number((negative ? '-' : '') + body);
  const [mant = '', exp = '0'] = body.slice(2).split(/p/i);
  const [intPart = '', fracPart = ''] = mant.split('.');
  // Go saturates absurd exponents the same way: beyond these bounds the result is 0 (or rejected).
  const e = Math.max(-100_000, Math.min(100_000, Number(exp)));
  const x = roundHexFloat(BigInt('0x' + (intPart + fracPart || '0')), e - 4 * fracPart.length);
  return negative ? -x : x;
}

function toSafeInt(literal: string): number | bigint {
  const n = BigInt(literal);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * Typed value of a parameter as the original passed it: int (32-bit) and float → JSON number, bool
 * from Go's ParseBool words, string unchanged, list → the JSON array decoded into a Go slice of the
 * element type (so `null` stays null and null elements become the zero value 0 / false / "").
 *
 * Non-finite floats (`Inf`, `-Infinity`, `NaN` pass the REST validation, as in the original) are
 * returned as JS ±Infinity / NaN. JSON cannot carry them and the original's json.Marshal failed the
 * whole run on them; `serializeExtraVars` writes them as `Infinity` / `-Infinity` / `NaN`, which
 * Ansible's extra-vars loader (Python's json module) reads back as float inf / nan, so the role
 * receives the value the user asked for. Never JSON.stringify extra-vars: it would turn them into null.
 *
 * Throws (class 300) when the value does not convert, like the original aborting the run; the message
 * names the parameter but never its value, which may be a password.
 */
export function convertParamValue(serviceType: string, param: ExtraVarsParam, value: string): ExtraVarValue {
  const type = param.Type ?? '';
  const isList = param.IsList === true;
  const name = param.ParameterName ?? '';
  const fail = (): MichmanError =>
    validation(`'${serviceType}' service config param '${name}' value can't be converted to ${isList ? `a list of ${type}` : type || 'an unknown type'}`);
  if (type !== 'int' && type !== 'float' && type !== 'bool' && type !== 'string') throw fail();
  if (!isValidValue(type, isList, value)) throw fail();

  if (!isList) {
    switch (type) {
      case 'int':
        return Number(BigInt(value.startsWith('+') ? value.slice(1) : value));
      case 'float':
        return parseGoFloat(value);
      case 'bool':
        return GO_TRUE.has(value);
      case 'string':
        return value;
    }
  }
  const parsed = JSON.parse(value) as unknown[] | null;
  if (parsed === null) return null;
  switch (type) {
    case 'int': {
      // JSON.parse rounds beyond 2^53; Go decoded the literal text into int64. The validated text holds
      // only integers and nulls, so its tokens are the elements in order.
      const tokens = value.match(/-?[0-9]+|null/g) ?? [];
      return tokens.map((t) => (t === 'null' ? 0 : toSafeInt(t)));
    }
    case 'float':
      return parsed.map((e) => (e === null ? 0 : (e as number)));
    case 'bool':
      return parsed.map((e) => e === true);
    case 'string':
      return parsed.map((e) => (e === null ? '' : (e as string)));
  }
}

// ---------------------------------------------------------------------------------------------------
// Construction

/** Whether the registry credentials must be fetched: the original read them only for these two. */
export function needsRegistryLogin(settings: ExtraVarsSettings | undefined): boolean {
  return settings?.docker_selfsigned_registry === true || settings?.docker_gitlab_registry === true;
}

function setParams(
  vars: Map<string, ExtraVarValue>,
  serviceType: string,
  params: readonly ExtraVarsParam[],
  config: Readonly<Record<string, string>>,
  varName: (p: ExtraVarsParam) => string | undefined,
): void {
  for (const p of params) {
    const key = varName(p);
    if (key === undefined) continue;
    const pname = p.ParameterName ?? '';
    if (Object.hasOwn(config, pname)) vars.set(key, convertParamValue(serviceType, p, config[pname] as string));
    else if (p.Required === true) vars.set(key, convertParamValue(serviceType, p, p.DefaultValue ?? ''));
  }
}

/**
 * The extra-vars object of one playbook run, keys sorted (Go's encoder sorted map keys, so the
 * serialised text matches the original's byte for byte on the same input).
 *
 * Per catalog type, in catalog order: `deploy_<type>` true/false. For a deployed type only:
 * `<type>_version` (the service's Version, else the type's DefaultVersion), then each parameter of
 * that version under its AnsibleVarName (the user's value, else DefaultValue when Required, else
 * nothing), the node flag of its class, then the parameters of HealthCheck[0] unless its CheckType is
 * NotSupported. Quirks kept on purpose, because roles written for the original rely on them:
 * `<type>_version` is absent (not empty) for types not deployed; a health parameter also picks up a
 * user value under its ParameterName, though REST validation never lets one through; a parameter whose
 * var name equals an earlier variable overwrites it, and the fixed variables below overwrite both.
 *
 * Deviations (the original crashed or silently misbehaved): a cluster service whose type is not in
 * the catalog, or whose version is not in its type, is refused (the original skipped the first and
 * panicked on the second); a type with no HealthCheck contributes no health variables (the original
 * panicked); a health parameter without AnsibleVarName is skipped (the original wrote a variable
 * named ""); registry flags on without `registryLogin` are refused (the original failed reading Vault).
 *
 * Monitoring: `create_monitoring` always, and `deploy_consul: true` only when monitoring is on, as in
 * the original, so its playbooks still run unchanged. Our own monitoring role (Prometheus) keys on
 * `create_monitoring`, the flag that also creates the monitoring node; no new variable was added,
 * since any `deploy_<x>` name could collide with a future catalog type.
 */
export function buildExtraVars(input: ExtraVarsInput): ExtraVars {
  const { cluster, catalog, image } = input;
  const settings = input.settings ?? {};
  const os = input.openstack ?? {};
  const services = cluster.Services ?? [];
  const nSlaves = cluster.NSlaves ?? 0;

  const byType = new Map<string, ExtraVarsService>();
  for (const s of services) byType.set(s.Type ?? '', s);
  const known = new Set(catalog.map((t) => t.Type ?? ''));
  for (const t of byType.keys()) if (!known.has(t)) throw notFound('service type', t);

  const vars = new Map<string, ExtraVarValue>();
  vars.set('create_storage', false);

  for (const st of catalog) {
    const type = st.Type ?? '';
    const svc = byType.get(type);
    if (svc === undefined) {
      vars.set(`deploy_${type}`, false);
      continue;
    }
    vars.set(`deploy_${type}`, true);
    const version = svc.Version ? svc.Version : (st.DefaultVersion ?? '');
    vars.set(`${type}_version`, version);
    const sv = (st.Versions ?? []).find((v) => (v.Version ?? '') === version);
    if (sv === undefined) throw notFound('service version', `${type} ${version}`);
    const config = svc.Config ?? {};
    // Stored version configs always carry <type>_<param>; the fallback covers raw catalog objects.
    setParams(vars, type, sv.Configs ?? [], config, (p) => p.AnsibleVarName || `${type}_${p.ParameterName ?? ''}`);

    if (st.Class === 'storage') vars.set('create_storage', true);
    else if (st.Class === 'stand-alone') vars.set('create_master', true);
    else vars.set('create_master_slave', true);

    const hc = st.HealthCheck?.[0];
    if (hc !== undefined && hc.CheckType !== 'NotSupported') {
      setParams(vars, type, hc.Configs ?? [], config, (p) => p.AnsibleVarName || undefined);
    }
  }

  vars.set('sync', 'async');
  vars.set('create_cluster', input.action === 'create');
  vars.set('n_slaves', nSlaves);
  vars.set('cluster_name', cluster.Name ?? '');
  vars.set('create_monitoring', cluster.Monitoring === true);
  vars.set('mountnfs', false);
  vars.set('master_flavor', cluster.MasterFlavor ?? '');
  vars.set('slaves_flavor', cluster.SlavesFlavor ?? '');
  vars.set('storage_flavor', cluster.StorageFlavor ?? '');
  vars.set('monitoring_flavor', cluster.MonitoringFlavor ?? '');
  vars.set('boot_from_volume', false);
  vars.set('ansible_user', image.AnsibleUser ?? '');
  vars.set('hadoop_user', image.AnsibleUser ?? '');
  vars.set('os_image', image.CloudImageID ?? '');
  vars.set('skip_packages', false);
  vars.set('os_project_name', os.OS_PROJECT_NAME ?? '');
  vars.set('floating_ip_pool', settings.floating_ip_pool ?? '');
  vars.set('os_auth_url', os.OS_AUTH_URL ?? '');
  vars.set('use_oracle_java', false);
  vars.set('ansible_ssh_private_key_file', input.sshPrivateKeyFile);
  vars.set('act', input.action === 'delete' ? 'destroy' : 'launch');
  vars.set('virtual_network', settings.virtual_network ?? '');
  vars.set('os_key_name', settings.os_key_name ?? '');
  // Sent as os_swift_user_name although the Hadoop templates read os_swift_username (reference §6.1
  // #10): renaming it would change what existing roles receive.
  vars.set('os_swift_user_name', os.OS_SWIFT_USERNAME ?? '');
  vars.set('os_swift_password', os.OS_SWIFT_PASSWORD ?? '');
  vars.set('spark_extra_jars', (input.sparkExtraJars ?? []).map((j) => ({ name: j.name, path: j.path })));

  vars.set('use_package_mirror', settings.use_package_mirror === true);
  vars.set('use_pip_mirror', settings.use_pip_mirror === true);
  vars.set('apt_mirror_address', settings.apt_mirror_address ?? '');
  vars.set('pip_mirror_address', settings.pip_mirror_address ?? '');
  vars.set('pip_trusted_host', settings.pip_trusted_host ?? '');
  vars.set('yum_mirror_address', settings.yum_mirror_address ?? '');

  vars.set('docker_insecure_registry', settings.docker_insecure_registry === true);
  vars.set('docker_selfsigned_registry', settings.docker_selfsigned_registry === true);
  vars.set('docker_gitlab_registry', settings.docker_gitlab_registry === true);
  vars.set('docker_insecure_registry_ip', settings.docker_insecure_registry_ip ?? '');
  vars.set('docker_selfsigned_registry_ip', settings.docker_selfsigned_registry_ip ?? '');
  vars.set('docker_selfsigned_registry_port', settings.docker_selfsigned_registry_port ?? '');
  vars.set('docker_selfsigned_registry_url', settings.docker_selfsigned_registry_url ?? '');
  vars.set('docker_cert_path', settings.docker_cert_path ?? '');
  if (needsRegistryLogin(settings)) {
    const login = input.registryLogin;
    if (login === undefined) {
      throw new MichmanError(ErrorClass.Unexpected, 'docker registry credentials are required by the registry settings');
    }
    // The original's defaults for an empty user or password in the registry secret.
    vars.set('docker_logins', [{ url: login.url, user: login.user || 'docker', password: login.password || 'rekcod' }]);
  }

  // Node-flag post-rules: the same rules as topology.nodeFlagVars, applied in the original's order so
  // a parameter that happens to be named create_master* is overwritten exactly as it was there.
  if (services.length === 0 && nSlaves > 0) vars.set('create_master_slave', true);
  else if (services.length === 0 && nSlaves === 0) {
    vars.set('create_master', true);
    vars.set('create_master_slave', false);
  }
  if (vars.get('create_master') === true && nSlaves > 0) vars.set('create_master_slave', true);

  if (cluster.Keys !== undefined && cluster.Keys.length > 0) vars.set('public_keys', [...cluster.Keys]);
  if (vars.get('create_monitoring') === true) vars.set('deploy_consul', true);
  vars.set('cluster_owner', cluster.OwnerID ?? '');

  return Object.fromEntries([...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------------
// Serialisation

// Go's encoder escapes these for HTML safety; doing the same keeps the text identical to the original's.
const goEscape = (s: string): string =>
  JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function encode(v: ExtraVarValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return goEscape(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Number.isNaN(v)) return 'NaN';
      if (v === Infinity) return 'Infinity';
      if (v === -Infinity) return '-Infinity';
      // Go writes float64 -0 as "-0"; String() would drop the sign.
      if (Object.is(v, -0)) return '-0';
      // Same shortest round-trip digits and the same switch to exponent form (< 1e-6, >= 1e21) as Go.
      return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(encode).join(',')}]`;
  const obj = v as { [key: string]: ExtraVarValue };
  const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${goEscape(k)}:${encode(obj[k] as ExtraVarValue)}`).join(',')}}`;
}

/**
 * The text of the extra-vars file (`ansible-playbook --extra-vars @file`): JSON with keys sorted at
 * every level, integers beyond 2^53 written exactly, and non-finite floats as the `Infinity` / `NaN`
 * tokens Python's json module accepts (see convertParamValue). Not strict JSON for those two cases
 * only, which is the point: strict JSON cannot carry the value.
 */
export function serializeExtraVars(vars: ExtraVars): string {
  return encode(vars);
}

// ---------------------------------------------------------------------------------------------------
// Secrets

// "key" is matched as a word ending (api_key, sshKey, apikey) so keystone_* flags are not hidden.
function isSecretName(parameterName: string): boolean {
  const words = parameterName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  return words.some((w) => /password|passwd|secret|token|credential/.test(w) || w.endsWith('key') || w.endsWith('keys'));
}

/**
 * Names of the variables in `extraVars` that hold secrets, sorted: parameters (version or health)
 * whose ParameterName says password / passwd / secret / token / credential / key, under their var
 * names in any version of the type, plus the registry logins and the Swift password. For redaction in
 * logs, events and error messages; the file given to Ansible keeps the real values.
 */
export function secretVarNames(extraVars: ExtraVars, catalog: readonly ExtraVarsServiceType[]): string[] {
  const names = new Set<string>();
  for (const st of catalog) {
    const type = st.Type ?? '';
    for (const v of st.Versions ?? []) {
      for (const p of v.Configs ?? []) {
        if (isSecretName(p.ParameterName ?? '')) names.add(p.AnsibleVarName || `${type}_${p.ParameterName ?? ''}`);
      }
    }
    for (const h of st.HealthCheck ?? []) {
      for (const p of h.Configs ?? []) {
        if (p.AnsibleVarName && isSecretName(p.ParameterName ?? '')) names.add(p.AnsibleVarName);
      }
    }
  }
  names.add('docker_logins');
  names.add('os_swift_password');
  return [...names].filter((n) => Object.hasOwn(extraVars, n)).sort();
}

export const REDACTED = '********';

/**
 * A copy of `extraVars` with every secretVarNames entry replaced by REDACTED, fit for logs. Empty
 * strings stay visible: "no password configured" is worth seeing and reveals nothing.
 */
export function redactExtraVars(extraVars: ExtraVars, catalog: readonly ExtraVarsServiceType[]): ExtraVars {
  const secret = new Set(secretVarNames(extraVars, catalog));
  return Object.fromEntries(
    Object.entries(extraVars).map(([k, v]) => [k, secret.has(k) && v !== '' ? REDACTED : v]),
  );
}
