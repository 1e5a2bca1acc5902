import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

// Extra schema annotations read by the loader and the docs generator. TypeBox keeps unknown
// options on the schema object, so they travel with the key instead of living in side tables.
export interface KeyAnnotations {
  /** Never echo the value back (error messages, logs, docs). */
  secret?: boolean;
  /** Default that depends on other keys, so it cannot be a literal `default`; shown in docs only. */
  docDefault?: string;
  /**
   * The original's key for a feature Michman does not have yet: accepted while it asks for nothing
   * (its default, or empty), refused at start-up otherwise, so no key is accepted and ignored.
   * The text says what is missing.
   */
  notYet?: string;
}

const str = (description: string, extra: KeyAnnotations = {}) =>
  Type.Optional(Type.String({ description, ...extra }));

const bool = (description: string, extra: KeyAnnotations = {}) => Type.Boolean({ description, default: false, ...extra });

// The cast only tells TypeScript the static type (a union of the literals); the schema is the real union.
const oneOf = <const T extends readonly string[]>(values: T, description: string, def: T[number], extra: KeyAnnotations = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, default: def, ...extra },
  ) as unknown as TUnion<TLiteral<T[number]>[]>;

// Why each group of the original's keys is refused for now (KeyAnnotations.notYet).
const NO_LOG_SHIPPING = 'cluster logs are kept in the database and served by GET /logs/projects/{p}/clusters/{c} (or shipped to Logstash with logs_output: logstash); nothing writes them to files';
const NO_YUM = 'cluster nodes run Debian (apt), and no role configures yum; use apt_mirror_address';
const NO_DOCKER = 'no service role uses Docker yet, so there is no registry to configure';
const NO_COUCHBASE = 'Couchbase storage is not supported';

