#!/usr/bin/env bash
# openstack-testbed.sh up|down|status
#
# Installs (from Debian's packages) and runs a real, small OpenStack on this machine for Michman's
# tests: Keystone and Placement under uwsgi, Glance, Nova (fake hypervisor: servers go ACTIVE without
# any VM) and Neutron (ML2 linuxbridge, its agent mapped onto veth pairs). Everything listens on
# 127.0.0.1 only; the only links it creates are two veth pairs (mtb-phy1a/b, mtb-phy2a/b) without
# addresses. It reuses the MariaDB and RabbitMQ already running (own databases, own rabbit user and
# vhost) and starts them when they are not running.
#
#   up       install if needed, configure, start, provision; quick no-op when already healthy
#   down     stop every process the testbed started, remove its veths (data and config are kept,
#            so the next `up` is a restart; `down --purge` also drops its databases, rabbit user
#            and state so the next `up` starts from scratch)
#   status   what runs, and whether a token + server list work; exit 0 only when healthy
#
# Output for the tests (see write_outputs): $STATE/clouds.yaml (clouds: testbed, testbed-appcred,
# testbed-admin) and $STATE/testbed.env (MICHMAN_TEST_OS_* and MICHMAN_TEST_KEYSTONE_* variables).
# Logs: $LOGDIR/<daemon>.log.
set -euo pipefail

STATE=${MICHMAN_TESTBED_DIR:-/var/lib/michman-testbed}
LOGDIR=${MICHMAN_TESTBED_LOGDIR:-/var/log/michman-testbed}
ETC=$STATE/etc
RUN=$STATE/run
SECRETS=$STATE/secrets
MARK=$STATE/markers
LOCK=/run/lock/michman-testbed.lock
# Bump when the configuration or provisioning changes: a running testbed of another version is
# brought up to date by the next `up` (configs rewritten, changed daemons restarted).
TESTBED_VERSION=7

# Debian's python tools and nothing from pyenv or a virtualenv.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PYENV_VERSION || true
for v in $(env | awk -F= '/^OS_/{print $1}'); do unset "$v"; done
export LC_ALL=C.UTF-8

H=127.0.0.1
KS_PORT=5000 PLACEMENT_PORT=8778 GLANCE_PORT=9292 NOVA_PORT=8774 NEUTRON_PORT=9696
KS=http://$H:$KS_PORT
KS_V3=$KS/v3
NOVA=http://$H:$NOVA_PORT/v2.1
NEUTRON=http://$H:$NEUTRON_PORT
GLANCE=http://$H:$GLANCE_PORT
PLACEMENT=http://$H:$PLACEMENT_PORT
REGION=RegionOne
NOVA_HOST=mtb-compute1          # nova's host = the linuxbridge agent's host
RABBIT_USER=michman-testbed
RABBIT_VHOST=michman-testbed
PHY1=mtb-phy1a PHY1_PEER=mtb-phy1b   # physnet1: tenant VLAN networks
PHY2=mtb-phy2a PHY2_PEER=mtb-phy2b   # physnet2: flat external network (floating IPs)

# What gets provisioned (and written to testbed.env).
MICHMAN_PROJECT=michman
MICHMAN_USER=michman
FLAVORS=("m1.tiny 1 512 1" "m1.small 2 2048 10" "m1.medium 4 4096 20")  # name(=id) vcpus ram_mb disk_gb
IMAGE_NAME=testbed-tiny
NET_NAME=michman-net SUBNET_NAME=michman-subnet SUBNET_CIDR=172.30.250.0/24 SUBNET_GW=172.30.250.1
EXT_NAME=public EXT_SUBNET_NAME=public-subnet EXT_CIDR=172.30.251.0/24 EXT_GW=172.30.251.1
EXT_POOL_START=172.30.251.10 EXT_POOL_END=172.30.251.250
ROUTER_NAME=michman-router
KEYPAIR_NAME=michman-testbed
APPCRED_NAME=michman-testbed

DATABASES=(keystone nova_api nova nova_cell0 placement glance neutron)
DB_USERS=(keystone nova placement glance neutron)   # nova owns nova_api, nova and nova_cell0
SERVICE_USERS=(nova placement glance neutron)       # keystone users in project "service" (admin role)

# name user port(or -)  -- in start order
DAEMONS=(keystone placement glance-api nova-api nova-conductor nova-scheduler nova-compute neutron-server neutron-linuxbridge-agent)

PACKAGES=(keystone python3-openstackclient placement-api glance-api nova-api nova-conductor nova-scheduler
  nova-compute nova-compute-ironic neutron-server neutron-linuxbridge-agent neutron-plugin-ml2
  python3-pymysql uwsgi-plugin-python3 jq curl iproute2 openssh-client)

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers: processes
pidfile() { echo "$RUN/$1.pid"; }
# alive NAME: its recorded pid runs and is still ours (its command line names our config dir)
alive() {
  local f pid; f=$(pidfile "$1"); [ -s "$f" ] || return 1
  pid=$(cat "$f"); [ -d "/proc/$pid" ] || return 1
  tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF "$ETC/" || return 1
}
daemon_log() { echo "$LOGDIR/$1.log"; }
fail_daemon() { # name message
  local name=$1 msg=$2 l; l=$(daemon_log "$name")
  printf '[testbed] ERROR: %s: %s\n--- last 40 lines of %s ---\n' "$name" "$msg" "$l" >&2
  tail -n 40 "$l" >&2 2>/dev/null || true
  printf -- '--- end of %s ---\n' "$l" >&2
  exit 1
}
# start_daemon NAME USER CMD...: in its own session, logs to $LOGDIR/NAME.log, pid in $RUN/NAME.pid
start_daemon() {
  local name=$1 user=$2; shift 2
  if alive "$name"; then return 0; fi
  local l; l=$(daemon_log "$name")
  printf '=== %s starting %s\n' "$(date -Is)" "$name" >> "$l"
  if [ "$user" = root ]; then
    setsid nohup "$@" >> "$l" 2>&1 < /dev/null 9>&- &
  else
    setsid nohup setpriv --reuid="$user" --regid="$user" --init-groups env HOME="/var/lib/$user" "$@" >> "$l" 2>&1 < /dev/null 9>&- &
  fi
  echo $! > "$(pidfile "$name")"
}
# as USER CMD...: run a one-shot command as a service user
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups env HOME="/var/lib/$u" "$@"; }

port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | head -n1; }
# check_port NAME PORT: the port is free, or already held by our daemon NAME
check_port() {
  local name=$1 port=$2 o
  o=$(port_owner "$port")
  [ -z "$o" ] && return 0
  if alive "$name" && grep -q "pid=$(cat "$(pidfile "$name")")[,)]" <<<"$o"; then return 0; fi
  # uwsgi workers hold the socket too; accept any process in our daemon's session
  if alive "$name"; then
    local sid; sid=$(cat "$(pidfile "$name")")
    for p in $(grep -o 'pid=[0-9]*' <<<"$o" | cut -d= -f2); do
      [ "$(ps -o sid= -p "$p" 2>/dev/null | tr -d ' ')" = "$sid" ] && return 0
    done
  fi
  die "port $H:$port needed by $name is taken by another process: $o"
}

# http_code URL: the HTTP status code (000 when nothing answers)
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true; }

# wait_http NAME URL SECONDS: until URL answers < 500; fails naming the daemon and its log tail
wait_http() {
  local name=$1 url=$2 limit=$3 i code
  for ((i = 0; i < limit * 2; i++)); do
    code=$(http_code "$url")
    case $code in 2??|3??|401) return 0 ;; esac
    assert_alive
    sleep 0.5
  done
  fail_daemon "$name" "did not answer $url within ${limit}s (last HTTP code $code)"
}

# ---------------------------------------------------------------- helpers: REST
# api METHOD URL TOKEN [JSON]: prints the body; on HTTP >= 400 prints the error and returns 1.
# The JSON body goes through stdin, so no password shows in ps.
api() {
  local method=$1 url=$2 token=$3 data=${4-} out code
  out=$(mktemp)
  local args=(-sS -o "$out" -w '%{http_code}' --max-time 60 -X "$method"
    -H 'Content-Type: application/json' -H 'Accept: application/json'
    -H 'OpenStack-API-Version: compute 2.79' -H "X-Auth-Token: $token")
  if [ -n "$data" ]; then
    code=$(printf '%s' "$data" | curl "${args[@]}" --data-binary @- "$url") || code=000
  else
    code=$(curl "${args[@]}" "$url") || code=000
  fi
  if [ "${code:0:1}" != 2 ]; then
    printf '[testbed] HTTP %s from %s %s: %s\n' "$code" "$method" "${url%%\?*}" "$(head -c 600 "$out")" >&2
    rm -f "$out"; return 1
  fi
  cat "$out"; rm -f "$out"
}
# token USER PASSWORD PROJECT: a project-scoped token (empty on failure)
token() {
  U=$1 P=$2 PR=$3 jq -nc '{auth:{identity:{methods:["password"],password:{user:{name:env.U,domain:{id:"default"},password:env.P}}},scope:{project:{name:env.PR,domain:{id:"default"}}}}}' |
    curl -s --max-time 20 -o /dev/null -D - -H 'Content-Type: application/json' --data-binary @- "$KS_V3/auth/tokens" 2>/dev/null |
    awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r'
}
secret() { # secret NAME: read, creating a random hex secret on first use (0600)
  local f=$SECRETS/$1
  if [ ! -s "$f" ]; then (umask 077; openssl rand -hex 16 > "$f"); fi
  cat "$f"
}

# ---------------------------------------------------------------- install
packages_installed() {
  local b
  for b in /usr/bin/keystone-manage /usr/bin/keystone-wsgi-public /usr/bin/placement-api /usr/bin/placement-manage \
    /usr/bin/glance-api /usr/bin/glance-manage /usr/bin/nova-api /usr/bin/nova-conductor /usr/bin/nova-scheduler \
    /usr/bin/nova-compute /usr/bin/nova-manage /usr/bin/neutron-server /usr/bin/neutron-db-manage \
    /usr/bin/neutron-linuxbridge-agent /usr/lib/uwsgi/plugins/python3_plugin.so /usr/bin/uwsgi /usr/bin/jq /usr/bin/curl \
    /usr/bin/ssh-keygen; do
    [ -e "$b" ] || return 1
  done
  /usr/bin/python3 -c 'import pymysql' 2>/dev/null
}
# apt_install PACKAGE...: from Debian's packages, with no service started by the packages
apt_install() {
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"; } >> "$LOGDIR/apt.log" 2>&1 || rc=$?
  [ "$created" = 1 ] && rm -f "$policy"
  if [ "$rc" != 0 ]; then tail -n 30 "$LOGDIR/apt.log" >&2; die "apt-get install $* failed (rc=$rc, log $LOGDIR/apt.log)"; fi
}
install_packages() {
  packages_installed && return 0
  log "installing OpenStack from Debian's packages (about 5 minutes)"
  apt_install "${PACKAGES[@]}"
  packages_installed || die "packages installed but some program is still missing (log $LOGDIR/apt.log)"
}