export const STORAGES = ['sqlite', 'mysql', 'postgres'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = Type.Object(
  {
    // --- OpenStack (original) ---
    os_key_name: str('Key pair name of the OpenStack account, injected into cluster VMs.'),
    virtual_network: str('OpenStack virtual network name or ID (Neutron or Nova-networking).'),
    floating_ip_pool: str('OpenStack floating IP pool name.'),
    // Free-form on purpose: the original treats every unknown version like ussuri.
    os_version: Type.String({
      description: 'OpenStack release code name: stein, liberty or ussuri; any other value behaves as ussuri.',
      default: 'ussuri',
    }),
    // --- OpenStack (ours) ---
    os_cloud: str('Name of the cloud in clouds.yaml holding the OpenStack credentials (default: the OS_CLOUD variable; with neither, the OS_* variables).'),
    os_clouds_file: str('Path of the clouds.yaml with os_cloud.', { docDefault: 'OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml' }),
    os_on_failure: oneOf(['keep', 'delete'], 'What happens to the cloud resources of a node whose create failed: keep (for inspection and the retry, which replaces a server in ERROR) or delete.', 'keep'),
    os_reachability: oneOf(['ssh', 'active'], 'When an OpenStack node counts as reachable: ssh (TCP port 22 answers at its address) or active (server ACTIVE with its port; for fake hypervisors and clouds without a route to the nodes).', 'ssh'),
    os_server_group: oneOf(['none', 'anti-affinity', 'soft-anti-affinity'], "Nova server group policy for a cluster's servers (one group per cluster).", 'none'),
    os_storage_volume_gb: Type.Integer({ description: 'Size of a Cinder data volume attached to the storage node; 0 = none.', default: 0, minimum: 0 }),
    os_ingress_cidr: Type.String({ description: "Addresses allowed to reach SSH and the services' catalog ports; nodes of a cluster always reach each other.", default: '0.0.0.0/0' }),
    os_ssh_public_key_file: str('Without os_key_name: public key for a per-cluster key pair michman-<cluster id>, created and deleted with the cluster.'),
    os_request_timeout_seconds: Type.Integer({ description: 'Timeout of one OpenStack API call (transient failures are retried).', default: 30, minimum: 1 }),
    quota_check: oneOf(['warn', 'enforce'], "A cluster that does not fit the cloud project's quota: warn (shown in the dry run) or enforce (the create is refused with 400 naming the resource).", 'warn'),
    janitor_interval_seconds: Type.Integer({ description: 'How often a worker looks for cloud resources tagged for clusters that no longer exist; 0 = never.', default: 3600, minimum: 0 }),
    janitor_delete: bool("The periodic janitor removes the leaked resources it finds (otherwise it only logs them; `michman janitor --delete` removes them on demand)."),

    // --- Vault (original) ---
    vault_addr: str('Vault address, e.g. http://127.0.0.1:8200.'),
    token: str('Vault token.', { secret: true }),
    os_key: str('Vault path to the OpenStack credentials.'),
    ssh_key: str('Vault path to the secret holding the SSH private key.'),
    cb_key: str('Vault path to Couchbase credentials.', { notYet: NO_COUCHBASE }),
    mysql_key: str('Secret path of the database credentials (address, user, password, database) for mysql or postgres, used when database_url is unset.'),
    registry_key: str('Vault path to GitLab registry credentials.', { notYet: NO_DOCKER }),
    hydra_key: str('Secret path of the OAuth2 client (client_id, client_secret, redirect_uri), in the secret store; oauth2 model.', { docDefault: 'oauth2' }),

    // --- Storage ---
    storage: oneOf(STORAGES, 'Database engine: sqlite, mysql (also MariaDB) or postgres.', 'sqlite'),
    database_url: str(
      'Database location. mysql/postgres: a URL such as mysql://user:pass@127.0.0.1:3306/michman or ' +
        'postgres://user:pass@127.0.0.1:5432/michman (required). sqlite: path of the database file.',
      { secret: true, docDefault: '<data_dir>/michman.sqlite (sqlite only)' },
    ),
    data_dir: Type.String({ description: 'Directory for local state; relative paths resolve against the working directory.', default: './data' }),

    // --- Cluster logs (original) ---
    logs_output: oneOf(['file', 'logstash'], "Where cluster deployment logs go besides the database: file (nowhere else: GET /logs/projects/{p}/clusters/{c} reads the database) or logstash (each event also as a JSON line to logstash_addr, Logstash's tcp input with the json_lines codec).", 'file'),
    logs_file_path: str('Directory for cluster logs when logs_output is file.', { notYet: NO_LOG_SHIPPING }),
    logstash_addr: str("host:port of Logstash's tcp input (codec json_lines); required when logs_output is logstash."),
    elastic_addr: str('Elasticsearch/OpenSearch URL (http://host:9200) that GET /logs/projects/{p}/clusters/{c} reads cluster logs from (index <action>_<clusterID>, as the Logstash pipeline writes them); required when logs_output is logstash. May carry user:password (sent as Basic authorization, never shown).', { secret: true }),

    // --- Package mirrors (original) ---
    // The roles write them on every node (ansible/roles/base/tasks/mirrors.yml). Unlike the original,
    // which appended its Nexus layout (/repository/apt-slurm, /pypi-all/pypi), the addresses are used
    // as given: the Debian archive root and the PyPI simple index.
    use_package_mirror: bool('Install Debian packages on cluster nodes from apt_mirror_address instead of the image\'s sources (and the security archive from apt_security_mirror_address).'),
    use_pip_mirror: bool('Point pip on cluster nodes at pip_mirror_address (/etc/pip.conf).'),
    apt_mirror_address: str('URL of the Debian archive mirror that replaces deb.debian.org/debian on every node (release and -updates suites), e.g. http://mirror.example.org/debian or an apt-cacher-ng http://<host>:3142/deb.debian.org/debian; required when use_package_mirror is true.'),
    yum_mirror_address: str('Address of the Red Hat packages mirror.', { notYet: NO_YUM }),
    pip_mirror_address: str('URL of the PyPI simple index pip uses on every node (index-url in /etc/pip.conf), e.g. https://nexus.example.org/repository/pypi-all/simple; required when use_pip_mirror is true.'),
    pip_trusted_host: str('Host (or host:port) of the pip mirror that pip trusts without TLS verification (trusted-host in /etc/pip.conf); needed for an http:// mirror.'),
    // --- Package mirrors (ours) ---
    apt_security_mirror_address: str('URL of the mirror of the Debian security archive (the -security suite) used with use_package_mirror.', { docDefault: 'apt_mirror_address with -security appended (the layout of Debian mirrors and of apt-cacher-ng)' }),
    // --- Artifacts (ours) ---
    artifact_mirror: str(
      'URL prefix that replaces https://archive.apache.org/dist for the official release archives roles download (Spark, Hadoop); each archive is still checked against the .sha512 file beside it. Passed to roles as artifact_mirror.',
      { docDefault: 'https://archive.apache.org/dist' },
    ),

    // --- Docker registries (original) ---
    docker_insecure_registry: bool('Use a local insecure (no TLS, no auth) Docker registry.', { notYet: NO_DOCKER }),
    docker_selfsigned_registry: bool('Use a local Docker registry with a self-signed certificate.', { notYet: NO_DOCKER }),
    docker_gitlab_registry: bool('Use a GitLab Docker registry (credentials at registry_key).', { notYet: NO_DOCKER }),
    docker_insecure_registry_ip: str('Host IP of the insecure registry.', { notYet: NO_DOCKER }),
    docker_selfsigned_registry_ip: str('Host IP of the self-signed registry.', { notYet: NO_DOCKER }),
    docker_selfsigned_registry_port: str('Port of the self-signed registry.', { notYet: NO_DOCKER }),
    docker_selfsigned_registry_url: str('Address of the self-signed registry as written in its certificate.', { notYet: NO_DOCKER }),
    docker_cert_path: str('Path to the self-signed registry certificate.', { notYet: NO_DOCKER }),

    // --- Authentication (original) ---
    use_auth: bool('Require authentication for API requests.'),
    authorization_model: oneOf(
      ['none', 'oauth2', 'keystone'],
      'Authorization model when use_auth is true: none (open, development only), oauth2 (any OAuth2/OIDC provider, Ory Hydra included) or keystone.',
      'none',
    ),
    admin_group: str('Name of the administrators group (with keystone: a role or project name).', { docDefault: 'admin' }),
    session_idle_timeout: Type.Integer({
      description: 'Minutes a session may stay inactive before it expires.',
      default: 60,
      minimum: 1,
    }),
    session_lifetime: Type.Integer({
      description: 'Minutes a session stays valid regardless of activity.',
      default: 480,
      minimum: 1,
    }),
    hydra_admin: str('Hydra admin API address; its /oauth2/introspect checks tokens (a URL ending in /introspect is used as is, e.g. Hydra 2\'s …/admin/oauth2/introspect); unset: the issuer\'s introspection endpoint.'),
    hydra_client: str('Hydra public (client) API address; the issuer when oidc_issuer is unset.'),
    keystone_addr: str('Keystone address; required for the keystone model.'),
    auth_config_path: str('Path to the Casbin model file (auth_model.conf).', { docDefault: 'built-in model (the original format)' }),
    policy_path: str('Path to the Casbin policy file (policy.csv).', { docDefault: 'built-in policy (admin, project members, users)' }),

    // --- Authentication (ours) ---
    oidc_issuer: str('OAuth2/OIDC issuer URL (discovery at <issuer>/.well-known/openid-configuration); oauth2 model.', { docDefault: 'hydra_client' }),
    oidc_client_id: str('OAuth2 client ID of Michman; overrides client_id of the hydra_key secret.'),
    oidc_redirect_uri: str('Redirect URI registered for the browser login (…/auth); overrides redirect_uri of the hydra_key secret.'),
    oidc_audience: str('Required audience (aud) of access tokens; unset = not checked.'),
    oidc_scopes: Type.String({ description: 'Scopes asked for at browser login.', default: 'openid profile' }),
    oidc_groups_claim: Type.String({ description: 'Claim holding the groups: a comma-separated string (Hydra) or an array.', default: 'groups' }),
    oidc_user_claim: Type.String({ description: 'Claim naming the user (client_id when absent, as in client-credentials tokens).', default: 'sub' }),
    token_check: oneOf(['introspection', 'jwt'], 'How bearer tokens are checked: introspection at the provider, or JWT signature against its JWKS.', 'introspection'),
    token_cache_seconds: Type.Integer({
      description: 'Seconds a checked bearer or Keystone token is trusted before it is checked again (0 = every request).',
      default: 30,
      minimum: 0,
      maximum: 3600,
    }),

    // --- Secrets (ours) ---
    secrets_store: oneOf(['file', 'env', 'vault'], 'Where secrets come from: file (secrets_file, mode 0600), env (MICHMAN_SECRET_<PATH>__<KEY>, writes go to the file) or vault.', 'file'),
    secrets_file: str('JSON file of the file secret store.', { docDefault: '<data_dir>/secrets.json' }),
    vault_kv_version: Type.Integer({ description: 'Vault KV engine version of the secret paths: 1 (the original) or 2.', default: 1, minimum: 1, maximum: 2 }),

    // --- Service ---
    listen: Type.String({
      description: 'HTTP listen address as host:port; IPv6 hosts in brackets, e.g. [::1]:8081.',
      default: '127.0.0.1:8081',
    }),
    metrics_token: str('Bearer token GET /metrics requires; unset = /metrics is open on the listen address, like /healthz and /readyz (it shows counts and route patterns, no names).', { secret: true }),
    log_level: oneOf(LOG_LEVELS, 'Service log level.', 'info'),
    body_limit: Type.Integer({ description: 'Maximum request body size in bytes.', default: 1048576, minimum: 1 }),
    workers: Type.Integer({
      description: 'Operations this process runs at once (create, update, scale, delete); 0 = an API-only replica.',
      default: 4,
      minimum: 0,
    }),
    provider: oneOf(
      ['local', 'openstack', 'nspawn', 'fake'],
      'Where cluster nodes come from: local (addresses in 127.0.0.0/8 on this host, services as real processes), openstack (Nova servers, services by Ansible), nspawn (systemd-nspawn containers on this host, services by Ansible) or fake (records, for tests and benchmarks).',
      'local',
    ),
    provision_deadline_seconds: Type.Integer({
      description: 'An operation fails, naming the phase, when its nodes are not created and reachable within this time.',
      default: 1800,
      minimum: 1,
    }),
    deploy_deadline_seconds: Type.Integer({ description: 'Deadline of the deploy phase (all services).', default: 3600, minimum: 1 }),
    ansible_task_timeout_seconds: Type.Integer({
      description:
        'Longest time one Ansible task may run (a stalled apt download, a service that never answers) before it fails, naming host, role and task; 0 for no limit.',
      default: 1200,
      minimum: 0,
    }),
    health_deadline_seconds: Type.Integer({ description: 'Deadline of the health phase.', default: 600, minimum: 1 }),
    health_interval: Type.Integer({
      description: 'Seconds between two runs of the health check of every service of a settled cluster, by the workers (a failing service is UNHEALTHY, its cluster DEGRADED); 0 = never.',
      default: 30,
      minimum: 0,
    }),
    delete_deadline_seconds: Type.Integer({ description: 'Deadline of removing services and nodes.', default: 1800, minimum: 1 }),
    lease_seconds: Type.Integer({
      description: 'How long a worker holds an operation without a heartbeat before another worker may take it over.',
      default: 30,
      minimum: 2,
    }),
    fake_boot_ms: Type.Integer({ description: 'provider fake only (tests, benchmarks): how long a node takes to boot, in milliseconds.', default: 200, minimum: 0 }),
    fake_state_dir: str('provider fake only (benchmarks of several worker processes): a directory where the fake nodes are recorded, shared by the processes as a cloud would be, so a worker resuming another\'s operation finds the nodes it made; unset = in memory, per process.'),
    shutdown_grace_seconds: Type.Integer({
      description:
        'On SIGTERM or SIGINT, how long running operations may go on to finish; those still running then are handed back (their lease released, their journal kept) and resume at the next start or on another worker. Never cancelled or failed by a shutdown.',
      default: 20,
      minimum: 0,
    }),
    cluster_ttl_warning_seconds: Type.Integer({
      description: 'How long before a cluster\'s ExpiresAt a warning event is written; 0 = a tenth of its lifetime.',
      default: 0,
      minimum: 0,
    }),
    project_max_clusters: Type.Integer({ description: 'Limit of clusters per project (every project); 0 = no limit.', default: 0, minimum: 0 }),
    project_max_nodes: Type.Integer({ description: 'Limit of nodes (masters, slaves, storage and monitoring nodes of all its clusters) per project (every project); 0 = no limit.', default: 0, minimum: 0 }),

    // --- nspawn provider ---
    nspawn_network: Type.String({
      description: 'Private IPv4 range (/16 to /29) of the nspawn provider: its host bridge takes the first address, nodes the others. Used only on the bridge and in the namespaces the provider creates.',
      default: '10.213.0.0/24',
    }),
    nspawn_images_dir: str('Where the nspawn provider keeps its debootstrap image (built once, about 300 MB).', { docDefault: '<data_dir>/nspawn/images' }),
    nspawn_mirror: str('Debian mirror for building the nspawn image.', { docDefault: 'the first URIs of /etc/apt/sources.list.d/debian.sources' }),
    nspawn_artifacts_dir: str(
      "Where the nspawn provider's artifact cache keeps files nodes install from PyPI and Maven Central (Spark's jars), downloaded once per host and checked against the pins in the repository; served to the nodes on the bridge address, port 3143. May be shared between data directories.",
      { docDefault: '<data_dir>/nspawn/artifacts' },
    ),
    nspawn_apt_cache: Type.Boolean({ description: "Run apt-cacher-ng on the nspawn bridge address for the nodes' apt (they have no other way out).", default: true }),
  },
  { additionalProperties: false },
);

// database_url gets a derived default in loadConfig, so callers never see it unset.
export type MichmanConfig = Static<typeof ConfigSchema> & { database_url: string };

export type ConfigKey = keyof Static<typeof ConfigSchema>;

export const keySchema = (key: string): (TSchema & KeyAnnotations) | undefined =>
  Object.hasOwn(ConfigSchema.properties, key)
    ? (ConfigSchema.properties as Record<string, TSchema & KeyAnnotations>)[key]
    : undefined;

/** Human-readable type, used both in docs and in "allowed: ..." parts of error messages. */
export function describeType(schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).map((s) => String(s.const)).join(' | ');
  if (schema.type === 'integer') {
    const { minimum, maximum } = schema as { minimum?: number; maximum?: number };
    if (minimum !== undefined && maximum !== undefined) return `integer ${minimum}..${maximum}`;
    return minimum !== undefined ? `integer >= ${minimum}` : 'integer';
  }
  return String(schema.type);
}

export interface ConfigKeyDoc {
  key: string;
  type: string;
  default: unknown;
  description: string;
  /** Set for the original's keys whose feature is missing: why they are refused. */
  notYet?: string;
}

export function configKeys(): ConfigKeyDoc[] {
  return Object.entries(ConfigSchema.properties).map(([key, s]) => {
    const schema = s as TSchema & KeyAnnotations;
    return {
      key,
      type: describeType(schema),
      default: schema.docDefault ?? schema.default,
      description: String(schema.description ?? ''),
      ...(schema.notYet ? { notYet: schema.notYet } : {}),
    };
  });
}