# ---------------------------------------------------------------- MariaDB and RabbitMQ
mysql_root() { mariadb -u root --protocol=socket "$@" 2>/dev/null || mariadb -h $H -u root "$@"; }
mariadb_up() { mariadb-admin -u root ping >/dev/null 2>&1 || mariadb-admin -h $H -u root ping >/dev/null 2>&1; }
ensure_mariadb() {
  mariadb_up && return 0
  [ -x /usr/sbin/mariadbd ] || { log "installing mariadb-server"; apt_install mariadb-server mariadb-client; }
  log "starting MariaDB (not running)"
  mkdir -p /run/mysqld; chown mysql:mysql /run/mysqld
  start_daemon_external mariadb /usr/sbin/mariadbd --user=mysql --bind-address=$H
  local i; for ((i = 0; i < 60; i++)); do mariadb_up && return 0; sleep 1; done
  fail_daemon mariadb "MariaDB did not answer ping within 60s"
}
# Daemons the testbed starts only when absent (MariaDB, RabbitMQ): same pid file and log layout,
# and a marker so `down` stops only what the testbed itself started.
start_daemon_external() {
  local name=$1; shift
  local l; l=$(daemon_log "$name")
  printf '=== %s starting %s\n' "$(date -Is)" "$name" >> "$l"
  setsid nohup "$@" >> "$l" 2>&1 < /dev/null 9>&- &
  echo $! > "$RUN/ext-$name.pid"
}
rabbit_up() { (exec 3<>/dev/tcp/$H/5672) 2>/dev/null; }
ensure_rabbitmq() {
  if ! rabbit_up; then
    [ -x /usr/sbin/rabbitmq-server ] || { log "installing rabbitmq-server"; apt_install rabbitmq-server; }
    log "starting RabbitMQ (not running)"
    pgrep -x epmd >/dev/null || touch "$RUN/ext-epmd.started"
    RABBITMQ_NODE_IP_ADDRESS=$H ERL_EPMD_ADDRESS=$H start_daemon_external rabbitmq /usr/sbin/rabbitmq-server
    local i; for ((i = 0; i < 90; i++)); do rabbit_up && break; sleep 1; done
    rabbit_up || fail_daemon rabbitmq "RabbitMQ did not listen on 5672 within 90s"
    timeout 60 rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  fi
}
rabbit_user_ok() { [ -f "$MARK/rabbit-$(sha1sum <<<"$(secret rabbit)" | cut -c1-12)" ]; }
# ensure_rabbit_user: own user and vhost (rabbitmqctl takes seconds per call: runs beside the DB setup)
ensure_rabbit_user() {
  local pw; pw=$(secret rabbit)
  rabbit_user_ok && return 0
  if timeout 60 rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$RABBIT_USER"; then
    timeout 60 rabbitmqctl -q change_password "$RABBIT_USER" "$pw" >/dev/null
  else
    timeout 60 rabbitmqctl -q add_user "$RABBIT_USER" "$pw" >/dev/null
  fi
  timeout 60 rabbitmqctl -q add_vhost "$RABBIT_VHOST" >/dev/null 2>&1 || true
  timeout 60 rabbitmqctl -q set_permissions -p "$RABBIT_VHOST" "$RABBIT_USER" '.*' '.*' '.*' >/dev/null
  rm -f "$MARK"/rabbit-*; touch "$MARK/rabbit-$(sha1sum <<<"$pw" | cut -c1-12)"
}
db_owner() { case $1 in nova_api|nova|nova_cell0) echo nova ;; *) echo "$1" ;; esac; }
ensure_databases() {
  local sql="" db u pw
  for db in "${DATABASES[@]}"; do sql+="CREATE DATABASE IF NOT EXISTS \`$db\`;"; done
  for u in "${DB_USERS[@]}"; do
    pw=$(secret "db-$u")
    for h in localhost 127.0.0.1; do
      sql+="CREATE USER IF NOT EXISTS '$u'@'$h' IDENTIFIED BY '$pw'; ALTER USER '$u'@'$h' IDENTIFIED BY '$pw';"
    done
  done
  for db in "${DATABASES[@]}"; do
    u=$(db_owner "$db")
    for h in localhost 127.0.0.1; do sql+="GRANT ALL PRIVILEGES ON \`$db\`.* TO '$u'@'$h';"; done
  done
  printf '%s\n' "$sql" | mysql_root || die "could not create the testbed's databases and users in MariaDB"
}
db_url() { echo "mysql+pymysql://$(db_owner "$1"):$(secret "db-$(db_owner "$1")")@$H/$1?charset=utf8"; }
db_tables() { mysql_root -N -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='$1'" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- configuration files
authtoken() { # authtoken USER: a [keystone_authtoken]-style block body
  cat <<EOF
www_authenticate_uri = $KS/
auth_url = $KS/
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $(secret "ks-$1")
region_name = $REGION
service_token_roles_required = true
EOF
}
ksauth() { # ksauth USER: keystoneauth options for a client section
  cat <<EOF
auth_url = $KS_V3
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $(secret "ks-$1")
region_name = $REGION
EOF
}
# put FILE OWNER-GROUP: stdin -> FILE (0640 root:group), only rewritten when it changed
put() {
  local f=$1 g=$2 tmp; tmp=$(mktemp)
  cat > "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; else install -m 0640 -o root -g "$g" "$tmp" "$f"; rm -f "$tmp"; CHANGED+=" $g "; fi
}
CHANGED=""
daemon_group() { case $1 in glance-api) echo glance ;; nova-*) echo nova ;; neutron-*) echo neutron ;; *) echo "$1" ;; esac; }
# stop_daemons NAME...: TERM their sessions together, KILL what still runs after 30 s
stop_daemons() {
  local d pid pids=() i left
  for d in "$@"; do
    if alive "$d"; then
      pid=$(cat "$(pidfile "$d")"); pids+=("$pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$d")"
  done
  for ((i = 0; i < 60; i++)); do
    left=0; for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && left=1; done
    [ "$left" = 0 ] && return 0; sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
# restart_changed: daemons whose configuration this run rewrote are stopped (and started again later)
restart_changed() {
  local d stop=()
  for d in "${DAEMONS[@]}"; do
    if alive "$d" && [[ $CHANGED == *" $(daemon_group "$d") "* ]]; then stop+=("$d"); fi
  done
  [ ${#stop[@]} -eq 0 ] && return 0
  log "configuration changed: restarting ${stop[*]}"
  stop_daemons "${stop[@]}"
}
write_configs() {
  local tu="rabbit://$RABBIT_USER:$(secret rabbit)@$H:5672/$RABBIT_VHOST"
  install -d -m 0755 "$ETC"
  install -d -m 0750 -o root -g keystone "$ETC/keystone"
  install -d -m 0750 -o root -g placement "$ETC/placement"
  install -d -m 0750 -o root -g glance "$ETC/glance"
  install -d -m 0750 -o root -g nova "$ETC/nova"
  install -d -m 0750 -o root -g neutron "$ETC/neutron"
  install -d -m 0750 -o keystone -g keystone "$STATE/keystone"
  install -d -m 0750 -o placement -g placement "$STATE/placement"
  install -d -m 0750 -o glance -g glance "$STATE/glance" "$STATE/glance/images" "$STATE/glance/staging" "$STATE/glance/tasks" "$STATE/glance/cache"
  install -d -m 0750 -o nova -g nova "$STATE/nova" "$STATE/nova/instances" "$STATE/nova/locks"
  install -d -m 0750 -o neutron -g neutron "$STATE/neutron" "$STATE/neutron/locks"

  put "$ETC/keystone/keystone.conf" keystone <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = $(db_url keystone)
max_pool_size = 5
max_overflow = 10
[token]
provider = fernet
expiration = 43200
[fernet_tokens]
key_repository = $STATE/keystone/fernet-keys
[fernet_receipts]
key_repository = $STATE/keystone/fernet-keys
[credential]
key_repository = $STATE/keystone/credential-keys
[identity]
password_hash_rounds = 4
[cache]
# token validation is the hot path of every API call (keystonemiddleware); on a busy 2-core machine it
# took 5-10 s uncached
enabled = true
backend = dogpile.cache.memory
EOF
  put "$ETC/keystone/uwsgi.ini" keystone <<EOF
[uwsgi]
master = true
plugins = python3
http-socket = $H:$KS_PORT
wsgi-file = /usr/bin/keystone-wsgi-public
processes = 1
threads = 4
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
add-header = Connection: close
uid = keystone
gid = keystone
chdir = $STATE/keystone
env = OS_KEYSTONE_CONFIG_DIR=$ETC/keystone
EOF

  put "$ETC/placement/placement.conf" placement <<EOF
[DEFAULT]
use_stderr = true
[api]
auth_strategy = keystone
[placement_database]
connection = $(db_url placement)
max_pool_size = 5
max_overflow = 10
[keystone_authtoken]
$(authtoken placement)
EOF
  put "$ETC/placement/uwsgi.ini" placement <<EOF
[uwsgi]
master = true
plugins = python3
http-socket = $H:$PLACEMENT_PORT
wsgi-file = /usr/bin/placement-api
processes = 1
threads = 4
enable-threads = true
lazy-apps = true
die-on-term = true
no-orphans = true
buffer-size = 65535
add-header = Connection: close
uid = placement
gid = placement
chdir = $STATE/placement
env = OS_PLACEMENT_CONFIG_DIR=$ETC/placement
EOF

  put "$ETC/glance/glance-api.conf" glance <<EOF
[DEFAULT]
bind_host = $H
bind_port = $GLANCE_PORT
workers = 1
use_stderr = true
enabled_backends = fs:file
image_cache_dir = $STATE/glance/cache
graceful_shutdown_timeout = 5
[database]
connection = $(db_url glance)
max_pool_size = 5
max_overflow = 10
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $STATE/glance/images/
[os_glance_staging_store]
filesystem_store_datadir = $STATE/glance/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $STATE/glance/tasks/
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $STATE/glance
[keystone_authtoken]
$(authtoken glance)
EOF

  put "$ETC/nova/nova.conf" nova <<EOF
[DEFAULT]
host = $NOVA_HOST
my_ip = $H
state_path = $STATE/nova
instances_path = $STATE/nova/instances
transport_url = $tu
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = $H
osapi_compute_listen_port = $NOVA_PORT
osapi_compute_workers = 2
metadata_listen = $H
metadata_workers = 1
use_stderr = true
vif_plugging_is_fatal = false
vif_plugging_timeout = 0
allow_resize_to_same_host = true
graceful_shutdown_timeout = 5
[api]
auth_strategy = keystone
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[api_database]
connection = $(db_url nova_api)
max_pool_size = 5
max_overflow = 15
pool_timeout = 120
[database]
connection = $(db_url nova)
max_pool_size = 5
max_overflow = 15
pool_timeout = 120
[keystone_authtoken]
$(authtoken nova)
[service_user]
send_service_user_token = true
$(ksauth nova)
[placement]
$(ksauth nova)
[glance]
api_servers = $GLANCE
[neutron]
$(ksauth neutron)
endpoint_override = $NEUTRON
default_floating_pool = $EXT_NAME
service_metadata_proxy = false
[cinder]
os_region_name = $REGION
[vnc]
enabled = false
[spice]
enabled = false
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 60
[oslo_concurrency]
lock_path = $STATE/nova/locks
[oslo_messaging_notifications]
driver = noop
EOF

  put "$ETC/neutron/neutron.conf" neutron <<EOF
[DEFAULT]
bind_host = $H
bind_port = $NEUTRON_PORT
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
allow_overlapping_ips = true
transport_url = $tu
state_path = $STATE/neutron
api_paste_config = /etc/neutron/api-paste.ini
# Two API workers: neutron-server is the busiest part of the testbed (about 1.5-2 s of CPU per server
# created); with one, 21 parallel creates queued behind it (bench:openstack makespan 40 s vs 25 s).
api_workers = 2
rpc_workers = 0
rpc_state_report_workers = 0
dhcp_agent_notification = false
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = true
use_stderr = true
graceful_shutdown_timeout = 5
[experimental]
linuxbridge = true
[agent]
# the agent runs as root: plain sudo, no rootwrap (each rootwrap+privsep-helper start took ~60 s of
# python on the busy machine)
root_helper = sudo
[database]
# 25 servers deleted at once exhausted a 5+10 pool (QueuePool timeout -> HTTP 500 -> server ERROR)
connection = $(db_url neutron)
max_pool_size = 10
max_overflow = 20
pool_timeout = 120
[keystone_authtoken]
$(authtoken neutron)
[nova]
$(ksauth nova)
endpoint_type = public
[oslo_concurrency]
lock_path = $STATE/neutron/locks
EOF
  put "$ETC/neutron/ml2_conf.ini" neutron <<EOF
[ml2]
type_drivers = flat,vlan
tenant_network_types = vlan
mechanism_drivers = linuxbridge
extension_drivers = port_security
[ml2_type_flat]
flat_networks = physnet2
[ml2_type_vlan]
network_vlan_ranges = physnet1:1000:1999
[securitygroup]
enable_security_group = true
EOF
  # Passed to the agent only: its host must equal nova's host, or port binding fails.
  put "$ETC/neutron/linuxbridge_agent.ini" neutron <<EOF
[DEFAULT]
host = $NOVA_HOST
[linux_bridge]
physical_interface_mappings = physnet1:$PHY1,physnet2:$PHY2
[vxlan]
enable_vxlan = false
[securitygroup]
enable_security_group = true
firewall_driver = noop
[agent]
polling_interval = 2
EOF
}

# ---------------------------------------------------------------- veths
ensure_veths() {
  local a b
  for pair in "$PHY1 $PHY1_PEER" "$PHY2 $PHY2_PEER"; do
    read -r a b <<<"$pair"
    ip link show "$a" >/dev/null 2>&1 || ip link add "$a" type veth peer name "$b"
    ip link set "$a" up; ip link set "$b" up
  done
}
remove_veths() {
  local a br
  for a in $PHY1 $PHY2; do
    if [ -e "/sys/class/net/$a/master" ]; then   # a bridge the agent made around it
      br=$(basename "$(readlink -f "/sys/class/net/$a/master")")
      case $br in brq*) ip link del "$br" 2>/dev/null || true ;; esac
    fi
    ip link del "$a" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- one-time database setup
setup_databases() {
  local pids=() names=() i rc failed=0
  if ! rabbit_user_ok; then
    ( set -e; ensure_rabbit_user ) > "$LOGDIR/setup-rabbitmq.log" 2>&1 &
    pids+=($!); names+=(rabbitmq)
  fi
  # keystone: keys, schema, bootstrap (admin user, roles, identity endpoints)
  if [ ! -f "$MARK/keystone-db" ] || [ "$(db_tables keystone)" = 0 ]; then
    (
      set -e
      install -d -m 0700 -o keystone -g keystone "$STATE/keystone/fernet-keys" "$STATE/keystone/credential-keys"
      [ -e "$STATE/keystone/fernet-keys/0" ] || keystone-manage --config-file "$ETC/keystone/keystone.conf" fernet_setup --keystone-user keystone --keystone-group keystone
      [ -e "$STATE/keystone/credential-keys/0" ] || keystone-manage --config-file "$ETC/keystone/keystone.conf" credential_setup --keystone-user keystone --keystone-group keystone
      as keystone keystone-manage --config-file "$ETC/keystone/keystone.conf" db_sync
      OS_BOOTSTRAP_PASSWORD=$(secret ks-admin) as keystone keystone-manage --config-file "$ETC/keystone/keystone.conf" bootstrap \
        --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-admin-url "$KS_V3/" --bootstrap-internal-url "$KS_V3/" --bootstrap-public-url "$KS_V3/" \
        --bootstrap-region-id "$REGION"
      touch "$MARK/keystone-db"
    ) > "$LOGDIR/setup-keystone.log" 2>&1 &
    pids+=($!); names+=(keystone)
  fi
  if [ ! -f "$MARK/placement-db" ] || [ "$(db_tables placement)" = 0 ]; then
    ( set -e; as placement placement-manage --config-file "$ETC/placement/placement.conf" db sync; touch "$MARK/placement-db" ) \
      > "$LOGDIR/setup-placement.log" 2>&1 &
    pids+=($!); names+=(placement)
  fi
  if [ ! -f "$MARK/glance-db" ] || [ "$(db_tables glance)" = 0 ]; then
    ( set -e; as glance glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync; touch "$MARK/glance-db" ) \
      > "$LOGDIR/setup-glance.log" 2>&1 &
    pids+=($!); names+=(glance)
  fi
  if [ ! -f "$MARK/neutron-db" ] || [ "$(db_tables neutron)" = 0 ]; then
    ( set -e; as neutron neutron-db-manage --config-file "$ETC/neutron/neutron.conf" --config-file "$ETC/neutron/ml2_conf.ini" upgrade head
      touch "$MARK/neutron-db" ) > "$LOGDIR/setup-neutron.log" 2>&1 &
    pids+=($!); names+=(neutron)
  fi
  if [ ! -f "$MARK/nova-db" ] || [ "$(db_tables nova)" = 0 ] || [ "$(db_tables nova_api)" = 0 ]; then
    (
      set -e
      local c="--config-file $ETC/nova/nova.conf"
      as nova nova-manage $c api_db sync
      as nova nova-manage $c cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
      cells=$(as nova nova-manage $c cell_v2 list_cells)
      grep -q ' cell1 ' <<<"$cells" || as nova nova-manage $c cell_v2 create_cell --name=cell1
      as nova nova-manage $c db sync
      touch "$MARK/nova-db"
    ) > "$LOGDIR/setup-nova.log" 2>&1 &
    pids+=($!); names+=(nova)
  fi
  [ ${#pids[@]} -eq 0 ] && return 0
  log "creating database schemas and users: ${names[*]} (in parallel)"
  for i in "${!pids[@]}"; do
    rc=0; wait "${pids[$i]}" || rc=$?
    if [ "$rc" != 0 ]; then
      printf '[testbed] ERROR: database setup of %s failed (rc=%s); last lines of %s:\n' "${names[$i]}" "$rc" "$LOGDIR/setup-${names[$i]}.log" >&2
      tail -n 25 "$LOGDIR/setup-${names[$i]}.log" >&2; failed=1
    fi
  done
  [ "$failed" = 0 ] || exit 1
}

# ---------------------------------------------------------------- daemons
start_keystone() {
  check_port keystone $KS_PORT
  start_daemon keystone root uwsgi --ini "$ETC/keystone/uwsgi.ini"
}
start_others() {
  check_port placement $PLACEMENT_PORT; check_port glance-api $GLANCE_PORT
  check_port nova-api $NOVA_PORT; check_port neutron-server $NEUTRON_PORT
  local nc="--config-file $ETC/nova/nova.conf"
  local qc="--config-file $ETC/neutron/neutron.conf"
  start_daemon placement root uwsgi --ini "$ETC/placement/uwsgi.ini"
  start_daemon glance-api glance glance-api --config-file "$ETC/glance/glance-api.conf"
  start_daemon neutron-server neutron neutron-server $qc --config-file "$ETC/neutron/ml2_conf.ini"
  start_daemon nova-api nova nova-api $nc
  start_daemon neutron-linuxbridge-agent root neutron-linuxbridge-agent $qc --config-file "$ETC/neutron/linuxbridge_agent.ini"
}
# conductor and scheduler authenticate to keystone (placement client) while starting: after provisioning
start_compute() {
  local nc="--config-file $ETC/nova/nova.conf"
  start_daemon nova-conductor nova nova-conductor $nc
  start_daemon nova-scheduler nova nova-scheduler $nc
  start_daemon nova-compute nova nova-compute $nc
}
# assert_alive: every daemon started so far still runs (fail fast, naming it, with its log tail)
assert_alive() {
  local d
  for d in "${DAEMONS[@]}"; do
    [ -s "$(pidfile "$d")" ] || continue
    alive "$d" || fail_daemon "$d" "exited (see log)"
  done
}

# ---------------------------------------------------------------- provisioning (idempotent)
ks_id() { # ks_id COLLECTION QUERY -> first id or empty
  api GET "$KS_V3/$1?$2" "$ADMIN_TOKEN" | jq -r ".$1[0].id // empty"
}
ensure_project() { # name -> id
  local id; id=$(ks_id projects "name=$1&domain_id=default")
  [ -n "$id" ] || id=$(api POST "$KS_V3/projects" "$ADMIN_TOKEN" "$(jq -nc --arg n "$1" '{project:{name:$n,domain_id:"default",description:"michman testbed"}}')" | jq -r .project.id)
  echo "$id"
}
ensure_user() { # name password-secret-name -> id (password set on creation)
  local id; id=$(ks_id users "name=$1&domain_id=default")
  if [ -z "$id" ]; then
    id=$(N=$1 P=$(secret "$2") jq -nc '{user:{name:env.N,domain_id:"default",password:env.P,enabled:true}}' |
      { read -r body; api POST "$KS_V3/users" "$ADMIN_TOKEN" "$body"; } | jq -r .user.id)
  fi
  echo "$id"
}
declare -A ROLE_IDS=()
grant() { # project-id user-id role-name
  local rid=${ROLE_IDS[$3]-}
  [ -n "$rid" ] || { rid=$(ks_id roles "name=$3"); ROLE_IDS[$3]=$rid; }
  [ -n "$rid" ] || die "keystone role $3 missing"
  api PUT "$KS_V3/projects/$1/users/$2/roles/$rid" "$ADMIN_TOKEN" >/dev/null
}
ensure_endpoints() { # type name url
  local sid; sid=$(ks_id services "type=$1")
  [ -n "$sid" ] || sid=$(api POST "$KS_V3/services" "$ADMIN_TOKEN" "$(jq -nc --arg t "$1" --arg n "$2" '{service:{type:$t,name:$n,enabled:true}}')" | jq -r .service.id)
  local eps; eps=$(api GET "$KS_V3/endpoints?service_id=$sid" "$ADMIN_TOKEN")
  for iface in public internal admin; do
    if ! jq -e --arg i "$iface" --arg u "$3" '.endpoints[] | select(.interface==$i and .url==$u)' <<<"$eps" >/dev/null; then
      api POST "$KS_V3/endpoints" "$ADMIN_TOKEN" "$(jq -nc --arg s "$sid" --arg i "$iface" --arg u "$3" --arg r "$REGION" '{endpoint:{service_id:$s,interface:$i,url:$u,region_id:$r,enabled:true}}')" >/dev/null
    fi
  done
}
provision_identity() {
  ADMIN_TOKEN=$(token admin "$(secret ks-admin)" admin)
  [ -n "$ADMIN_TOKEN" ] || fail_daemon keystone "admin cannot get a token"
  [ -f "$MARK/identity-v2" ] && return 0
  log "keystone: service users, catalog, project and user $MICHMAN_PROJECT"
  local sp mp uid u
  sp=$(ensure_project service)
  # role "service": keystonemiddleware (service_token_roles_required) rejects a service token
  # (X-Service-Token, which Debian's nova sends to neutron) from a user without it: HTTP 401
  [ -n "$(ks_id roles name=service)" ] || api POST "$KS_V3/roles" "$ADMIN_TOKEN" '{"role":{"name":"service"}}' >/dev/null
  for u in "${SERVICE_USERS[@]}"; do uid=$(ensure_user "$u" "ks-$u"); grant "$sp" "$uid" admin; grant "$sp" "$uid" service; done
  ensure_endpoints placement placement "$PLACEMENT"
  ensure_endpoints image glance "$GLANCE"
  ensure_endpoints compute nova "$NOVA"
  ensure_endpoints network neutron "$NEUTRON"
  mp=$(ensure_project "$MICHMAN_PROJECT")
  uid=$(ensure_user "$MICHMAN_USER" ks-michman)
  grant "$mp" "$uid" member
  touch "$MARK/identity-v2"
}

wait_compute() {
  # nova-compute registered (service + compute node in the cell DB), then mapped to the cell
  local i n
  for ((i = 0; i < 300; i++)); do
    n=$(mysql_root -N -e "SELECT COUNT(*) FROM nova.compute_nodes WHERE host='$NOVA_HOST' AND deleted=0" 2>/dev/null || echo 0)
    [ "$n" -ge 1 ] 2>/dev/null && break
    assert_alive
    sleep 1
  done
  [ "$n" -ge 1 ] 2>/dev/null || fail_daemon nova-compute "did not register its compute node within 300s"
  n=$(mysql_root -N -e "SELECT COUNT(*) FROM nova_api.host_mappings WHERE host='$NOVA_HOST'" 2>/dev/null || echo 0)
  if [ "$n" = 0 ]; then
    as nova nova-manage --config-file "$ETC/nova/nova.conf" cell_v2 discover_hosts >> "$LOGDIR/setup-nova.log" 2>&1 ||
      fail_daemon nova-compute "nova-manage cell_v2 discover_hosts failed (see $LOGDIR/setup-nova.log)"
  fi
  # every nova service up, the agent alive, the resource provider in placement
  local s a r
  for ((i = 0; i < 240; i++)); do
    s=$(api GET "$NOVA/os-services" "$ADMIN_TOKEN" 2>/dev/null | jq -r '[.services[] | select(.state=="up")] | length' 2>/dev/null || echo 0)
    a=$(api GET "$NEUTRON/v2.0/agents?binary=neutron-linuxbridge-agent&host=$NOVA_HOST" "$ADMIN_TOKEN" 2>/dev/null | jq -r '[.agents[] | select(.alive)] | length' 2>/dev/null || echo 0)
    r=$(api GET "$PLACEMENT/resource_providers?name=$NOVA_HOST" "$ADMIN_TOKEN" 2>/dev/null | jq -r '.resource_providers | length' 2>/dev/null || echo 0)
    [ "$s" -ge 3 ] && [ "$a" -ge 1 ] && [ "$r" -ge 1 ] && return 0
    assert_alive
    sleep 1
  done
  [ "$a" -ge 1 ] || fail_daemon neutron-linuxbridge-agent "agent not alive in neutron after 240s"
  [ "$r" -ge 1 ] || fail_daemon nova-compute "no resource provider $NOVA_HOST in placement after 240s"
  fail_daemon nova-compute "only $s of nova-conductor/scheduler/compute are up after 240s (see also nova-conductor.log, nova-scheduler.log)"
}

provision_resources() {
  local mp uid mtok id body
  mp=$(ks_id projects "name=$MICHMAN_PROJECT&domain_id=default")
  uid=$(ks_id users "name=$MICHMAN_USER&domain_id=default")
  mtok=$(token "$MICHMAN_USER" "$(secret ks-michman)" "$MICHMAN_PROJECT")
  [ -n "$mtok" ] || fail_daemon keystone "user $MICHMAN_USER cannot get a token"

  # flavors (id = name, so flavorRef works with either), public
  local fl
  fl=$(api GET "$NOVA/flavors?is_public=None" "$ADMIN_TOKEN")
  for f in "${FLAVORS[@]}"; do
    read -r name vcpus ram disk <<<"$f"
    if ! jq -e --arg n "$name" '.flavors[] | select(.id==$n)' <<<"$fl" >/dev/null; then
      api POST "$NOVA/flavors" "$ADMIN_TOKEN" "$(jq -nc --arg n "$name" --argjson c "$vcpus" --argjson r "$ram" --argjson d "$disk" \
        '{flavor:{name:$n,id:$n,vcpus:$c,ram:$r,disk:$d,"os-flavor-access:is_public":true}}')" >/dev/null
    fi
  done

  # image: a 1 MiB raw file, public
  local img st
  img=$(api GET "$GLANCE/v2/images?name=$IMAGE_NAME" "$ADMIN_TOKEN")
  id=$(jq -r '.images[0].id // empty' <<<"$img"); st=$(jq -r '.images[0].status // empty' <<<"$img")
  if [ -n "$id" ] && [ "$st" != active ]; then api DELETE "$GLANCE/v2/images/$id" "$ADMIN_TOKEN" >/dev/null || true; id=""; fi
  if [ -z "$id" ]; then
    id=$(api POST "$GLANCE/v2/images" "$ADMIN_TOKEN" "$(jq -nc --arg n "$IMAGE_NAME" '{name:$n,disk_format:"raw",container_format:"bare",visibility:"public",min_disk:0,min_ram:0}')" | jq -r .id)
    head -c 1048576 /dev/zero > "$STATE/tiny.img"
    curl -sS --fail --max-time 60 -X PUT -H "X-Auth-Token: $ADMIN_TOKEN" -H 'Content-Type: application/octet-stream' \
      --data-binary @"$STATE/tiny.img" "$GLANCE/v2/images/$id/file" >/dev/null || fail_daemon glance-api "image upload failed"
    local i; for ((i = 0; i < 60; i++)); do
      st=$(api GET "$GLANCE/v2/images/$id" "$ADMIN_TOKEN" | jq -r .status); [ "$st" = active ] && break; sleep 0.5
    done
    [ "$st" = active ] || fail_daemon glance-api "image $IMAGE_NAME is $st, not active"
  fi
  IMAGE_ID=$id

  # quotas for 25+ instances
  api PUT "$NOVA/os-quota-sets/$mp" "$ADMIN_TOKEN" '{"quota_set":{"instances":60,"cores":240,"ram":491520,"key_pairs":100,"server_groups":50,"server_group_members":60,"metadata_items":128}}' >/dev/null
  api PUT "$NEUTRON/v2.0/quotas/$mp" "$ADMIN_TOKEN" '{"quota":{"network":20,"subnet":20,"port":300,"router":10,"floatingip":60,"security_group":60,"security_group_rule":600}}' >/dev/null

  # external network for floating IPs: flat on physnet2
  id=$(api GET "$NEUTRON/v2.0/networks?name=$EXT_NAME" "$ADMIN_TOKEN" | jq -r '.networks[0].id // empty')
  [ -n "$id" ] || id=$(api POST "$NEUTRON/v2.0/networks" "$ADMIN_TOKEN" "$(jq -nc --arg n "$EXT_NAME" '{network:{name:$n,"router:external":true,"provider:network_type":"flat","provider:physical_network":"physnet2",shared:false}}')" | jq -r .network.id)
  EXT_ID=$id
  if [ -z "$(api GET "$NEUTRON/v2.0/subnets?network_id=$EXT_ID" "$ADMIN_TOKEN" | jq -r '.subnets[0].id // empty')" ]; then
    api POST "$NEUTRON/v2.0/subnets" "$ADMIN_TOKEN" "$(jq -nc --arg n "$EXT_SUBNET_NAME" --arg net "$EXT_ID" --arg c "$EXT_CIDR" --arg g "$EXT_GW" --arg s "$EXT_POOL_START" --arg e "$EXT_POOL_END" \
      '{subnet:{name:$n,network_id:$net,ip_version:4,cidr:$c,gateway_ip:$g,enable_dhcp:false,allocation_pools:[{start:$s,end:$e}]}}')" >/dev/null
  fi

  # michman's own network (tenant VLAN on physnet1), subnet and router to the external network
  id=$(api GET "$NEUTRON/v2.0/networks?name=$NET_NAME&project_id=$mp" "$mtok" | jq -r '.networks[0].id // empty')
  [ -n "$id" ] || id=$(api POST "$NEUTRON/v2.0/networks" "$mtok" "$(jq -nc --arg n "$NET_NAME" '{network:{name:$n}}')" | jq -r .network.id)
  NET_ID=$id
  local sub
  sub=$(api GET "$NEUTRON/v2.0/subnets?network_id=$NET_ID" "$mtok" | jq -r '.subnets[0].id // empty')
  [ -n "$sub" ] || sub=$(api POST "$NEUTRON/v2.0/subnets" "$mtok" "$(jq -nc --arg n "$SUBNET_NAME" --arg net "$NET_ID" --arg c "$SUBNET_CIDR" --arg g "$SUBNET_GW" \
    '{subnet:{name:$n,network_id:$net,ip_version:4,cidr:$c,gateway_ip:$g,enable_dhcp:true}}')" | jq -r .subnet.id)
  local rt
  rt=$(api GET "$NEUTRON/v2.0/routers?name=$ROUTER_NAME&project_id=$mp" "$mtok" | jq -r '.routers[0].id // empty')
  [ -n "$rt" ] || rt=$(api POST "$NEUTRON/v2.0/routers" "$mtok" "$(jq -nc --arg n "$ROUTER_NAME" --arg e "$EXT_ID" '{router:{name:$n,external_gateway_info:{network_id:$e}}}')" | jq -r .router.id)
  if [ -z "$(api GET "$NEUTRON/v2.0/ports?device_id=$rt&network_id=$NET_ID" "$mtok" | jq -r '.ports[0].id // empty')" ]; then
    api PUT "$NEUTRON/v2.0/routers/$rt/add_router_interface" "$mtok" "$(jq -nc --arg s "$sub" '{subnet_id:$s}')" >/dev/null
  fi

  # keypair (per user: created as michman); the private key stays in $STATE
  local key=$STATE/$KEYPAIR_NAME.key
  [ -s "$key" ] || { rm -f "$key" "$key.pub"; ssh-keygen -q -t rsa -b 2048 -N '' -C "$KEYPAIR_NAME" -f "$key"; }
  chmod 0600 "$key"
  local kp; kp=$(api GET "$NOVA/os-keypairs" "$mtok" | jq -r --arg n "$KEYPAIR_NAME" '.keypairs[] | select(.keypair.name==$n) | .keypair.public_key')
  if [ -n "$kp" ] && [ "$(awk '{print $2}' <<<"$kp")" != "$(awk '{print $2}' "$key.pub")" ]; then
    api DELETE "$NOVA/os-keypairs/$KEYPAIR_NAME" "$mtok" >/dev/null; kp=""
  fi
  [ -n "$kp" ] || api POST "$NOVA/os-keypairs" "$mtok" "$(jq -nc --arg n "$KEYPAIR_NAME" --rawfile k "$key.pub" '{keypair:{name:$n,type:"ssh",public_key:$k}}')" >/dev/null

  # application credential of michman (secret kept in $SECRETS)
  local ac; ac=$(api GET "$KS_V3/users/$uid/application_credentials?name=$APPCRED_NAME" "$mtok" | jq -r '.application_credentials[0].id // empty')
  if [ -n "$ac" ] && [ "$(cat "$SECRETS/appcred-id" 2>/dev/null)" != "$ac" ]; then
    api DELETE "$KS_V3/users/$uid/application_credentials/$ac" "$mtok" >/dev/null; ac=""
  fi
  if [ -z "$ac" ]; then
    ac=$(N=$APPCRED_NAME S=$(secret appcred-secret) jq -nc '{application_credential:{name:env.N,secret:env.S,description:"michman testbed"}}' |
      { read -r body; api POST "$KS_V3/users/$uid/application_credentials" "$mtok" "$body"; } | jq -r .application_credential.id)
    (umask 077; echo "$ac" > "$SECRETS/appcred-id")
  fi
  APPCRED_ID=$ac
}

write_outputs() {
  local clouds=$STATE/clouds.yaml env=$STATE/testbed.env tmp
  tmp=$(mktemp)
  cat > "$tmp" <<EOF
# Written by scripts/openstack-testbed.sh up. Cloud "testbed" = non-admin user $MICHMAN_USER in project $MICHMAN_PROJECT.
clouds:
  testbed:
    auth:
      auth_url: $KS_V3
      username: $MICHMAN_USER
      password: "$(secret ks-michman)"
      project_name: $MICHMAN_PROJECT
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
  testbed-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: $KS_V3
      application_credential_id: "$APPCRED_ID"
      application_credential_secret: "$(secret appcred-secret)"
    region_name: $REGION
    interface: public
    identity_api_version: 3
  testbed-admin:
    auth:
      auth_url: $KS_V3
      username: admin
      password: "$(secret ks-admin)"
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
  install -m 0600 "$tmp" "$clouds"
  cat > "$tmp" <<EOF
MICHMAN_TEST_OS_CLOUDS=$clouds
MICHMAN_TEST_OS_CLOUD=testbed
MICHMAN_TEST_OS_CLOUD_APPCRED=testbed-appcred
MICHMAN_TEST_OS_CLOUD_ADMIN=testbed-admin
MICHMAN_TEST_OS_REGION=$REGION
MICHMAN_TEST_OS_FLAVOR=m1.tiny
MICHMAN_TEST_OS_FLAVOR_ID=m1.tiny
MICHMAN_TEST_OS_FLAVOR_LARGE=m1.small
MICHMAN_TEST_OS_FLAVOR_LARGE_ID=m1.small
MICHMAN_TEST_OS_IMAGE=$IMAGE_NAME
MICHMAN_TEST_OS_IMAGE_ID=$IMAGE_ID
MICHMAN_TEST_OS_NETWORK=$NET_NAME
MICHMAN_TEST_OS_NETWORK_ID=$NET_ID
MICHMAN_TEST_OS_FLOATING_POOL=$EXT_NAME
MICHMAN_TEST_OS_FLOATING_NETWORK_ID=$EXT_ID
MICHMAN_TEST_OS_KEYPAIR=$KEYPAIR_NAME
MICHMAN_TEST_OS_KEYPAIR_PRIVATE_KEY=$STATE/$KEYPAIR_NAME.key
MICHMAN_TEST_OS_APP_CRED_ID=$APPCRED_ID
MICHMAN_TEST_OS_APP_CRED_SECRET=$(secret appcred-secret)
MICHMAN_TEST_KEYSTONE_URL=$KS_V3
MICHMAN_TEST_KEYSTONE_USER=$MICHMAN_USER
MICHMAN_TEST_KEYSTONE_PASSWORD=$(secret ks-michman)
MICHMAN_TEST_KEYSTONE_PROJECT=$MICHMAN_PROJECT
MICHMAN_TEST_KEYSTONE_DOMAIN=Default
EOF
  install -m 0600 "$tmp" "$env"; rm -f "$tmp"
}

# ---------------------------------------------------------------- health
# healthy [verbose]: every daemon runs, michman gets a token and lists servers and networks,
# nova-compute is up and the linuxbridge agent alive.
healthy() {
  local v=${1-} ok=0 d pid
  for d in "${DAEMONS[@]}"; do
    if alive "$d"; then
      pid=$(cat "$(pidfile "$d")")
      [ -n "$v" ] && printf '  %-26s running  pid %-7s log %s\n' "$d" "$pid" "$(daemon_log "$d")"
    else
      [ -n "$v" ] && printf '  %-26s STOPPED\n' "$d"
      ok=1
    fi
  done
  if [ -n "$v" ]; then
    for d in mariadb rabbitmq; do
      if [ -s "$RUN/ext-$d.pid" ] && [ -d "/proc/$(cat "$RUN/ext-$d.pid")" ]; then printf '  %-26s running  (started by the testbed)\n' "$d"; fi
    done
    mariadb_up && printf '  %-26s answers\n' MariaDB || printf '  %-26s DOWN\n' MariaDB
    rabbit_up && printf '  %-26s answers\n' RabbitMQ || printf '  %-26s DOWN\n' RabbitMQ
    for d in $PHY1 $PHY2; do ip link show "$d" >/dev/null 2>&1 && printf '  %-26s present\n' "veth $d" || printf '  %-26s absent\n' "veth $d"; done
  fi
  [ "$ok" = 0 ] || return 1
  [ -s "$SECRETS/ks-michman" ] && [ -s "$STATE/clouds.yaml" ] || { [ -n "$v" ] && echo "  not provisioned"; return 1; }
  local mtok atok n
  mtok=$(token "$MICHMAN_USER" "$(cat "$SECRETS/ks-michman")" "$MICHMAN_PROJECT")
  if [ -z "$mtok" ]; then [ -n "$v" ] && echo "  keystone token for $MICHMAN_USER: FAILED"; return 1; fi
  [ -n "$v" ] && echo "  keystone token for $MICHMAN_USER: ok"
  if ! n=$(api GET "$NOVA/servers" "$mtok" | jq -r '.servers | length'); then [ -n "$v" ] && echo "  nova server list: FAILED"; return 1; fi
  [ -n "$v" ] && echo "  nova server list: ok ($n servers)"
  if ! n=$(api GET "$NEUTRON/v2.0/networks" "$mtok" | jq -r '.networks | length'); then [ -n "$v" ] && echo "  neutron network list: FAILED"; return 1; fi
  [ -n "$v" ] && echo "  neutron network list: ok ($n networks)"
  atok=$(token admin "$(cat "$SECRETS/ks-admin")" admin)
  n=$(api GET "$NOVA/os-services" "$atok" | jq -r '[.services[] | select(.state=="up")] | length' || echo 0)
  [ -n "$v" ] && echo "  nova services up: $n of 3"
  [ "$n" -ge 3 ] || return 1
  n=$(api GET "$NEUTRON/v2.0/agents?binary=neutron-linuxbridge-agent&host=$NOVA_HOST" "$atok" | jq -r '[.agents[] | select(.alive)] | length' || echo 0)
  [ -n "$v" ] && echo "  linuxbridge agent alive: $n"
  [ "$n" -ge 1 ] || return 1
}

# ---------------------------------------------------------------- commands
prepare_dirs() {
  install -d -m 0755 "$STATE" "$LOGDIR" "$RUN" "$MARK"
  install -d -m 0700 "$SECRETS"
}
take_lock() {
  mkdir -p "$(dirname "$LOCK")"
  exec 9> "$LOCK"
  flock -w 900 9 || die "another openstack-testbed.sh is still running (lock $LOCK)"
}

cmd_up() {
  local t0=$SECONDS
  prepare_dirs
  take_lock
  if [ "$(cat "$RUN/version" 2>/dev/null)" = "$TESTBED_VERSION" ] && packages_installed && healthy >/dev/null 2>&1; then
    log "already up and healthy (checked in $((SECONDS - t0))s); env: $STATE/testbed.env"
    return 0
  fi
  local d; for d in "${DAEMONS[@]}"; do alive "$d" || rm -f "$(pidfile "$d")"; done   # stale pid files
  install_packages
  ensure_mariadb
  ensure_rabbitmq
  # A fresh state directory (no secrets) means a fresh install: drop what an earlier one left.
  if [ ! -s "$SECRETS/ks-admin" ]; then
    local sql=""; for db in "${DATABASES[@]}"; do sql+="DROP DATABASE IF EXISTS \`$db\`;"; done
    printf '%s\n' "$sql" | mysql_root
    rm -f "$MARK"/*
  fi
  ensure_databases
  write_configs
  restart_changed
  ensure_veths
  setup_databases
  log "starting keystone, placement, glance, nova, neutron"
  start_keystone
  start_others
  # on a restart keystone already knows the service users: nova's own services can start now
  [ -f "$MARK/identity-v2" ] && start_compute
  wait_http keystone "$KS_V3" 240
  provision_identity
  start_compute
  wait_http placement "$PLACEMENT/" 240
  wait_http glance-api "$GLANCE/versions" 240
  wait_http neutron-server "$NEUTRON/" 240
  wait_http nova-api "http://$H:$NOVA_PORT/" 240
  log "waiting for nova-compute and the linuxbridge agent to report"
  wait_compute
  log "provisioning flavors, image, networks, router, keypair, quotas, application credential"
  provision_resources
  write_outputs
  if ! healthy >/dev/null 2>&1; then
    healthy v || true
    die "testbed started but the health check fails (logs in $LOGDIR)"
  fi
  echo "$TESTBED_VERSION" > "$RUN/version"
  log "up and healthy in $((SECONDS - t0))s; clouds.yaml: $STATE/clouds.yaml (cloud testbed), env: $STATE/testbed.env"
}

# our_pids: every process whose command line names our config dir (daemons, workers, privsep helpers)
our_pids() {
  # one grep over all command lines; the bracket keeps grep from matching its own
  local pat="[${ETC:0:1}]${ETC:1}/"
  grep -laE -- "$pat" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | grep -vx "$$" || true
}
cmd_down() {
  local purge=${1-}
  prepare_dirs
  take_lock
  local d pid i
  stop_daemons "${DAEMONS[@]}"
  # whatever else still names our config dir: workers, privsep helpers (sudo puts them in their own session)
  for pid in $(our_pids); do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 20; i++)); do [ -z "$(our_pids)" ] && break; sleep 0.5; done
  for pid in $(our_pids); do log "killing $pid ($(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | cut -c1-80))"; kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$RUN/version"
  if [ "$purge" = --purge ]; then
    local sql=""; for db in "${DATABASES[@]}"; do sql+="DROP DATABASE IF EXISTS \`$db\`;"; done
    for u in "${DB_USERS[@]}"; do sql+="DROP USER IF EXISTS '$u'@'localhost'; DROP USER IF EXISTS '$u'@'127.0.0.1';"; done
    if mariadb_up; then printf '%s\n' "$sql" | mysql_root || true; fi
    if rabbit_up; then timeout 60 rabbitmqctl -q delete_vhost "$RABBIT_VHOST" >/dev/null 2>&1 || true; timeout 60 rabbitmqctl -q delete_user "$RABBIT_USER" >/dev/null 2>&1 || true; fi
  fi
  # MariaDB / RabbitMQ only if this script started them
  if [ -s "$RUN/ext-rabbitmq.pid" ]; then
    log "stopping RabbitMQ (started by the testbed)"
    timeout 60 rabbitmqctl -q shutdown >/dev/null 2>&1 || kill -TERM -- "-$(cat "$RUN/ext-rabbitmq.pid")" 2>/dev/null || true
    if [ -f "$RUN/ext-epmd.started" ]; then epmd -kill >/dev/null 2>&1 || true; rm -f "$RUN/ext-epmd.started"; fi
    rm -f "$RUN/ext-rabbitmq.pid"
  fi
  if [ -s "$RUN/ext-mariadb.pid" ]; then
    log "stopping MariaDB (started by the testbed)"
    pid=$(cat "$RUN/ext-mariadb.pid"); kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    rm -f "$RUN/ext-mariadb.pid"
  fi
  remove_veths
  if [ "$purge" = --purge ]; then
    rm -rf "$STATE"; log "purged $STATE (logs kept in $LOGDIR)"
  fi
  local left; left=$(our_pids)
  [ -z "$left" ] || die "processes still running: $left"
  log "down: no testbed process runs, veths removed"
}

cmd_status() {
  echo "OpenStack testbed ($STATE):"
  if healthy v; then
    echo "HEALTHY: clouds.yaml $STATE/clouds.yaml (cloud testbed), env $STATE/testbed.env"
    return 0
  fi
  echo "NOT HEALTHY (logs in $LOGDIR)"
  return 1
}

[ "$(id -u)" = 0 ] || die "run as root"
case ${1-} in
  up) cmd_up ;;
  down) cmd_down "${2-}" ;;
  status) cmd_status ;;
  *) echo "usage: $0 up | down [--purge] | status" >&2; exit 2 ;;
esac
